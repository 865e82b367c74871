/**
 * Table 2 statistics (compareFeatures) against the core-metrics functions they are made of, batch by
 * batch; the input checks; the diverge penalty and one diverge step.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@repro/runtime';
import { bcdcor, dcor2, pdcor, semipartialDcor } from '@repro/core-metrics';
import { createModel, featureModel } from '@repro/models';
import { Optimizer, trainableVariables } from '@repro/experiments';
import {
  builtinEmbedding,
  compareFeatures,
  divergePenalty,
  divergeStep,
  FeatureMatrix,
  TABLE2_STATS,
  Table2Stat,
} from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

function features(name: string, rows: number, cols: number, seed: number, labels?: Int32Array): FeatureMatrix {
  const rng = new Rng(seed);
  // class-dependent means so that the statistics are far from 0
  const data = Float32Array.from(
    { length: rows * cols },
    (_, i) => rng.normal() + (labels ? labels[Math.floor(i / cols)] % (1 + (i % 3)) : 0),
  );
  return { data, rows, cols, name };
}

const scalar = (t: tf.Scalar) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

it('averages bcdcor, the semi-partial P_DC and pdcor over batches, each computed as core-metrics does', () => {
  const n = 70;
  const rng = new Rng(3);
  const labels = Int32Array.from({ length: n }, () => rng.int(5));
  const x = features('x', n, 6, 1, labels);
  const y = features('y', n, 4, 2, labels);
  const emb = builtinEmbedding('random:3', 5);
  const res = compareFeatures(x, y, { data: labels, name: 'labels' }, emb, { batchSize: 32 });
  // batches 0-31, 32-63, 64-69 (6 rows >= 4: kept)
  expect(res).toMatchObject({ batches: 3, batchSize: 32, rows: n });
  const expected: Record<Table2Stat, number[]> = {
    r2XGt: [],
    r2YGt: [],
    pdcXgivenY: [],
    pdcYgivenX: [],
    pdcorXgivenY: [],
    pdcorYgivenX: [],
  };
  for (const [s, e] of [
    [0, 32],
    [32, 64],
    [64, 70],
  ]) {
    tf.tidy(() => {
      const bx = tf.tensor2d(x.data.slice(s * 6, e * 6), [e - s, 6]);
      const by = tf.tensor2d(y.data.slice(s * 4, e * 4), [e - s, 4]);
      const gt = tf.tensor2d(
        Array.from(labels.slice(s, e)).flatMap((l) => Array.from(emb.data.slice(l * 3, l * 3 + 3))),
        [e - s, 3],
      );
      expected.r2XGt.push(scalar(bcdcor(bx, gt)));
      expected.r2YGt.push(scalar(bcdcor(by, gt)));
      expected.pdcXgivenY.push(scalar(semipartialDcor(bx, gt, by)));
      expected.pdcYgivenX.push(scalar(semipartialDcor(by, gt, bx)));
      expected.pdcorXgivenY.push(scalar(pdcor(bx, gt, by)));
      expected.pdcorYgivenX.push(scalar(pdcor(by, gt, bx)));
    });
  }
  for (const k of TABLE2_STATS) {
    const v = expected[k];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    expect(res[k].mean).toBeCloseTo(mean, 6);
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
    expect(res[k].sd).toBeCloseTo(sd, 6);
  }
  // the semi-partial differs from the partial (it does not remove Y from GT)
  expect(Math.abs(res.pdcXgivenY.mean - res.pdcorXgivenY.mean)).toBeGreaterThan(1e-4);
});

it('features that hold the labels beat features that do not, in both the plain and the conditioned statistic', () => {
  const n = 128;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  const emb = builtinEmbedding('one-hot', 4);
  // X: the one-hot label plus small noise; Y: noise only
  const rng = new Rng(9);
  const x: FeatureMatrix = {
    data: Float32Array.from(
      { length: n * 4 },
      (_, i) => (labels[Math.floor(i / 4)] === i % 4 ? 1 : 0) + 0.1 * rng.normal(),
    ),
    rows: n,
    cols: 4,
    name: 'x',
  };
  const y = features('y', n, 4, 5);
  const res = compareFeatures(x, y, { data: labels, name: 'labels' }, emb);
  expect(res.r2XGt.mean).toBeGreaterThan(0.8);
  expect(Math.abs(res.r2YGt.mean)).toBeLessThan(0.1);
  expect(res.pdcXgivenY.mean).toBeGreaterThan(0.8);
  expect(Math.abs(res.pdcYgivenX.mean)).toBeLessThan(0.1);
});

it('rejects mismatched rows, labels beyond the embedding, NaN features and bad embeddings, naming the input', () => {
  const labels = { data: Int32Array.from({ length: 10 }, (_, i) => i % 3), name: 'l.npy' };
  const emb = builtinEmbedding('one-hot', 3);
  const x = features('a.npy', 10, 2, 1);
  expect(() => compareFeatures(x, features('b.npy', 9, 2, 2), labels, emb)).toThrow(
    /a\.npy has 10 rows but b\.npy has 9/,
  );
  expect(() => compareFeatures(x, features('b.npy', 10, 2, 2), labels, builtinEmbedding('one-hot', 2))).toThrow(
    /l\.npy: label 2 needs at least 3 classes but the class embedding one-hot has 2 rows/,
  );
  const bad = features('nan.npy', 10, 2, 3);
  bad.data[5] = NaN;
  expect(() => compareFeatures(x, bad, labels, emb)).toThrow(
    /nan\.npy: 1 non-finite value\(s\) \(first NaN at row 2, column 1\)/,
  );
  expect(() =>
    compareFeatures(x, features('b', 10, 2, 2), { data: labels.data.slice(0, 9), name: 'l.npy' }, emb),
  ).toThrow(/l\.npy has 9 labels but a\.npy has 10 rows/);
  expect(() => builtinEmbedding('word2vec', 3)).toThrow(/expected one-hot, random:<dim> or a \.npy file/);
  expect(() =>
    compareFeatures(features('s', 3, 2, 1), features('t', 3, 2, 2), { data: new Int32Array(3), name: 'l' }, emb),
  ).toThrow(/at least 4/);
});

it('the diverge penalty is the mean row-normalised dCor² to the controls, 0 without controls', () => {
  tf.tidy(() => {
    const f = tf.randomNormal<tf.Rank.R2>([16, 5], 0, 1, 'float32', 1);
    const c1 = tf.randomNormal<tf.Rank.R2>([16, 3], 0, 1, 'float32', 2);
    const c2 = tf.add<tf.Tensor2D>(f, tf.randomNormal([16, 5], 0, 0.1, 'float32', 3));
    const want = (scalar(dcor2(f, c1, { rowNormalize: true })) + scalar(dcor2(f, c2, { rowNormalize: true }))) / 2;
    expect(scalar(divergePenalty(f, [c1, c2]))).toBeCloseTo(want, 6);
    expect(scalar(divergePenalty(f, []))).toBe(0);
  });
});

it('a diverge step reports its penalty, changes only its own net (controls frozen) and leaks nothing', () => {
  const opts = { inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, nfilters: 2 };
  const net = createModel('convnet', { ...opts, seed: 1 });
  const control = createModel('convnet', { ...opts, seed: 2 });
  const tap = featureModel(net, ['features']);
  const controlTap = featureModel(control, ['features']);
  const opt = new Optimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const x = tf.randomNormal<tf.Rank.R4>([12, 28, 28, 1], 0, 1, 'float32', 4);
  const y = tf.tensor1d(
    Array.from({ length: 12 }, (_, i) => i % 10),
    'int32',
  );
  const controlBefore = control.getWeights().map((w) => Array.from(w.dataSync()));
  const netBefore = Array.from(net.getWeights()[0].dataSync());
  divergeStep(opt, trainableVariables(net), tap, [controlTap], { x, y }, 0.05, 10); // creates the momentum slots
  const before = tf.memory().numTensors;
  const out = divergeStep(opt, trainableVariables(net), tap, [controlTap], { x, y }, 0.05, 10);
  expect(tf.memory().numTensors).toBe(before);
  expect(Number.isFinite(out.loss) && out.dc > 0 && out.dc <= 1).toBe(true);
  expect(control.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(controlBefore);
  expect(Array.from(net.getWeights()[0].dataSync())).not.toEqual(netBefore);
  tf.dispose([x, y]);
  net.dispose();
  control.dispose();
  opt.dispose();
});
