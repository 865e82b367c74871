/**
 * The distillation losses and DPK's mask rule against hand-computed values, and the attention key
 * mask against the gathered-subset computation it stands for.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@repro/runtime';
import { TransformerBlock } from '@repro/models';
import { dpkMask, dpkMaskRatio, ickdLoss, kdLoss, mgdChannelMask, mgdLoss } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

it('kdLoss is KL(p_t || p_s) at temperature T, summed over classes, averaged over the batch, times T²', () => {
  const s = [
    [1, 2, 0.5],
    [0, -1, 3],
  ];
  const t = [
    [2, 0, 1],
    [1, 1, 1],
  ];
  const T = 4;
  const soft = (v: number[]) => {
    const e = v.map((x) => Math.exp(x / T));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  };
  let want = 0;
  for (let i = 0; i < 2; i++) {
    const ps = soft(s[i]);
    const pt = soft(t[i]);
    want += pt.reduce((a, p, k) => a + p * Math.log(p / ps[k]), 0);
  }
  want = (want / 2) * T * T;
  const got = tf.tidy(() => kdLoss(tf.tensor2d(s), tf.tensor2d(t), T).dataSync()[0]);
  expect(got).toBeCloseTo(want, 5);
  expect(tf.tidy(() => kdLoss(tf.tensor2d(t), tf.tensor2d(t), T).dataSync()[0])).toBeCloseTo(0, 6);
});

it('mgdLoss sums squared errors and divides by the batch; its channel mask drops about λ of the channels', () => {
  const got = tf.tidy(() => mgdLoss(tf.ones([2, 2, 2, 3]), tf.zeros([2, 2, 2, 3])).dataSync()[0]);
  expect(got).toBeCloseTo(12, 6);
  const m = mgdChannelMask(64, 100, 0.15, new Rng(1));
  const zeros = m.dataSync().filter((v) => v === 0).length / 6400;
  m.dispose();
  expect(zeros).toBeGreaterThan(0.12);
  expect(zeros).toBeLessThan(0.18);
});

it('ickdLoss is 0 for the same maps, invariant to a per-example scale (row-normalised Grams), positive otherwise', () => {
  tf.tidy(() => {
    const a = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 1);
    const b = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 2);
    expect(ickdLoss(a, a).dataSync()[0]).toBeCloseTo(0, 6);
    expect(ickdLoss(tf.mul(a, 3), a).dataSync()[0]).toBeCloseTo(0, 5);
    expect(ickdLoss(b, a).dataSync()[0]).toBeGreaterThan(0.01);
  });
});

it('dpkMaskRatio follows engine.py: max(1 − CKA, 0.1), 0.8 when CKA is not finite, <= 0.1 or >= 1', () => {
  const rule = { fallbackRatio: 0.8, minRatio: 0.1 };
  expect(dpkMaskRatio(0.6, rule)).toBeCloseTo(0.4, 12);
  expect(dpkMaskRatio(0.95, rule)).toBeCloseTo(0.1, 12);
  for (const c of [NaN, Infinity, -0.2, 0.1, 1, 1.3]) expect(dpkMaskRatio(c, rule)).toBe(0.8);
});

it('dpkMask masks max(floor(tokens · ratio), 4) positions of each example, at most tokens − 1, seeded', () => {
  const count = (m: tf.Tensor2D) => {
    const d = m.arraySync();
    m.dispose();
    return d.map((row) => row.reduce((a, v) => a + v, 0));
  };
  expect(count(dpkMask(3, 49, 0.5, 4, new Rng(1)))).toEqual([24, 24, 24]);
  expect(count(dpkMask(2, 49, 0.01, 4, new Rng(1)))).toEqual([4, 4]);
  expect(count(dpkMask(2, 9, 0.99, 4, new Rng(1)))).toEqual([8, 8]);
  const a = dpkMask(2, 49, 0.3, 4, new Rng(7));
  const b = dpkMask(2, 49, 0.3, 4, new Rng(7));
  expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  tf.dispose([a, b]);
});

it("a block with keys 'unmasked' gives, at the unmasked tokens, the block's output on those tokens alone", () => {
  const n = 6;
  const keep = [0, 2, 3, 5];
  const x = tf.randomNormal([1, n, 8], 0, 1, 'float32', 3);
  const m = tf.tensor2d([[0, 1, 0, 0, 1, 0]]);
  const masked = new TransformerBlock({ dim: 8, heads: 2, mlpRatio: 2, keys: 'unmasked', seed: 5 });
  const full = masked.apply([x, m]) as tf.Tensor;
  const plain = new TransformerBlock({ dim: 8, heads: 2, mlpRatio: 2, seed: 5 });
  const sub = tf.gather(x, keep, 1);
  plain.apply(sub); // builds the weights
  plain.setWeights(masked.getWeights());
  const alone = plain.apply(sub) as tf.Tensor;
  const got = tf.gather(full, keep, 1);
  expect(tf.max(tf.abs(tf.sub(got, alone))).dataSync()[0]).toBeLessThan(1e-5);
  // and the masked keys do change the result when they are visible
  const open = plain.apply(x) as tf.Tensor;
  expect(tf.max(tf.abs(tf.sub(tf.gather(open, keep, 1), alone))).dataSync()[0]).toBeGreaterThan(1e-3);
  tf.dispose([x, m, full, sub, alone, got, open]);
  masked.dispose();
  plain.dispose();
});
