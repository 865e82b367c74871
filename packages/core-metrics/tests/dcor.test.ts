/**
 * The distance-correlation family against R's energy 1.7.11 and the official PDC code
 * (test/golden/dcor.json), plus properties, the blocked path, errors, gradients and leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { bcdcor, dcor, dcor2, dcorTest, dcov2, dcovU, pdcor, pdcov, semipartialDcor } from '../src';
import { expectClose, expectNoLeak, loadGolden, randn, value } from './helpers';

interface Case {
  id: string;
  n: number;
  x: number[][];
  y: number[][];
  z: number[][];
  energy: Record<string, number | null>;
  official_float64: Record<string, number | null>;
}
const golden = loadGolden<{ cases: Case[] }>('dcor.json');

beforeAll(async () => {
  await initBackend('wasm');
});

// float32 against float64 references. Inputs here are O(1) and n ≤ 200, where float32 sums keep
// ~6 digits: 1e-4 relative plus 2e-6 absolute (for values that are 0 in exact arithmetic).
const TOL = { abs: 2e-6, rel: 1e-4 };
// U-statistics cancel three terms of similar size: at n = 4-5 the result is ~50x smaller than the
// terms (c01: dcovU 0.0074 from terms ~0.4), so allow 50x float32 epsilon on the terms' scale.
const TOL_U = { abs: 2e-5, rel: 1e-4 };

describe.each(golden.cases.map((c) => [c.id, c] as const))('golden %s', (_id, c) => {
  let x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor2D;
  beforeAll(() => {
    x = tf.tensor2d(c.x);
    y = tf.tensor2d(c.y);
    z = tf.tensor2d(c.z);
  });
  afterAll(() => tf.dispose([x, y, z]));
  const e = c.energy;

  it('dcov2 = energy dcov^2, dcor = energy dcor, dcor2 = dcor^2', () => {
    expectClose(
      value(() => dcov2(x, y)),
      e.dcov2!,
      TOL,
      'dcov2',
    );
    expectClose(
      value(() => dcor(x, y)),
      e.dcor!,
      TOL,
      'dcor',
    );
    expectClose(
      value(() => dcor2(x, y)),
      e.dcor2!,
      TOL,
      'dcor2',
    );
  });

  it('dcovU = energy dcovU, bcdcor = energy bcdcor', () => {
    expectClose(
      value(() => dcovU(x, y)),
      e.dcovU!,
      TOL_U,
      'dcovU',
    );
    expectClose(
      value(() => bcdcor(x, y)),
      e.bcdcor!,
      TOL_U,
      'bcdcor',
    );
  });

  it('pdcov, pdcor = energy; semipartialDcor = official P_DC(x, z, y)', () => {
    expectClose(
      value(() => pdcov(x, y, z)),
      e.pdcov!,
      TOL_U,
      'pdcov',
    );
    expectClose(
      value(() => pdcor(x, y, z)),
      e.pdcor!,
      TOL_U,
      'pdcor',
    );
    const official = c.official_float64.official_P_DC_x_minus_z_vs_y;
    // official P_DC has no zero guard: it is NaN/null for a constant or collinear z; ours is 0 there
    const expected = official ?? 0;
    expectClose(
      value(() => semipartialDcor(x, y, z)),
      expected,
      TOL_U,
      'semipartialDcor',
    );
  });

  it('dcor2 with rowNormalize = official Diverge_Training Distance_Correlation', () => {
    const official = c.official_float64.official_DC_rownorm!;
    // the official code adds 1e-12 inside sqrt and 1e-9 in the denominator: ~1e-6 relative effects
    expectClose(
      value(() => dcor2(x, y, { rowNormalize: true })),
      official,
      { abs: 1e-5, rel: 1e-4 },
      'rownorm',
    );
  });
});

describe('properties', () => {
  const x = randn(1, 60, 7);
  const z = randn(2, 60, 3);
  afterAll(() => tf.dispose([x, z]));

  it('dcor(x, x) = 1 and pdcor(x, x; z) = 1', () => {
    expectClose(
      value(() => dcor(x, x)),
      1,
      { abs: 1e-5, rel: 0 },
      'dcor(x,x)',
    );
    expectClose(
      value(() => pdcor(x, x, z)),
      1,
      { abs: 1e-5, rel: 0 },
      'pdcor(x,x,z)',
    );
  });

  it('is invariant to rotation, scaling and translation of either input', () => {
    const y = tf.tidy(() => tf.add<tf.Tensor2D>(tf.square(x.slice([0, 0], [-1, 3])), randn(3, 60, 3).mul(0.3)));
    const q = tf.tidy(() => {
      // a rotation: orthogonal Q from Gram–Schmidt of a random matrix
      const cols: tf.Tensor1D[] = [];
      const a = randn(4, 7, 7);
      for (let k = 0; k < 7; k++) {
        let v = a.slice([0, k], [-1, 1]).reshape<tf.Tensor1D>([7]);
        for (const c of cols) v = tf.sub<tf.Tensor1D>(v, tf.mul(c, tf.sum(tf.mul(c, v))));
        cols.push(tf.div<tf.Tensor1D>(v, tf.norm(v)));
      }
      return tf.stack(cols, 1) as tf.Tensor2D;
    });
    const xt = tf.tidy(() => tf.add<tf.Tensor2D>(tf.mul(tf.matMul(x, q), 3.7), 50));
    for (const f of [dcor, bcdcor]) {
      expectClose(
        value(() => f(xt, y)),
        value(() => f(x, y)),
        { abs: 2e-5, rel: 1e-4 },
        f.name,
      );
    }
    expectClose(
      value(() => pdcor(xt, y, z)),
      value(() => pdcor(x, y, z)),
      { abs: 2e-5, rel: 1e-4 },
      'pdcor',
    );
    tf.dispose([y, q, xt]);
  });

  it('constant inputs give 0, not NaN', () => {
    const c = tf.fill<tf.Rank.R2>([20, 3], 7.5);
    const y = randn(5, 20, 2);
    for (const f of [dcor, dcor2, dcov2, bcdcor, dcovU]) expect(value(() => f(c, y))).toBe(0);
    expect(value(() => pdcor(c, y, y))).toBe(0);
    tf.dispose([c, y]);
  });

  it('gradients are finite with duplicate rows', () => {
    const base = randn(6, 10, 4);
    const dup = tf.concat<tf.Tensor2D>([base, base.slice([0, 0], [5, -1])]); // 5 duplicated rows
    const y = randn(7, 15, 2);
    for (const f of [
      (a: tf.Tensor2D) => dcor2(a, y),
      (a: tf.Tensor2D) => dcor(a, y),
      (a: tf.Tensor2D) => bcdcor(a, y),
      (a: tf.Tensor2D) => pdcor(a, y, y.slice<tf.Tensor2D>([0, 0], [-1, 1])),
    ]) {
      const g = tf.grad((a: tf.Tensor) => f(a as tf.Tensor2D))(dup);
      const vals = Array.from(g.dataSync());
      expect(vals.every(Number.isFinite)).toBe(true);
      expect(vals.some((v) => v !== 0)).toBe(true);
      g.dispose();
    }
    tf.dispose([base, dup, y]);
  });

  it('the blocked path equals the full path', () => {
    const a = randn(8, 301, 9, 3);
    const b = tf.tidy(() => tf.add<tf.Tensor2D>(tf.tanh(a.slice([0, 0], [-1, 5])), randn(9, 301, 5)));
    const c = randn(10, 301, 2);
    for (const [name, f] of [
      ['dcor', (o: object) => dcor(a, b, o)],
      ['dcov2', (o: object) => dcov2(a, b, o)],
      ['bcdcor', (o: object) => bcdcor(a, b, o)],
      ['pdcor', (o: object) => pdcor(a, b, c, o)],
    ] as const) {
      const full = value(() => f({ method: 'full' }));
      const blocked = value(() => f({ method: 'blocked', blockRows: 64 }));
      expectClose(blocked, full, { abs: 1e-6, rel: 1e-4 }, name);
    }
    expectNoLeak(() => dcor(a, b, { method: 'blocked', blockRows: 100 }));
    tf.dispose([a, b, c]);
  });

  it('debiased estimates are near 0 on independent data', () => {
    const a = randn(11, 400, 5);
    const b = randn(12, 400, 5);
    expect(Math.abs(value(() => bcdcor(a, b)))).toBeLessThan(0.01);
    expect(value(() => dcor2(a, b))).toBeGreaterThan(0.01); // the V-statistic is biased upward
    tf.dispose([a, b]);
  });
});

describe('dcorTest', () => {
  it('rejects independence for dependent data and not for independent data; seeded', () => {
    const a = randn(13, 80, 2);
    const dep = tf.tidy(() => tf.add<tf.Tensor2D>(tf.square(a), randn(14, 80, 2).mul(0.5)));
    const ind = randn(15, 80, 2);
    const r1 = dcorTest(a, dep, { permutations: 99, seed: 1 });
    expect(r1.pValue).toBeLessThanOrEqual(0.02);
    expectClose(
      r1.statistic,
      value(() => dcor(a, dep)),
      { abs: 1e-6, rel: 0 },
      'statistic',
    );
    const r2 = dcorTest(a, ind, { permutations: 99, seed: 1 });
    expect(r2.pValue).toBeGreaterThan(0.05);
    expect(dcorTest(a, ind, { permutations: 99, seed: 1 })).toEqual(r2);
    expectNoLeak(() => dcorTest(a, ind, { permutations: 5, seed: 2 }));
    tf.dispose([a, dep, ind]);
  });
});

describe('errors and memory', () => {
  it('rejects mismatched rows, non-2-D inputs and n too small', () => {
    const a = randn(1, 10, 2);
    const b = randn(2, 9, 2);
    expect(() => dcor(a, b)).toThrow(/x has 10 rows but y has 9/);
    expect(() => dcor(tf.zeros([10]) as unknown as tf.Tensor2D, a)).toThrow(/x must be 2-D \[n, p\]/);
    const small = randn(3, 3, 2);
    expect(() => bcdcor(small, small)).toThrow(/n = 3 examples is too small; this estimator needs n >= 4/);
    expect(() => pdcor(small, small, small)).toThrow(/needs n >= 4/);
    tf.dispose([a, b, small]);
  });

  it('leaks no tensors', () => {
    const a = randn(1, 30, 4);
    const b = randn(2, 30, 3);
    const c = randn(3, 30, 2);
    for (const f of [
      () => dcov2(a, b),
      () => dcor(a, b),
      () => dcor2(a, b, { rowNormalize: true }),
      () => dcovU(a, b),
      () => bcdcor(a, b),
      () => pdcov(a, b, c),
      () => pdcor(a, b, c),
      () => semipartialDcor(a, b, c),
    ])
      expectNoLeak(f);
    tf.dispose([a, b, c]);
  });
});
