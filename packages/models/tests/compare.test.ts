/**
 * compareModels / perMinibatchCka: torch_cka's numbers through identity models (golden cases of
 * test/golden/cka.json, made with torch_cka 0.21), layer selection, data handling, errors, leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeStatus, Rng } from '@repro/runtime';
import type { ImageDataset } from '@repro/datasets';
import { MinibatchCka } from '@repro/core-metrics';
import { compareModels, layerEntries, perMinibatchCka } from '../src';
import { loadGolden } from './helpers';

interface Case {
  name: string;
  n: number;
  p: number;
  q: number;
  linear_cka: number;
  linear_cka_debiased: number;
  X: number[][];
  Y: number[][];
  minibatch?: { batch_size: number; minibatch_cka_equal_weights: number; minibatch_cka_pair_weights: number };
}
const golden = loadGolden<{ cases: Case[] }>('cka.json');
const byName = (n: string) => golden.cases.find((c) => c.name === n)!;

beforeAll(async () => {
  await initBackend('wasm');
});

/** A model that passes its input through a named linear activation: its features are the data. */
function identityModel(dim: number, name: string): tf.LayersModel {
  const input = tf.input({ shape: [dim] });
  const out = tf.layers.activation({ activation: 'linear', name: 'feat' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name });
}

function smallConvNet(seed: number, name: string, width = 4): tf.LayersModel {
  const rng = new Rng(seed);
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input);
  h = tf.layers.reLU({ name: 'r1' }).apply(h);
  h = tf.layers.conv2d({ filters: width, kernelSize: 3, strides: 2, padding: 'same', name: 'c2' }).apply(h);
  h = tf.layers.flatten({ name: 'flat' }).apply(h);
  const out = tf.layers.dense({ units: 5, name: 'fc' }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out, name });
  for (const w of m.weights) {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(
      Array.from({ length: size }, () => rng.normal() * 0.3),
      shape,
    );
    w.write(t);
    t.dispose();
  }
  return m;
}

function images(n: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(
    Array.from({ length: n * 64 }, () => rng.normal()),
    [n, 8, 8, 1],
  );
}

describe('against torch_cka through identity models', () => {
  it('unequal batches (64, 64, 64, 58): equal weighting is torch_cka, size weighting the TF code', () => {
    const c = byName('unequal_batches_n250');
    const x = tf.tensor2d(c.X);
    const y = tf.tensor2d(c.Y);
    const a = identityModel(c.p, 'A');
    const b = identityModel(c.q, 'B');
    for (const [weighting, want] of [
      ['equal', c.minibatch!.minibatch_cka_equal_weights],
      ['size', c.minibatch!.minibatch_cka_pair_weights],
    ] as const) {
      const r = compareModels(a, b, {
        data: x,
        dataB: y,
        batchSize: 64,
        layersA: ['feat'],
        layersB: ['feat'],
        weighting,
      });
      expect(r.batches).toBe(4);
      expect(r.examples).toBe(250);
      expect(Math.abs(r.matrix[0][0] - want)).toBeLessThan(1e-5);
    }
    // one batch of all rows: debiased is torch_cka single-batch, biased is Kornblith's linear CKA
    const deb = compareModels(a, b, { data: x, dataB: y, batchSize: 250, layersA: ['feat'], layersB: ['feat'] });
    expect(Math.abs(deb.matrix[0][0] - c.linear_cka_debiased)).toBeLessThan(1e-5);
    const bia = compareModels(a, b, {
      data: x,
      dataB: y,
      batchSize: 250,
      layersA: ['feat'],
      layersB: ['feat'],
      estimator: 'biased',
    });
    expect(bia.estimator).toBe('biased');
    // float32 Grams of 250 rows: within 1e-5
    expect(Math.abs(bia.matrix[0][0] - c.linear_cka)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });

  it('rotation and scaling give 1', () => {
    const c = byName('rot_scale_n64');
    const x = tf.tensor2d(c.X);
    const y = tf.tensor2d(c.Y);
    const r = compareModels(identityModel(c.p, 'A'), identityModel(c.q, 'B'), {
      data: x,
      dataB: y,
      batchSize: c.minibatch!.batch_size,
      layersA: ['feat'],
      layersB: ['feat'],
    });
    expect(Math.abs(r.matrix[0][0] - 1)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });
});

describe('layers', () => {
  it('a model against itself: every layer but the input, diagonal 1, symmetric; no tensors leak', () => {
    const m = smallConvNet(1, 'net');
    const x = images(40, 2);
    const before = tf.memory().numTensors;
    const r = compareModels(m, m, { data: x, batchSize: 16 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.layersA).toEqual(['c1', 'r1', 'c2', 'flat', 'fc']);
    expect(r.batches).toBe(3); // 16, 16, 8
    r.matrix.forEach((row, i) => {
      expect(Math.abs(row[i] - 1)).toBeLessThan(1e-5);
      row.forEach((v, j) => expect(Math.abs(v - r.matrix[j][i])).toBeLessThan(1e-6));
    });
    // flatten is a reshape of c2: the same features
    expect(Math.abs(r.matrix[2][3] - 1)).toBeLessThan(1e-5);
    x.dispose();
  });

  it("keeps the caller's order and matches MinibatchCka on hand-tapped features", () => {
    const a = smallConvNet(3, 'a');
    const b = smallConvNet(4, 'b', 6);
    const x = images(32, 5);
    const r = compareModels(a, b, { data: x, batchSize: 16, layersA: ['fc', 'c1'], layersB: ['r1'] });
    expect(r.layersA).toEqual(['fc', 'c1']);
    expect(r.modelNames).toEqual(['a', 'b']);
    const ta = tf.model({
      inputs: a.inputs,
      outputs: [a.getLayer('fc').output, a.getLayer('c1').output] as tf.SymbolicTensor[],
    });
    const tb = tf.model({ inputs: b.inputs, outputs: b.getLayer('r1').output });
    const ref = new MinibatchCka();
    for (const s of [0, 16]) {
      tf.tidy(() => {
        const xb = tf.slice(x, [s], [16]);
        ref.update(ta.predict(xb) as tf.Tensor[], [tb.predict(xb) as tf.Tensor]);
      });
    }
    const want = ref.result();
    r.matrix.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-9)));
    x.dispose();
  });

  it('a layer applied at two call sites is two entries; its plain name selects both', () => {
    const input = tf.input({ shape: [6] });
    const shared = tf.layers.dense({ units: 6, name: 'shared', activation: 'tanh' });
    const h1 = shared.apply(input) as tf.SymbolicTensor;
    const h2 = shared.apply(h1) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: h2, name: 'twice' });
    expect(
      layerEntries(m)
        .map((e) => e.name)
        .slice(1),
    ).toEqual(['shared@0', 'shared@1']);
    const rng = new Rng(8);
    const x = tf.tensor2d(
      Array.from({ length: 24 * 6 }, () => rng.normal()),
      [24, 6],
    );
    const r = compareModels(m, m, { data: x, batchSize: 8, layersA: ['shared'], layersB: ['shared@1'] });
    expect(r.layersA).toEqual(['shared@0', 'shared@1']);
    expect(r.layersB).toEqual(['shared@1']);
    expect(r.matrix[0][0]).toBeLessThan(0.9999); // the two call sites differ
    expect(Math.abs(r.matrix[1][0] - 1)).toBeLessThan(1e-5);
    x.dispose();
  });
});

describe('data', () => {
  it('a dataset of @repro/datasets gives what its tensor gives (pixels / 255)', () => {
    const rng = new Rng(11);
    const n = 20;
    const bytes = Uint8Array.from({ length: n * 64 }, () => rng.int(256));
    const ds: ImageDataset = {
      name: 'synthetic',
      split: 'test',
      size: n,
      shape: [8, 8, 1],
      numClasses: 2,
      classNames: ['a', 'b'],
      images: bytes,
      labels: Int32Array.from({ length: n }, (_, i) => i % 2),
      source: 'memory',
    };
    const m = smallConvNet(12, 'm');
    const x = tf.tidy(() => tf.div(tf.tensor4d(bytes, [n, 8, 8, 1], 'float32'), 255));
    const fromDs = compareModels(m, m, { data: ds, batchSize: 8, layersA: ['c1', 'fc'], layersB: ['c2'] });
    const fromTensor = compareModels(m, m, { data: x, batchSize: 8, layersA: ['c1', 'fc'], layersB: ['c2'] });
    expect(fromDs.dataNames).toEqual(['synthetic:test', 'synthetic:test']);
    expect(fromDs.batches).toBe(3);
    fromDs.matrix.forEach((row, i) =>
      row.forEach((v, j) => expect(Math.abs(v - fromTensor.matrix[i][j])).toBeLessThan(1e-6)),
    );
    x.dispose();
  });

  it('perMinibatchCka: one value per minibatch, each the single-batch CKA', () => {
    const a = smallConvNet(13, 'a');
    const b = smallConvNet(14, 'b');
    const x = images(48, 15);
    const before = tf.memory().numTensors;
    const v = perMinibatchCka(a, b, { layerA: 'c2', layerB: 'c2', data: x, batchSize: 12 });
    expect(tf.memory().numTensors).toBe(before);
    expect(v).toHaveLength(4);
    const one = tf.tidy(() => tf.slice(x, [12], [12]));
    const single = compareModels(a, b, { data: one, batchSize: 12, layersA: ['c2'], layersB: ['c2'] });
    expect(Math.abs(v[1] - single.matrix[0][0])).toBeLessThan(1e-9);
    expect(perMinibatchCka(a, b, { layerA: 'c2', layerB: 'c2', data: x, batchSize: 12, maxBatches: 2 })).toHaveLength(
      2,
    );
    tf.dispose([x, one]);
  });
});

describe('bad input gets an error that names the problem', () => {
  const m = smallConvNet(20, 'm');
  const x = images(30, 21);
  afterAll(() => x.dispose());

  it.each([
    [{ layersA: ['nope'] }, /no layer 'nope'; valid names: .*c1, r1, c2, flat, fc/],
    [{ batchSize: 3 }, /batchSize must be an integer >= 4/],
    [{ batchSize: 14 }, /last batch would have 2 examples \(30 examples, batch size 14\).*dropLast/],
    [{ layersA: [] }, /layersA is empty/],
  ])('%j', (extra, pattern) => {
    const before = tf.memory().numTensors;
    expect(() => compareModels(m, m, { data: x, batchSize: 10, ...extra })).toThrow(pattern);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('dropLast drops a last batch of 1-3 rows', () => {
    const r = compareModels(m, m, { data: x, batchSize: 14, dropLast: true, layersA: ['fc'], layersB: ['fc'] });
    expect(r.batches).toBe(2);
    expect(r.examples).toBe(28);
  });

  it('data of different lengths needs a stated policy', () => {
    const y = images(24, 22);
    expect(() => compareModels(m, m, { data: x, dataB: y, batchSize: 8 })).toThrow(
      /data has 30 examples and dataB 24.*lengthMismatch: 'truncate'/,
    );
    const r = compareModels(m, m, {
      data: x,
      dataB: y,
      batchSize: 8,
      lengthMismatch: 'truncate',
      layersA: ['fc'],
      layersB: ['fc'],
    });
    expect(r.examples).toBe(24);
    y.dispose();
  });

  it('NaN features and a constant layer name the layer', () => {
    const bad = tf.tidy(() => tf.concat([tf.fill([1, 8, 8, 1], NaN), tf.slice(x, [1], [29])]));
    const before = tf.memory().numTensors;
    expect(() => compareModels(m, m, { data: bad, batchSize: 10, layersA: ['c1'], layersB: ['fc'] })).toThrow(
      /layer 'c1' of model A/,
    );
    expect(tf.memory().numTensors).toBe(before);
    bad.dispose();
    const input = tf.input({ shape: [8, 8, 1] });
    const zero = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'zero', kernelInitializer: 'zeros' }).apply(input);
    const c = tf.model({ inputs: input, outputs: zero as tf.SymbolicTensor, name: 'const' });
    expect(() => compareModels(c, m, { data: x, batchSize: 10, layersB: ['fc'] })).toThrow(
      /layer 'zero' of model A has self-HSIC .* <= 0/,
    );
  });
});

/** The bits of a JavaScript number (float64), as 16 hex digits. */
function f64hex(v: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/** compareModels of two small conv nets (5 layers each), debiased/equal and biased/size, recorded at commit c813d94. */
const RECORDED_MATRICES: string[] = [
  '3fe9f8312b5016ba 3fe85fb6a85d6a76 3fdbb13377620095 3fdbb13377620095 3fc8d20b3faed096 3fe8700bcb2e346c 3fe6a604c033582c 3fd73d644166b7c6 3fd73d644166b7c6 3fb8780b3ed3c7ff 3fe12e77bc71b740 3fe036b2f413cbf0 3fd0b507a5e719e6 3fd0b507a5e719e6 3fbe4d6b17815453 3fe12e77bc71b740 3fe036b2f413cbf0 3fd0b507a5e719e6 3fd0b507a5e719e6 3fbe4d6b17815453 3fccb79a50dfd136 3fc851c5f0ef5dca 3fa09d8ae00ddd6d 3fa09d8ae00ddd6d 3fb4d6c18f8c1ea2',
  '3fee9f0d8907ad54 3fee60fa510ad73d 3feb552b8dae7077 3feb552b8dae7077 3fe01188182b042c 3fee925dea899c20 3fee680f21e44c1f 3feb3515624c7487 3feb3515624c7487 3fdf528254d1287c 3febd1d2cb2101a4 3febba17fbcb4649 3fe8dc8e04c7e49f 3fe8dc8e04c7e49f 3fdc85e054927ac1 3febd1d2cb2101a4 3febba17fbcb4649 3fe8dc8e04c7e49f 3fe8dc8e04c7e49f 3fdc85e054927ac1 3fded247f8c0259c 3fde5c5efdeedd15 3fdb9a20df9e7fab 3fdb9a20df9e7fab 3fcc92e0fa3da5d6',
];

/** The same under OpenBLAS's Haswell kernels and oneDNN's avx512_core_bf16 (an AMD Zen 5 with OPENBLAS_CORETYPE=Haswell). */
const RECORDED_MATRICES_HASWELL: string[] = [
  '3fe9f830c1ac17f8 3fe85fb6b3c742b0 3fdbb1335c2a505d 3fdbb1335c2a505d 3fc8d20b75a86bae 3fe8700bb45090cf 3fe6a6048ecac06e 3fd73d644d2f0348 3fd73d644d2f0348 3fb8780c3f51d7c9 3fe12e77d34c3e2b 3fe036b2ef239c1d 3fd0b507829306f2 3fd0b507829306f2 3fbe4d6ba9e57b1a 3fe12e77d34c3e2b 3fe036b2ef239c1d 3fd0b507829306f2 3fd0b507829306f2 3fbe4d6ba9e57b1a 3fccb79a0fc6b644 3fc851c6008e0f1d 3fa09d8b3d048676 3fa09d8b3d048676 3fb4d6c1428d7cd9',
  '3fee9f0e0fbad332 3fee60fa10ac55cf 3feb552b7960400f 3feb552b7960400f 3fe01188276214be 3fee925e998b2b2c 3fee680f46c81b22 3feb3514f1a8b0f0 3feb3514f1a8b0f0 3fdf52824dc46d90 3febd1d2e57f2aa4 3febba17aaa9f5ce 3fe8dc8e20444ce8 3fe8dc8e20444ce8 3fdc85e01acd78b9 3febd1d2e57f2aa4 3febba17aaa9f5ce 3fe8dc8e20444ce8 3fe8dc8e20444ce8 3fdc85e01acd78b9 3fded247e63ae187 3fde5c5ef3aca924 3fdb9a20f9a56e0a 3fdb9a20f9a56e0a 3fcc92e0a67c0eb5',
];

/**
 * Bits hold per set of kernels (they sum in different orders): keyed '<OpenBLAS kernels>/<oneDNN ISA>', or
 * by the OpenBLAS kernels alone (the first set was recorded on an AVX-512 machine whose oneDNN ISA the
 * record did not name); another set compares sizes only.
 */
const RECORDED_FOR_KERNELS: Record<string, string[]> = {
  SkylakeX: RECORDED_MATRICES,
  'Haswell/avx512_core_bf16': RECORDED_MATRICES_HASWELL,
};

describe('magnitude', () => {
  const SCALES = [1e-30, 1e-15, 1e-8, 1e8, 1e15, 1e20, 1e30];

  /** Two taps: 'feat' (the data) and 'scaled' (the data times `s`: a dense layer without bias, kernel s·I). */
  function scaledTwin(dim: number, s: number): tf.LayersModel {
    const input = tf.input({ shape: [dim] });
    const feat = tf.layers.activation({ activation: 'linear', name: 'feat' }).apply(input) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: dim, useBias: false, name: 'scaled' });
    const out = dense.apply(feat) as tf.SymbolicTensor;
    const kernel = tf.tidy(() => tf.mul(tf.eye(dim), s));
    dense.setWeights([kernel]);
    kernel.dispose();
    return tf.model({ inputs: input, outputs: out, name: `twin${s}` });
  }

  it('activations scaled by 1e-30 … 1e30: every layer against itself and its scaled copy is 1', () => {
    const c = byName('unequal_batches_n250');
    const x = tf.tensor2d(c.X);
    for (const s of SCALES) {
      const m = scaledTwin(c.p, s);
      const before = tf.memory().numTensors;
      const r = compareModels(m, m, { data: x, batchSize: 64 });
      expect(tf.memory().numTensors).toBe(before);
      expect(r.layersA).toEqual(['feat', 'scaled']);
      r.matrix.flat().forEach((v) => expect([s, Math.abs(v - 1) < 1e-5]).toEqual([s, true]));
    }
    x.dispose();
  });

  it("activations scaled by 1e-30 … 1e30 on both sides: torch_cka's value at scale 1", () => {
    const c = byName('unequal_batches_n250');
    const a = identityModel(c.p, 'A');
    const b = identityModel(c.q, 'B');
    for (const s of SCALES) {
      const [x, y] = tf.tidy((): tf.Tensor2D[] => [tf.mul(tf.tensor2d(c.X), s), tf.mul(tf.tensor2d(c.Y), s)]);
      for (const [weighting, want] of [
        ['equal', c.minibatch!.minibatch_cka_equal_weights],
        ['size', c.minibatch!.minibatch_cka_pair_weights],
      ] as const) {
        const r = compareModels(a, b, {
          data: x,
          dataB: y,
          batchSize: 64,
          layersA: ['feat'],
          layersB: ['feat'],
          weighting,
        });
        expect([s, weighting, Math.abs(r.matrix[0][0] - want) < 1e-5]).toEqual([s, weighting, true]);
      }
      const per = perMinibatchCka(a, b, { layerA: 'feat', layerB: 'feat', data: x, dataB: y, batchSize: 64 });
      per.forEach((v) => expect(Number.isFinite(v) && Math.abs(v) <= 1 + 1e-6).toBe(true));
      tf.dispose([x, y]);
    }
  });

  it('ordinary activations: the matrix is unchanged bit for bit (recorded before the rescaling rules)', () => {
    const a = smallConvNet(31, 'a');
    const b = smallConvNet(32, 'b', 6);
    const x = images(40, 33);
    const got = [
      compareModels(a, b, { data: x, batchSize: 16 }),
      compareModels(a, b, { data: x, batchSize: 16, estimator: 'biased', weighting: 'size' }),
    ].map((r) => r.matrix.flat().map(f64hex).join(' '));
    // the convolutions run on oneDNN, whose kernels follow its ISA: a set is keyed by both, or by OpenBLAS's alone
    const s = nativeStatus();
    const kernels = s.available ? (s.kernels ?? 'unknown') : `none (${s.reason})`;
    const isa = s.available ? (/\(([^)]+)\)$/.exec(s.dnnl ?? '')?.[1] ?? 'no oneDNN') : '';
    const want = RECORDED_FOR_KERNELS[`${kernels}/${isa}`] ?? RECORDED_FOR_KERNELS[kernels];
    if (!want) {
      console.warn(`no matrices recorded for the OpenBLAS kernels ${kernels}: comparing their sizes only`);
      expect(got.map((g) => g.split(' ').length)).toEqual(RECORDED_MATRICES.map((g) => g.split(' ').length));
    } else expect(got).toEqual(want);
    x.dispose();
  });
});
