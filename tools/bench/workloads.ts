/**
 * The reference workloads of tools/bench/WORKLOADS.md, run with this project's code.
 * Each returns a measurement; timings take the median of repeated calls after a warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import { dcor2, MinibatchCka } from '@repro/core-metrics';

export interface Measurement {
  workload: string;
  impl: string;
  seconds: number;
  perSecond: number;
  unit: string;
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
