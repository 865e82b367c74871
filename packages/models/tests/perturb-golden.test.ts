/**
 * PerturbLayer against the PNN reference code (Klachko models.py run in torch 1.13,
 * test/golden/pnn.json): eval mode (running statistics), train mode (batch statistics) and
 * the running statistics after one training forward. Tolerance 1e-5 absolute: the golden's values
 * are rounded to 8 significant digits and float32 sums of ≤ 54 terms stay well below that.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { layerWeightMap, PerturbLayer } from '../src';
import { flat, loadGolden, maxAbsDiff } from './helpers';

const ATOL = 1e-5;

interface Param {
  torch: unknown;
  tf_hwio?: unknown;
  torch_shape: number[];
}
interface LayerCase {
  name: string;
  config: {
    in_channels: number;
    out_channels: number;
    nmasks: number;
    filter_size: 0 | 1 | 3 | 5 | 7;
    unique_masks: boolean;
    mix_maps: boolean;
    use_act: boolean;
    level: number;
    noise_type: 'uniform' | 'normal';
    input_size: number;
    batch: number;
  };
  input_nhwc: unknown;
  params: Record<string, Param>;
  intermediate_train_mode: { perturbed_nhwc?: unknown; conv_out_nhwc: unknown };
  output_eval_nhwc: unknown;
  output_train_nhwc: unknown;
  bn_running_after_one_train_forward: Record<string, unknown>;
}
const golden = loadGolden<{ layer_cases: LayerCase[] }>('pnn.json');

/** torch parameter name → our weight-name suffix. */
function ourName(torchName: string): string {
  const map: Record<string, string> = {
    noise: 'noise',
    'layers.0.weight': 'kernel',
    'layers.0.bias': 'bias',
    'layers.1.weight': 'bn_gamma',
    'layers.1.bias': 'bn_beta',
    'layers.1.running_mean': 'bn_running_mean',
    'layers.1.running_var': 'bn_running_var',
    'mix_layers.0.weight': 'kernel2',
    'mix_layers.0.bias': 'bias2',
    'mix_layers.1.weight': 'bn2_gamma',
    'mix_layers.1.bias': 'bn2_beta',
    'mix_layers.1.running_mean': 'bn2_running_mean',
    'mix_layers.1.running_var': 'bn2_running_var',
  };
  const n = map[torchName];
  if (!n) throw new Error(`no mapping for torch parameter ${torchName}`);
  return n;
}

/** Values of a torch parameter in our layout. */
function ourValues(torchName: string, p: Param): number[] {
  if (torchName === 'noise') {
    // torch (1, Cn, M, H, W) → ours (H, W, Cn, M)
    const [, cn, m, h, w] = p.torch_shape as [number, number, number, number, number];
    const t = flat(p.torch);
    const out = new Array<number>(t.length);
    for (let ci = 0; ci < cn; ci++)
      for (let mi = 0; mi < m; mi++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            out[((y * w + x) * cn + ci) * m + mi] = t[((ci * m + mi) * h + y) * w + x]!;
          }
    return out;
  }
  return flat(p.tf_hwio ?? p.torch);
}

function buildLayer(c: LayerCase): PerturbLayer {
  const cfg = c.config;
  const layer = new PerturbLayer({
    filters: cfg.out_channels,
    filterSize: cfg.filter_size,
    nmasks: cfg.nmasks,
    level: cfg.level,
    noiseType: cfg.noise_type,
    uniqueMasks: cfg.unique_masks,
    mixMaps: cfg.mix_maps,
    useAct: cfg.use_act,
    seed: 1,
  });
  layer.build([null, cfg.input_size, cfg.input_size, cfg.in_channels] as never);
  const byName = layerWeightMap(layer);
  for (const [tn, p] of Object.entries(c.params)) {
    const w = byName.get(ourName(tn));
    if (!w) throw new Error(`${c.name}: our layer has no weight for ${tn}; it has ${[...byName.keys()].join(', ')}`);
    w.write(tf.tensor(ourValues(tn, p), w.shape as number[]));
  }
  expect(byName.size).toBe(Object.keys(c.params).length);
  return layer;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe.each(golden.layer_cases.map((c) => [c.name, c] as const))('PerturbLayer golden %s', (_n, c) => {
  it('eval mode (running statistics)', () => {
    const layer = buildLayer(c);
    const x = tf.tensor(flat(c.input_nhwc), [
      c.config.batch,
      c.config.input_size,
      c.config.input_size,
      c.config.in_channels,
    ]);
    const y = layer.apply(x, { training: false }) as tf.Tensor;
    expect(maxAbsDiff(y.dataSync(), flat(c.output_eval_nhwc))).toBeLessThan(ATOL);
    tf.dispose([x, y]);
  });

  it('train mode (batch statistics), perturbed maps and the running-stat update', () => {
    const layer = buildLayer(c);
    const x = tf.tensor<tf.Rank.R4>(flat(c.input_nhwc), [
      c.config.batch,
      c.config.input_size,
      c.config.input_size,
      c.config.in_channels,
    ]);
    if (c.intermediate_train_mode.perturbed_nhwc) {
      const p = layer.perturbed(x);
      expect(maxAbsDiff(p.dataSync(), flat(c.intermediate_train_mode.perturbed_nhwc))).toBeLessThan(ATOL);
      p.dispose();
    }
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    expect(maxAbsDiff(y.dataSync(), flat(c.output_train_nhwc))).toBeLessThan(ATOL);
    const byName = layerWeightMap(layer);
    for (const [tn, v] of Object.entries(c.bn_running_after_one_train_forward)) {
      expect(maxAbsDiff(byName.get(ourName(tn))!.read().dataSync(), flat(v))).toBeLessThan(ATOL);
    }
    tf.dispose([x, y]);
  });
});

describe('PerturbLayer invariants', () => {
  it('with level 0 and post-ReLU inputs it equals the plain 1x1 layer (nmasks 1)', () => {
    const x = tf.relu<tf.Tensor4D>(tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 3));
    const pnn = new PerturbLayer({ filters: 5, filterSize: 0, nmasks: 1, level: 0, useAct: true, seed: 2 });
    const conv = new PerturbLayer({ filters: 5, filterSize: 1, seed: 2 });
    const yp = pnn.apply(x, { training: true }) as tf.Tensor; // builds
    const yc0 = conv.apply(x, { training: true }) as tf.Tensor;
    const named = (l: PerturbLayer) => layerWeightMap(l);
    const pw = named(pnn);
    for (const [n, w] of named(conv)) pw.get(n)!.write(w.read());
    const yp2 = pnn.apply(x, { training: false }) as tf.Tensor;
    const yc = conv.apply(x, { training: false }) as tf.Tensor;
    expect(maxAbsDiff(yp2.dataSync(), yc.dataSync())).toBe(0);
    tf.dispose([x, yp, yc0, yp2, yc]);
  });

  it('rejects a grouped conv whose filters do not divide by the input channels, and wrong input sizes', () => {
    const l = new PerturbLayer({ filters: 4, nmasks: 2 });
    expect(() => l.build([null, 8, 8, 3] as never)).toThrow(/filters \(4\) divisible by input channels \(3\)/);
    const m = new PerturbLayer({ filters: 6, nmasks: 2 });
    m.build([null, 8, 8, 3] as never);
    const x = tf.zeros<tf.Rank.R4>([1, 6, 6, 3]);
    expect(() => m.apply(x)).toThrow(/masks were built for 8x8 inputs, got 6x6/);
    x.dispose();
  });
});
