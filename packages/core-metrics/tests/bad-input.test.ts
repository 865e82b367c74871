/**
 * Bad numbers are errors, never silent values: every exported statistic rejects NaN and ±Infinity
 * with an error naming the function and the argument, rejects empty input, and gives a finite value
 * (never NaN) for a constant column.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import {
  MinibatchCka,
  accuracy,
  bcdcor,
  dcor,
  dcor2,
  dcorTest,
  dcov2,
  dcovU,
  distanceMatrix,
  gram,
  hsic,
  hsicBiasedFromGrams,
  hsicUnbiasedFromGrams,
  infoNce,
  linearCka,
  mine,
  pdcor,
  pdcov,
  rbfCka,
  semipartialDcor,
  smoothedAccuracy,
  smoothedAccuracyTrace,
  uCentreGram,
} from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

const N = 12;
const fine = (seed: number, p = 3) => tf.randomNormal<tf.Rank.R2>([N, p], 0, 1, 'float32', seed);
/** A copy of `fine(seed)` with entry (row 5, column 1) set to `v`. */
function poisoned(seed: number, v: number): tf.Tensor2D {
  const a = fine(seed);
  const d = a.arraySync();
  a.dispose();
  d[5][1] = v;
  return tf.tensor2d(d);
}
const toNumber = (out: unknown): number => {
  if (out instanceof tf.Tensor) {
    const v = out.dataSync()[0];
    out.dispose();
    return v;
  }
  return out as number;
};

type Stat = { name: string; args: number; call: (a: tf.Tensor2D[]) => unknown; argNames: string[] };
const tiny = { iterations: 3, hidden: 8, batchSize: 8 };
const STATS: Stat[] = [
  { name: 'dcov2', args: 2, argNames: ['x', 'y'], call: ([x, y]) => dcov2(x, y) },
  { name: 'dcor', args: 2, argNames: ['x', 'y'], call: ([x, y]) => dcor(x, y) },
  { name: 'dcor2', args: 2, argNames: ['x', 'y'], call: ([x, y]) => dcor2(x, y) },
  { name: 'dcor2', args: 2, argNames: ['x', 'y'], call: ([x, y]) => dcor2(x, y, { rowNormalize: true }) },
  { name: 'dcovU', args: 2, argNames: ['x', 'y'], call: ([x, y]) => dcovU(x, y) },
  { name: 'bcdcor', args: 2, argNames: ['x', 'y'], call: ([x, y]) => bcdcor(x, y) },
  { name: 'pdcov', args: 3, argNames: ['x', 'y', 'z'], call: ([x, y, z]) => pdcov(x, y, z) },
  { name: 'pdcor', args: 3, argNames: ['x', 'y', 'z'], call: ([x, y, z]) => pdcor(x, y, z) },
  { name: 'semipartialDcor', args: 3, argNames: ['x', 'y', 'z'], call: ([x, y, z]) => semipartialDcor(x, y, z) },
  {
    name: 'dcorTest',
    args: 2,
    argNames: ['x', 'y'],
    call: ([x, y]) => dcorTest(x, y, { permutations: 5, seed: 1 }).statistic,
  },
  { name: 'hsic', args: 2, argNames: ['x', 'y'], call: ([x, y]) => hsic(x, y) },
  {
    name: 'hsic',
    args: 2,
    argNames: ['x', 'y'],
    call: ([x, y]) => hsic(x, y, { kernel: 'rbf', estimator: 'unbiased' }),
  },
  { name: 'linearCka', args: 2, argNames: ['x', 'y'], call: ([x, y]) => linearCka(x, y) },
  { name: 'linearCka', args: 2, argNames: ['x', 'y'], call: ([x, y]) => linearCka(x, y, { debiased: true }) },
  { name: 'rbfCka', args: 2, argNames: ['x', 'y'], call: ([x, y]) => rbfCka(x, y) },
  { name: 'gram', args: 1, argNames: ['x'], call: ([x]) => tf.tidy(() => tf.sum(gram(x, 'rbf'))) },
  { name: 'distanceMatrix', args: 1, argNames: ['x'], call: ([x]) => tf.tidy(() => tf.sum(distanceMatrix(x))) },
  {
    name: 'MinibatchCka.update',
    args: 2,
    argNames: ['featuresA[0]', 'featuresB[0]'],
    call: ([x, y]) => {
      const m = new MinibatchCka();
      m.update([x], [y]);
      return m.result()[0][0];
    },
  },
  { name: 'mine', args: 2, argNames: ['x', 'y'], call: ([x, y]) => mine(x, y, { ...tiny, seed: 1 }).estimate },
  { name: 'infoNce', args: 2, argNames: ['x', 'y'], call: ([x, y]) => infoNce(x, y, { ...tiny, seed: 1 }).estimate },
];

/** Gram-level functions take n×n matrices. */
const gramOf = (x: tf.Tensor2D) => tf.tidy<tf.Tensor2D>(() => tf.matMul(x, x, false, true));
const GRAM_STATS: Stat[] = [
  { name: 'hsicBiasedFromGrams', args: 2, argNames: ['k', 'l'], call: ([k, l]) => hsicBiasedFromGrams(k, l) },
  { name: 'hsicUnbiasedFromGrams', args: 2, argNames: ['k', 'l'], call: ([k, l]) => hsicUnbiasedFromGrams(k, l) },
  { name: 'uCentreGram', args: 1, argNames: ['k'], call: ([k]) => tf.tidy(() => tf.sum(uCentreGram(k))) },
];

describe.each([...STATS, ...GRAM_STATS].map((s, i) => [`${s.name} #${i}`, s] as const))('%s', (_label, s) => {
  const isGram = GRAM_STATS.includes(s);
  const make = (seed: number) => (isGram ? gramOf(fine(seed)) : fine(seed));

  it.each([NaN, Infinity, -Infinity])('rejects %s in each argument, naming the function and the argument', (bad) => {
    for (let pos = 0; pos < s.args; pos++) {
      const args = Array.from({ length: s.args }, (_, k) => {
        if (k !== pos) return make(k + 1);
        if (!isGram) return poisoned(k + 1, bad);
        const g = make(k + 1);
        const d = g.arraySync();
        g.dispose();
        d[5][1] = bad;
        d[1][5] = bad;
        return tf.tensor2d(d);
      });
      const before = tf.memory().numTensors;
      expect(() => s.call(args)).toThrow(
        new RegExp(`${s.name.replace('.', '\\.')}: ${s.argNames[pos].replace(/[[\]]/g, '\\$&')} contains ${bad}`),
      );
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(args);
    }
  });

  it('gives a finite value for a constant column', () => {
    const args = Array.from({ length: s.args }, (_, k) => {
      const x = fine(k + 1);
      const d = x.arraySync();
      x.dispose();
      for (const row of d) row[0] = 2.5;
      const t = tf.tensor2d(d);
      return isGram ? gramOf(t) : t;
    });
    expect(Number.isFinite(toNumber(s.call(args)))).toBe(true);
    tf.dispose(args);
  });

  it('rejects empty input', () => {
    const empty = isGram ? tf.zeros<tf.Rank.R2>([0, 0]) : tf.zeros<tf.Rank.R2>([0, 3]);
    expect(() => s.call(Array.from({ length: s.args }, () => empty))).toThrow(
      new RegExp(`${s.name.replace('.', '\\.')}.*(too small|no examples)`),
    );
    if (!isGram) {
      const noColumns = tf.zeros<tf.Rank.R2>([N, 0]);
      expect(() => s.call(Array.from({ length: s.args }, () => noColumns))).toThrow(
        /0 columns|no features|shape \[12,0\]/,
      );
      noColumns.dispose();
    }
    empty.dispose();
  });
});

describe('accuracy and the smoothed metric', () => {
  it('accuracy rejects NaN / Infinity logits', () => {
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const logits = poisoned(1, bad);
      expect(() => accuracy(logits, labels)).toThrow(new RegExp(`accuracy: logits contains ${bad}`));
      logits.dispose();
    }
    expect(() => accuracy(tf.zeros<tf.Rank.R2>([0, 3]), tf.zeros<tf.Rank.R1>([0], 'int32'))).toThrow(/no examples/);
    labels.dispose();
  });

  it('smoothedAccuracy rejects non-finite batch accuracies and initial values', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => smoothedAccuracy([80, bad, 70])).toThrow(
        new RegExp(`smoothedAccuracy: batchAccuracies\\[1\\] is ${bad}`),
      );
      expect(() => smoothedAccuracyTrace([80, 70], { initial: bad })).toThrow(/initial/);
    }
    expect(smoothedAccuracy([])).toBe(0);
  });
});
