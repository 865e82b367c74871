/**
 * The reference workloads of tools/bench/WORKLOADS.md, run with this project's code.
 * Each returns a measurement; timings take the median of repeated calls after a warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import { dcor2, MinibatchCka } from '@repro/core-metrics';
import { compareModels, createModel } from '@repro/models';

export interface Measurement {
  workload: string;
  impl: string;
  seconds: number;
  perSecond: number;
  unit: string;
  /** set when the measurement ran on other kernels than the run's backend label says */
  backend?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mean seconds per call of fn over `reps` calls after `warmup` calls: the peers' protocol (peer_torch.py's timed). */
export function timed(fn: () => void, warmup = 2, reps = 5): number {
  for (let i = 0; i < warmup; i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e9 / reps;
}

/** W3: squared V-statistic distance correlation of X (n×512) and Y (n×10). */
export function w3(n: number, reps = 3): Measurement {
  const x = tf.randomNormal<tf.Rank.R2>([n, 512], 0, 1, 'float32', 1);
  const y = tf.randomNormal<tf.Rank.R2>([n, 10], 0, 1, 'float32', 2);
  const s = timed(
    () => {
      const r = dcor2(x, y);
      r.dataSync();
      r.dispose();
    },
    1,
    reps,
  );
  tf.dispose([x, y]);
  return { workload: `W3 dcor2 n=${n} 512x10`, impl: 'repro-dcor2', seconds: s, perSecond: 1 / s, unit: 'calls/s' };
}

/** W4: debiased minibatch linear CKA, 8 × 8 layers, `examples` examples in batches of 64. */
export function w4(examples = 512, dims = [8192, 8192, 4096, 4096, 2048, 2048, 1024, 512]): Measurement {
  const fa = dims.map((d, i) => tf.randomNormal([examples, d], 0, 1, 'float32', 10 + i));
  const fb = dims.map((d, i) => tf.randomNormal([examples, d], 0, 1, 'float32', 20 + i));
  const batch = 64;
  const s = timed(
    () => {
      const m = new MinibatchCka();
      for (let start = 0; start < examples; start += batch) {
        const size = Math.min(batch, examples - start);
        const a = fa.map((t) => t.slice([start, 0], [size, -1]));
        const b = fb.map((t) => t.slice([start, 0], [size, -1]));
        m.update(a, b);
        tf.dispose([...a, ...b]);
      }
      m.result();
    },
    0,
    1,
  );
  tf.dispose([...fa, ...fb]);
  return {
    workload: `W4 minibatch-cka ${dims.length}x${dims.length} layers n=${examples} b64`,
    impl: 'repro-minibatch-cka',
    seconds: s,
    perSecond: 1 / s,
    unit: 'matrices/s',
  };
}

/** torch_cka's W7 layer lists (the blocks of torchvision's naming; the last block is our 'features_conv'). */
export const W7_LAYERS_18 = [
  'layer1.0',
  'layer1.1',
  'layer2.0',
  'layer2.1',
  'layer3.0',
  'layer3.1',
  'layer4.0',
  'features_conv',
];
export const W7_LAYERS_34 = [
  'layer1.0',
  'layer1.2',
  'layer2.0',
  'layer2.3',
  'layer3.0',
  'layer3.5',
  'layer4.0',
  'features_conv',
];

/**
 * W7: compareModels end to end (forward passes included), CIFAR ResNet-18 vs ResNet-34 (kuangliu
 * layout = torchvision's adapted to 32×32), random weights, width `nf`, `examples` random images in
 * batches of 64, 8 × 8 layers; the peer is torch_cka's CKA.compare loop (peer_torch.py).
 */
export function w7(examples = 512, nf = 64): Measurement[] {
  const shape: [number, number, number] = [32, 32, 3];
  const a = createModel('resnet18', { inputShape: shape, numClasses: 10, nfilters: nf, seed: 1 });
  const b = createModel('resnet34_cifar', { inputShape: shape, numClasses: 10, nfilters: nf, seed: 2 });
  const x = tf.randomNormal([examples, ...shape], 0, 1, 'float32', 3);
  const s = timed(
    () => compareModels(a, b, { layersA: W7_LAYERS_18, layersB: W7_LAYERS_34, data: x, batchSize: 64 }),
    0,
    1,
  );
  // the forward passes alone (what both sides must do), to split the time
  const f = timed(
    () => {
      for (let i = 0; i < examples; i += 64)
        tf.tidy(() => {
          const xb = tf.slice(x, [i, 0, 0, 0], [Math.min(64, examples - i), -1, -1, -1]);
          for (const m of [a, b]) (m.predict(xb) as tf.Tensor).dataSync();
        });
    },
    0,
    1,
  );
  tf.dispose(x);
  a.dispose();
  b.dispose();
  return [
    {
      workload: `W7 compare resnet18-vs-resnet34 8x8 layers n=${examples} b64`,
      impl: 'repro-compareModels',
      seconds: s,
      perSecond: 1 / s,
      unit: 'comparisons/s',
    },
    {
      workload: `W7a forward passes only (resnet18 + resnet34) n=${examples} b64`,
      impl: 'repro-forward',
      seconds: f,
      perSecond: 1 / f,
      unit: 'passes/s',
    },
  ];
}
