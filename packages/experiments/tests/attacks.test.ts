/**
 * fgm / pgd against hand-computed cases and invariants: a linear model has a closed-form input
 * gradient of the mean cross-entropy, ∇x_i L = W (softmax(x_i W + b) − e_{y_i}) / n, so FGM is
 * x + ε·sign(that) (L∞) or x + ε·that/‖that‖ (L2); PGD stays in the ε-ball and, on a linear model,
 * never lowers the loss.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { fgm, pgd } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

const N = 6;
const D = 5;
const C = 3;

function linearModel(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [D], units: C, useBias: true })] });
  const w = Array.from({ length: D * C }, (_, i) => Math.sin(1.7 * i + 0.3));
  m.setWeights([tf.tensor2d(w, [D, C]), tf.tensor1d([0.1, -0.2, 0.05])]);
  return m;
}

function batch(): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const x = tf.tensor2d(
    Array.from({ length: N * D }, (_, i) => Math.cos(0.9 * i) * 1.5),
    [N, D],
  );
  return { x, y: tf.tensor1d([0, 1, 2, 1, 0, 2], 'int32') };
}

/** The input gradient of the mean CE of a linear model, by hand (float64). */
function linearGrad(model: tf.LayersModel, x: number[][], y: number[]): number[][] {
  const [wT, bT] = model.getWeights();
  const w = wT.arraySync() as number[][];
  const b = bT.arraySync() as number[];
  return x.map((xi, i) => {
    const z = b.map((bk, k) => bk + xi.reduce((a, v, d) => a + v * w[d][k], 0));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, v) => a + v, 0);
    const p = e.map((v) => v / s);
    return xi.map((_, d) => p.reduce((a, pk, k) => a + w[d][k] * (pk - (k === y[i] ? 1 : 0)), 0) / x.length);
  });
}

const ce = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), model.predict(x) as tf.Tensor).dataSync()[0]);

it('FGM L∞ and L2 on a linear model equal the closed form', () => {
  const model = linearModel();
  const { x, y } = batch();
  const g = linearGrad(model, x.arraySync(), Array.from(y.dataSync()));
  const eps = 0.25;
  const inf = fgm(model, x, eps, { y });
  const expectInf = x.arraySync().map((xi, i) => xi.map((v, d) => v + eps * Math.sign(g[i][d])));
  expect(inf.shape).toEqual(x.shape);
  (inf.arraySync() as number[][]).forEach((row, i) => row.forEach((v, d) => expect(v).toBeCloseTo(expectInf[i][d], 5)));
  const l2 = fgm(model, x, eps, { y, norm: 2 });
  const expectL2 = x.arraySync().map((xi, i) => {
    const n = Math.sqrt(g[i].reduce((a, v) => a + v * v, 0));
    return xi.map((v, d) => v + (eps * g[i][d]) / n);
  });
  (l2.arraySync() as number[][]).forEach((row, i) => row.forEach((v, d) => expect(v).toBeCloseTo(expectL2[i][d], 5)));
  tf.dispose([inf, l2, x, y]);
  model.dispose();
});

it('without y the labels are the model predictions; clipping only when asked', () => {
  const model = linearModel();
  const { x, y } = batch();
  const pred = tf.tidy(() => tf.argMax<tf.Tensor1D>(model.predict(x) as tf.Tensor2D, 1));
  const a = fgm(model, x, 0.3);
  const b = fgm(model, x, 0.3, { y: pred });
  expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  const c = fgm(model, x, 0.3, { y, clipMin: -1, clipMax: 1 });
  const cv = c.dataSync();
  expect(Math.min(...cv)).toBeGreaterThanOrEqual(-1);
  expect(Math.max(...cv)).toBeLessThanOrEqual(1);
  const unclipped = fgm(model, x, 0.3, { y });
  expect(Math.max(...Array.from(unclipped.dataSync()).map(Math.abs))).toBeGreaterThan(1); // inputs reach ±1.5
  tf.dispose([pred, a, b, c, unclipped, x, y]);
  model.dispose();
});

it('PGD stays in the ε-ball, never lowers a linear model loss, and is seeded', () => {
  const model = linearModel();
  const { x, y } = batch();
  for (const norm of ['inf', 2] as const) {
    const eps = 0.2;
    const adv = pgd(model, x, eps, { y, norm, stepSize: 0.05, steps: 10, seed: 3 });
    const diff = tf.tidy(() => tf.sub(adv, x).arraySync() as number[][]);
    for (const row of diff) {
      const size = norm === 'inf' ? Math.max(...row.map(Math.abs)) : Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      expect(size).toBeLessThanOrEqual(eps + 1e-6);
    }
    expect(ce(model, adv, y)).toBeGreaterThanOrEqual(ce(model, x, y));
    const again = pgd(model, x, eps, { y, norm, stepSize: 0.05, steps: 10, seed: 3 });
    expect(Array.from(again.dataSync())).toEqual(Array.from(adv.dataSync()));
    tf.dispose([adv, again]);
  }
  // no random start and no steps: x itself; one step without random start: FGM with stepSize (inside ε)
  const same = pgd(model, x, 0.2, { y, stepSize: 0.05, steps: 0, randomStart: false });
  expect(Array.from(same.dataSync())).toEqual(Array.from(x.dataSync()));
  const one = pgd(model, x, 0.2, { y, stepSize: 0.05, steps: 1, randomStart: false });
  const f = fgm(model, x, 0.05, { y });
  Array.from(one.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(f.dataSync()[i], 6));
  tf.dispose([same, one, f, x, y]);
  model.dispose();
});

it('pgd leaves none of its tensors behind when a step throws', () => {
  const model = linearModel();
  const { x, y } = batch();
  const apply = model.apply.bind(model);
  let calls = 0;
  // the third forward pass (the second attack step) fails
  model.apply = (...args: Parameters<typeof apply>) => {
    if (++calls === 3) throw new Error('step failed');
    return apply(...args);
  };
  // what tfjs's own tf.grad leaves behind when its function throws after making a tensor (its tape)
  const g0 = tf.memory().numTensors;
  expect(() =>
    tf.tidy(() =>
      tf.grad((v: tf.Tensor) => {
        tf.oneHot(tf.tensor1d([0], 'int32'), 2);
        throw new Error(`no ${v.rank}`);
      })(x),
    ),
  ).toThrow(/no 2/);
  const tfjsLeak = tf.memory().numTensors - g0;
  const before = tf.memory().numTensors;
  expect(() => pgd(model, x, 0.1, { y, stepSize: 0.02, steps: 3, seed: 1 })).toThrow(/step failed/);
  expect(tf.memory().numTensors - before).toBe(tfjsLeak); // nothing of pgd's own (the adversarial batch)
  tf.dispose([x, y]);
  model.dispose();
});

it('leaves no tensor behind and rejects bad input by name', () => {
  const model = linearModel();
  const { x, y } = batch();
  const run = () => {
    tf.dispose([fgm(model, x, 0.1), pgd(model, x, 0.1, { stepSize: 0.02, steps: 3, seed: 1 })]);
  };
  run();
  const before = tf.memory().numTensors;
  run();
  expect(tf.memory().numTensors).toBe(before);
  expect(() => fgm(model, x, -0.1)).toThrow(/fgm: eps must be a finite number >= 0, got -0.1/);
  expect(() => fgm(model, x, NaN)).toThrow(/fgm: eps must be/);
  expect(() => fgm(model, x, 0.1, { norm: 1 as unknown as 2 })).toThrow(/fgm: unknown norm '1'/);
  const short = tf.tensor1d([0, 1], 'int32');
  expect(() => pgd(model, x, 0.1, { y: short, stepSize: 0.01, steps: 2 })).toThrow(/pgd: y must be \[6\]/);
  expect(() => pgd(model, x, 0.1, { stepSize: 0.01, steps: 1.5 })).toThrow(/pgd: steps must be an integer/);
  const bad = tf.tensor2d([[NaN, 0, 0, 0, 0]]);
  expect(() => fgm(model, bad, 0.1)).toThrow(/fgm: x contains NaN or Infinity/);
  expect(tf.memory().numTensors).toBe(before + 2);
  tf.dispose([short, bad, x, y]);
  model.dispose();
});
