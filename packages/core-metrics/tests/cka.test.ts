/**
 * HSIC / CKA against torch_cka and the float64 reference (test/golden/cka.json), properties,
 * MinibatchCka against the per-batch references, errors and leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { hsic, linearCka, MinibatchCka, rbfCka } from '../src';
import { expectClose, expectNoLeak, loadGolden, randn, value } from './helpers';

interface Triple {
  xy: number;
  xx: number;
  yy: number;
}
interface Case {
  name: string;
  n: number;
  X: number[][];
  Y: number[][];
  linear_cka: number;
  linear_cka_debiased: number;
  rbf_cka_0p5: number;
  rbf_cka_0p5_debiased: number;
  hsic_biased_linear: Triple;
  hsic_unbiased_linear: Triple;
  minibatch?: { batch_sizes: number[]; minibatch_cka_equal_weights: number; minibatch_cka_pair_weights: number };
}
const golden = loadGolden<{ cases: Case[] }>('cka.json');

beforeAll(async () => {
  await initBackend('wasm');
});

// float32 against float64 references; inputs are float32-exact. CKA values are O(1) ratios:
// 1e-4 relative + 1e-5 absolute (for the near-zero debiased values of independent data, whose
// numerator cancels to ~1e-2 of its terms).
const TOL = { abs: 1e-5, rel: 1e-4 };
// HSIC values scale with the features (up to ~1e3 here): relative tolerance only.
const TOL_HSIC = { abs: 0, rel: 2e-4 };

describe.each(golden.cases.map((c) => [c.name, c] as const))('golden %s', (_n, c) => {
  let x: tf.Tensor2D, y: tf.Tensor2D;
  beforeAll(() => {
    x = tf.tensor2d(c.X);
    y = tf.tensor2d(c.Y);
  });
  afterAll(() => tf.dispose([x, y]));

  it('linear CKA, biased and debiased', () => {
    expectClose(
      value(() => linearCka(x, y)),
      c.linear_cka,
      TOL,
      'linearCka',
    );
    expectClose(
      value(() => linearCka(x, y, { debiased: true })),
      c.linear_cka_debiased,
      TOL,
      'linearCka debiased',
    );
  });

  it('RBF CKA (threshold 0.5), biased and debiased', () => {
    expectClose(
      value(() => rbfCka(x, y)),
      c.rbf_cka_0p5,
      TOL,
      'rbfCka',
    );
    expectClose(
      value(() => rbfCka(x, y, { debiased: true })),
      c.rbf_cka_0p5_debiased,
      TOL,
      'rbfCka debiased',
    );
  });

  it('linear HSIC, biased and unbiased', () => {
    const hb = c.hsic_biased_linear;
    const hu = c.hsic_unbiased_linear;
    expectClose(
      value(() => hsic(x, y, { kernel: 'linear' })),
      hb.xy,
      TOL_HSIC,
      'hsic biased xy',
    );
    expectClose(
      value(() => hsic(x, x, { kernel: 'linear' })),
      hb.xx,
      TOL_HSIC,
      'hsic biased xx',
    );
    expectClose(
      value(() => hsic(y, y, { kernel: 'linear', estimator: 'unbiased' })),
      hu.yy,
      TOL_HSIC,
      'hsic unbiased yy',
    );
    // unbiased xy cancels: absolute slack relative to the self terms
    const scale = Math.sqrt(Math.abs(hu.xx * hu.yy));
    expectClose(
      value(() => hsic(x, y, { kernel: 'linear', estimator: 'unbiased' })),
      hu.xy,
      { abs: 1e-5 * scale, rel: 2e-4 },
      'hsic unbiased xy',
    );
  });

  it('MinibatchCka with one batch of all rows: debiased = torch_cka, biased = linear CKA', () => {
    for (const [estimator, expected] of [
      ['debiased', c.linear_cka_debiased],
      ['biased', c.linear_cka],
    ] as const) {
      const m = new MinibatchCka({ estimator });
      m.update([x], [y]);
      expectClose(m.result()[0][0], expected, TOL, `one batch ${estimator}`);
    }
  });

  if (c.minibatch) {
    const mb = c.minibatch;
    it('MinibatchCka over contiguous batches, equal and size weighting', () => {
      for (const [weighting, expected] of [
        ['equal', mb.minibatch_cka_equal_weights],
        ['size', mb.minibatch_cka_pair_weights],
      ] as const) {
        const m = new MinibatchCka({ weighting });
        let start = 0;
        for (const size of mb.batch_sizes) {
          const xb = x.slice([start, 0], [size, -1]);
          const yb = y.slice([start, 0], [size, -1]);
          m.update([xb], [yb]);
          tf.dispose([xb, yb]);
          start += size;
        }
        expect(m.count).toBe(mb.batch_sizes.length);
        expectClose(m.result()[0][0], expected, TOL, `minibatch ${weighting}`);
      }
    });
  }
});

describe('properties', () => {
  it('CKA(X, X) = 1, symmetric, invariant to orthogonal maps, scaling and translation', () => {
    const x = randn(1, 50, 12);
    const y = tf.tidy(() => tf.add<tf.Tensor2D>(tf.tanh(tf.matMul(x, randn(2, 12, 8))), randn(3, 50, 8).mul(0.3)));
    const q = tf.tidy(() => {
      const [qq] = tf.linalg.qr(randn(4, 12, 12));
      return qq as tf.Tensor2D;
    });
    const xt = tf.tidy(() => tf.add<tf.Tensor2D>(tf.mul(tf.matMul(x, q), 4), 25)); // ReLU-like large mean
    for (const [name, f] of [
      ['linear', (a: tf.Tensor2D, b: tf.Tensor2D) => linearCka(a, b)],
      ['linear debiased', (a: tf.Tensor2D, b: tf.Tensor2D) => linearCka(a, b, { debiased: true })],
      ['rbf', (a: tf.Tensor2D, b: tf.Tensor2D) => rbfCka(a, b)],
    ] as const) {
      expectClose(
        value(() => f(x, x)),
        1,
        { abs: 1e-5, rel: 0 },
        `${name} self`,
      );
      expectClose(
        value(() => f(y, x)),
        value(() => f(x, y)),
        { abs: 1e-6, rel: 1e-5 },
        `${name} symmetric`,
      );
      expectClose(
        value(() => f(xt, y)),
        value(() => f(x, y)),
        { abs: 1e-5, rel: 1e-4 },
        `${name} invariant`,
      );
    }
    tf.dispose([x, y, q, xt]);
  });

  it('debiased CKA is near 0 on independent data; biased is not', () => {
    const x = randn(5, 200, 30);
    const y = randn(6, 200, 30);
    expect(Math.abs(value(() => linearCka(x, y, { debiased: true })))).toBeLessThan(0.02);
    expect(value(() => linearCka(x, y))).toBeGreaterThan(0.08);
    tf.dispose([x, y]);
  });

  it('MinibatchCka: all layer pairs at once equal the per-pair computation; any rank', () => {
    const a1 = randn(7, 32, 6);
    const a2 = tf.tidy(() => tf.reshape(randn(8, 32, 24), [32, 2, 3, 4]));
    const b1 = tf.tidy(() => tf.add<tf.Tensor2D>(a1.slice([0, 0], [-1, 3]), randn(9, 32, 3).mul(0.2)));
    const m = new MinibatchCka();
    m.update([a1, a2], [b1]);
    const r = m.result();
    expect(r.length).toBe(2);
    expect(r[0].length).toBe(1);
    expectClose(
      r[0][0],
      value(() => linearCka(a1, b1, { debiased: true })),
      { abs: 1e-5, rel: 1e-4 },
      'pair 0',
    );
    const a2flat = tf.reshape<tf.Rank.R2>(a2, [32, -1]);
    expectClose(
      r[1][0],
      value(() => linearCka(a2flat, b1, { debiased: true })),
      { abs: 1e-5, rel: 1e-4 },
      'pair 1',
    );
    expectNoLeak(() => m.update([a1, a2], [b1]));
    tf.dispose([a1, a2, b1, a2flat]);
  });
});

describe('errors and memory', () => {
  it('rejects bad input with clear errors', () => {
    const a = randn(1, 10, 3);
    const b = randn(2, 8, 3);
    const small = randn(3, 3, 2);
    expect(() => linearCka(a, b)).toThrow(/x has 10 rows but y has 8/);
    expect(() => linearCka(small, small, { debiased: true })).toThrow(/needs n >= 4/);
    expect(() => hsic(a, a, { kernel: 'poly' as never })).toThrow(/unknown kernel 'poly'/);
    const m = new MinibatchCka();
    expect(() => m.result()).toThrow(/no batch was added/);
    expect(() => m.update([a], [b])).toThrow(/featuresB\[0\] has shape \[8, 3\]; every layer needs 10 examples/);
    expect(() => new MinibatchCka({ weighting: 'rows' as never })).toThrow(/unknown weighting/);
    tf.dispose([a, b, small]);
  });

  it('constant features give 0, not NaN', () => {
    const c = tf.fill<tf.Rank.R2>([12, 4], 3);
    const y = randn(4, 12, 4);
    expect(value(() => linearCka(c, y))).toBe(0);
    expect(value(() => rbfCka(c, y, { debiased: true }))).toBe(0);
    tf.dispose([c, y]);
  });

  it('leaks no tensors', () => {
    const a = randn(1, 20, 5);
    const b = randn(2, 20, 4);
    for (const f of [
      () => linearCka(a, b),
      () => linearCka(a, b, { debiased: true }),
      () => rbfCka(a, b),
      () => rbfCka(a, b, { debiased: true }),
      () => hsic(a, b, { kernel: 'rbf', estimator: 'unbiased' }),
    ])
      expectNoLeak(f);
    tf.dispose([a, b]);
  });
});
