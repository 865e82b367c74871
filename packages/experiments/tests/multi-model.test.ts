/**
 * Custom objectives over named features and several models in one loop (the diverge-training shape:
 * net 1 trains with plain cross-entropy, net 2 with cross-entropy + α·dCor² to net 1's detached
 * features), evaluation helpers, and a flat tensor count across training steps.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@repro/runtime';
import { batchCount, batches, loadFashionMnist } from '@repro/datasets';
import { createModel, featureModel } from '@repro/models';
import { dcor2 } from '@repro/core-metrics';
import {
  Optimizer,
  batchAccuraciesPct,
  evaluateClassifier,
  fgsm,
  robustAccuracy,
  smoothedPerEpoch,
  train,
  trainableVariables,
} from '../src';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'fashion-mnist');

beforeAll(async () => {
  await initBackend('wasm');
});

it('trains two nets in turn with a dCor regulariser on named features, leak-free', async () => {
  const ds = loadFashionMnist('train', { dataDir: FIXTURE });
  const test = loadFashionMnist('test', { dataDir: FIXTURE });
  const nets = [1, 2].map((seed) =>
    createModel('lenet', { inputShape: [28, 28, 1], numClasses: 10, nfilters: 6, filterSize: 3, dropout: 0, seed }),
  );
  const taps = nets.map((m) => featureModel(m, ['features']));
  const opts = nets.map(() => new Optimizer({ kind: 'adam', lr: 0.01, weightDecay: 5e-4 }));
  const vars = nets.map((m) => trainableVariables(m));
  const rng = new Rng(4);
  const alpha = 0.5;
  const counts: number[] = [];
  const dcSeen: number[] = [];
  const result = await train({
    label: 'diverge',
    models: nets,
    optimizers: opts,
    epochs: 3,
    stepsPerEpoch: batchCount(ds, { batchSize: 50 }) * 2,
    // each batch is used by net 0, then by net 1 (nets trained in turn)
    batches: function* (e) {
      for (const b of batches(ds, { batchSize: 50, shuffle: rng.fork(`s${e}`) })) {
        yield { b, net: 0, last: false };
        yield { b, net: 1, last: true };
      }
    },
    step: ({ b, net }): { loss: number } & Record<string, number> => {
      const oneHot = tf.oneHot(b.y, 10);
      try {
        if (net === 0) {
          return {
            loss: opts[0].step(vars[0], () =>
              tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
                oneHot,
                nets[0].apply(b.x, { training: true }) as tf.Tensor,
              ),
            ),
          };
        }
        const control = tf.tidy(() => (taps[0].predict(b.x) as tf.Tensor[])[0] as tf.Tensor2D); // detached
        let dc = NaN;
        const loss = opts[1].step(vars[1], () => {
          const [feat, logits] = taps[1].apply(b.x, { training: true }) as tf.Tensor[];
          const d = dcor2(feat as tf.Tensor2D, control);
          dc = d.dataSync()[0]!;
          return tf.add<tf.Scalar>(tf.losses.softmaxCrossEntropy(oneHot, logits), tf.mul(alpha, d));
        });
        control.dispose();
        dcSeen.push(dc);
        counts.push(tf.memory().numTensors);
        return { loss, dcor2: dc };
      } finally {
        oneHot.dispose();
      }
    },
    disposeBatch: ({ b, last }) => {
      if (last) tf.dispose([b.x, b.y]);
    },
    evaluate: () => ({
      acc0: evaluateClassifier(nets[0], test, { batchSize: 50 }).accuracy,
      acc1: evaluateClassifier(nets[1], test, { batchSize: 50 }).accuracy,
    }),
    stream: { write: () => true },
  });
  expect(result.history).toHaveLength(3);
  // both nets learn: the training loss falls and test accuracy is above chance (0.1); after 18 steps
  // BatchNorm's running statistics (momentum 0.1) are still settling, so inference accuracy is modest
  expect(result.history[2].acc0).toBeGreaterThan(0.15);
  expect(result.history[2].acc1).toBeGreaterThan(0.15);
  expect(result.history[2].trainLoss).toBeLessThan(result.history[0].trainLoss);
  expect(dcSeen.every((v) => v >= 0 && v <= 1)).toBe(true);
  // the tensor count is flat from step to step (after the first epoch's optimizer slots exist)
  const late = counts.slice(counts.length / 2);
  expect(new Set(late).size).toBe(1);
  // robust accuracy: with eps 0 it is the clean accuracy; FGSM moves each pixel by exactly ±eps
  const clean = evaluateClassifier(nets[0], test, { batchSize: 50 }).accuracy;
  expect(robustAccuracy(nets[0], test, fgsm(0), { batchSize: 50 })).toBe(clean);
  const [b] = batches(test, { batchSize: 8 });
  const adv = fgsm(0.3)(nets[0], b.x, b.y, 10);
  const moved = tf.tidy(() => tf.abs(tf.sub(adv, b.x)).dataSync());
  expect(Math.max(...moved)).toBeCloseTo(0.3, 5);
  tf.dispose([adv, b.x, b.y]);
});

it('the smoothed metric is carried over epochs and skips partial batches', () => {
  const a = Uint8Array.from({ length: 25 }, (_, i) => i % 2);
  expect(batchAccuraciesPct(a, 10)).toEqual([50, 50]);
  const [e1, e2] = smoothedPerEpoch([a, Uint8Array.from({ length: 25 }, () => 1)], { batchSize: 10 });
  expect(e1).toBeCloseTo(0.7 * 15 + 0.3 * 50, 10);
  expect(e2).toBeCloseTo(0.7 * (0.7 * e1 + 30) + 30, 10);
});
