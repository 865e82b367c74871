/**
 * The number-returning forms (`numeric`): each is its tensor form on the same float32 data, bit for
 * bit; they take rows, one feature or flat typed arrays; bad input is an error naming the problem;
 * no tensor is left behind, on success or on an error.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@repro/runtime';
import {
  bcdcor,
  dcor,
  dcor2,
  dcorTest,
  dcov2,
  dcovU,
  hsic,
  linearCka,
  numeric,
  pdcor,
  pdcov,
  rbfCka,
  semipartialDcor,
} from '../src';
import { value } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const N = 10;
/** n × p standard normal values, plain float64 numbers (made without tfjs, before any backend is chosen) */
const rows = (seed: number, p: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: N }, () => Array.from({ length: p }, () => rng.normal()));
};
// y depends on x so that the statistics are far from 0
const X = rows(1, 3);
const Y = X.map((r, i) => [r[0] * r[1] + 0.3 * Math.sin(i), r[2] ** 2]);
const Z = rows(3, 2);

describe('numeric forms equal the tensor forms', () => {
  const t = (a: number[][]) => tf.tensor2d(a);
  const pair: [string, (x: number[][], y: number[][]) => number, (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Scalar][] = [
    ['dcov2', numeric.dcov2, dcov2],
    ['dcor', numeric.dcor, dcor],
    ['dcor2', numeric.dcor2, dcor2],
    [
      'dcor2 rowNormalize',
      (x, y) => numeric.dcor2(x, y, { rowNormalize: true }),
      (x, y) => dcor2(x, y, { rowNormalize: true }),
    ],
    ['dcovU', numeric.dcovU, dcovU],
    ['bcdcor', numeric.bcdcor, bcdcor],
    ['hsic', numeric.hsic, hsic],
    [
      'hsic rbf unbiased',
      (x, y) => numeric.hsic(x, y, { kernel: 'rbf', estimator: 'unbiased' }),
      (x, y) => hsic(x, y, { kernel: 'rbf', estimator: 'unbiased' }),
    ],
    ['linearCka', numeric.linearCka, linearCka],
    [
      'linearCka debiased',
      (x, y) => numeric.linearCka(x, y, { debiased: true }),
      (x, y) => linearCka(x, y, { debiased: true }),
    ],
    ['rbfCka', numeric.rbfCka, rbfCka],
  ];
  it.each(pair)('%s', (_name, num, tensor) => {
    const [tx, ty] = [t(X), t(Y)];
    const expected = value(() => tensor(tx, ty));
    tf.dispose([tx, ty]);
    const got = num(X, Y);
    expect(typeof got).toBe('number');
    expect(got).toBe(expected);
    expect(Math.abs(got)).toBeGreaterThan(1e-3);
  });

  const triple: [
    string,
    (x: number[][], y: number[][], z: number[][]) => number,
    (x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor2D) => tf.Scalar,
  ][] = [
    ['pdcov', numeric.pdcov, pdcov],
    ['pdcor', numeric.pdcor, pdcor],
    ['semipartialDcor', numeric.semipartialDcor, semipartialDcor],
  ];
  it.each(triple)('%s', (_name, num, tensor) => {
    const [tx, ty, tz] = [t(X), t(Y), t(Z)];
    const expected = value(() => tensor(tx, ty, tz));
    tf.dispose([tx, ty, tz]);
    expect(num(X, Y, Z)).toBe(expected);
  });

  it('dcorTest', () => {
    const [tx, ty] = [t(X), t(Y)];
    const expected = dcorTest(tx, ty, { permutations: 49, seed: 3 });
    tf.dispose([tx, ty]);
    expect(numeric.dcorTest(X, Y, { permutations: 49, seed: 3 })).toEqual(expected);
  });
});

describe('input forms', () => {
  const flat64 = (a: number[][]) => ({ data: Float64Array.from(a.flat()), columns: a[0].length });

  it('flat typed arrays with a column count, typed-array rows and flat number[] give the same value', () => {
    const expected = numeric.dcor2(X, Y);
    expect(numeric.dcor2(flat64(X), flat64(Y))).toBe(expected);
    expect(numeric.dcor2({ data: Float32Array.from(X.flat()), columns: 3 }, { data: Y.flat(), columns: 2 })).toBe(
      expected,
    );
    expect(
      numeric.dcor2(
        X.map((r) => Float32Array.from(r)),
        Y,
      ),
    ).toBe(expected);
  });

  it('a 1-D number[] or typed array is one feature (an n × 1 matrix)', () => {
    const a = X.map((r) => r[0]);
    const b = Y.map((r) => r[1]);
    const asColumn = numeric.dcor(
      a.map((v) => [v]),
      b.map((v) => [v]),
    );
    expect(numeric.dcor(a, b)).toBe(asColumn);
    expect(numeric.dcor(Float32Array.from(a), Float64Array.from(b))).toBe(asColumn);
    expect(numeric.pdcor(a, Y, { data: Z.flat(), columns: 2 })).toBe(
      numeric.pdcor(
        a.map((v) => [v]),
        Y,
        Z,
      ),
    );
  });

  it('float64 values are rounded to float32 as tf.tensor2d rounds them', () => {
    const x = X.map((r) => r.map((v) => v + 1e-9));
    const tx = tf.tensor2d(x);
    const ty = tf.tensor2d(Y);
    expect(numeric.bcdcor(x, Y)).toBe(value(() => bcdcor(tx, ty)));
    tf.dispose([tx, ty]);
  });
});

describe('bad input is an error naming the problem', () => {
  const withEntry = (a: number[][], i: number, j: number, v: unknown) =>
    a.map((r, k) => (k === i ? r.map((x, l) => (l === j ? v : x)) : r)) as number[][];

  it('ragged rows', () => {
    const ragged = X.map((r, i) => (i === 4 ? r.slice(0, 2) : r));
    expect(() => numeric.dcor2(ragged, Y)).toThrow('numeric.dcor2: x is ragged: row 4 has 2 values but row 0 has 3');
  });

  it('example counts that differ', () => {
    expect(() => numeric.pdcor(X, Y, Z.slice(0, 7))).toThrow(
      'numeric.pdcor: x has 10 examples (rows) but z has 7; rows are examples and must match',
    );
    expect(() =>
      numeric.linearCka(
        X.map((r) => r[0]),
        Y.slice(1),
      ),
    ).toThrow('x has 10 examples (rows) but y has 9');
  });

  it('NaN, ±Infinity and values beyond float32, with argument, row and column', () => {
    expect(() => numeric.dcor2(X, withEntry(Y, 6, 1, NaN))).toThrow(
      'numeric.dcor2: y[6][1] is NaN (1 non-finite of 20 entries in y); inputs must be finite',
    );
    expect(() => numeric.linearCka(withEntry(X, 2, 0, -Infinity), Y)).toThrow('x[2][0] is -Infinity');
    expect(() => numeric.bcdcor(X, withEntry(Y, 3, 0, 1e39))).toThrow(
      "y[3][0] is 1e+39, beyond float32's range (the statistics compute in float32)",
    );
    expect(() => numeric.dcor([1, 2, NaN, 4], [1, 2, 3, 4])).toThrow('numeric.dcor: x[2] is NaN');
    expect(() => numeric.dcor({ data: Float64Array.from([1, 2, 3, Infinity]), columns: 2 }, [1, 2])).toThrow(
      'x.data[3] (row 1, column 1) is Infinity',
    );
  });

  it('entries that are not numbers, empty inputs, bad shapes and tensors', () => {
    expect(() => numeric.dcor2(withEntry(X, 1, 2, '0.5'), Y)).toThrow('numeric.dcor2: x[1][2] is string, not a number');
    expect(() => numeric.dcor2(withEntry(X, 1, 2, null), Y)).toThrow('x[1][2] is null, not a number');
    expect(() => numeric.dcor2([...X.slice(0, 9), 5] as number[][], Y)).toThrow('x[9] is number, not a row of numbers');
    expect(() => numeric.dcor2([], Y)).toThrow('numeric.dcor2: x is empty (no examples)');
    expect(() =>
      numeric.dcor2(
        X.map(() => []),
        Y,
      ),
    ).toThrow('x[0] is empty: no features (0 columns)');
    expect(() => numeric.dcor2({ data: [1, 2, 3, 4, 5], columns: 2 }, Y)).toThrow(
      'x.data has 5 values, not a multiple of x.columns = 2',
    );
    expect(() => numeric.dcor2({ data: [1, 2, 3, 4], columns: 0 }, Y)).toThrow(
      'x.columns must be a positive integer, got 0',
    );
    expect(() => numeric.dcor2('abc' as unknown as number[], Y)).toThrow('x must be number[][]');
    const tx = tf.tensor2d(X);
    expect(() => numeric.dcor2(tx as unknown as number[][], Y)).toThrow('x is a tf.Tensor');
    tx.dispose();
  });

  it("the tensor form's own checks still apply (U-statistics need n >= 4)", () => {
    expect(() => numeric.pdcor(X.slice(0, 3), Y.slice(0, 3), Z.slice(0, 3))).toThrow('n = 3 examples is too small');
  });
});

describe('no tensor is left behind', () => {
  it('on success and on errors', () => {
    const calls = [
      () => numeric.dcor(X, Y),
      () => numeric.dcor2(X, Y),
      () => numeric.bcdcor({ data: Float64Array.from(X.flat()), columns: 3 }, Y),
      () => numeric.pdcor(X, Y, Z),
      () => numeric.linearCka(X, Y),
      () => numeric.hsic(X, Y),
      () => numeric.dcorTest(X, Y, { permutations: 9 }),
    ];
    const failing = [
      () => numeric.pdcor(X.slice(0, 3), Y.slice(0, 3), Z.slice(0, 3)), // fails inside the statistic
      () => numeric.dcor2(X, Y.slice(1)),
      () => numeric.dcor2([[NaN], [1]], [[1], [2]]),
    ];
    calls.forEach((f) => f()); // warm-up (backend caches)
    const before = tf.memory().numTensors;
    calls.forEach((f) => f());
    for (const f of failing) expect(f).toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});
