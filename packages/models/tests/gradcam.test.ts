/**
 * Grad-CAM against its closed form: after 'features_conv' the registered nets pool globally and apply
 * one linear layer, so ∂y_c/∂A_k = W[k, c]/(h·w) at every position and the map is
 * ReLU(Σ_k W[k, c] A_k), resized and scaled to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { createModel, featureModel, gradCam } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

it('equals ReLU(Σ_k W[k, c] A_k) resized and scaled per image, for the predicted and a given class', () => {
  const model = createModel('convnet', { inputShape: [28, 28, 1], numClasses: 10, nfilters: 2, seed: 3 });
  const x = tf.randomNormal<tf.Rank.R4>([3, 28, 28, 1], 0, 1, 'float32', 1);
  const before = tf.memory().numTensors;
  const got = gradCam(model, x, { layer: 'features_conv' });
  const given = gradCam(model, x, { layer: 'features_conv', classIndex: 4 });
  expect(tf.memory().numTensors).toBe(before + 2);
  expect(got.shape).toEqual([3, 28, 28]);
  const expected = (cls: number[]) =>
    tf.tidy(() => {
      const [a, logits] = featureModel(model, ['features_conv']).predict(x) as tf.Tensor[];
      const w = model.getLayer('logits').getWeights()[0]; // [k, classes]
      const c = cls.length ? tf.tensor1d(cls, 'int32') : tf.argMax<tf.Tensor1D>(logits, 1);
      const wc = tf.transpose(tf.gather(w as tf.Tensor2D, c, 1)); // [n, k]
      const cam = tf.relu(tf.sum(tf.mul(a, tf.reshape(wc, [3, 1, 1, -1])), 3, true)) as tf.Tensor4D;
      const up = tf.squeeze(tf.image.resizeBilinear(cam, [28, 28]), [3]);
      return tf.div(up, tf.maximum(tf.max(up, [1, 2], true), 1e-12));
    });
  const e1 = expected([]);
  const e2 = expected([4, 4, 4]);
  expect(tf.max(tf.abs(tf.sub(got, e1))).dataSync()[0]).toBeLessThan(1e-4);
  expect(tf.max(tf.abs(tf.sub(given, e2))).dataSync()[0]).toBeLessThan(1e-4);
  const max = tf.max(got, [1, 2]).dataSync();
  for (const m of max) expect(m === 0 || Math.abs(m - 1) < 1e-6).toBe(true);
  tf.dispose([x, got, given, e1, e2]);
  model.dispose();
});

it('names unknown layers, non-chain layers and bad class indices', () => {
  const model = createModel('resnet8', { inputShape: [32, 32, 3], numClasses: 10, nfilters: 4, seed: 1 });
  const x = tf.zeros<tf.Rank.R4>([1, 32, 32, 3]);
  expect(() => gradCam(model, x, { layer: 'nope' })).toThrow(/unknown layer 'nope'; valid names: /);
  // a layer inside a residual stage: the rest of the network branches
  const inner = model.layers.find((l) => l.getClassName() === 'TorchConv2D')!.name;
  expect(() => gradCam(model, x, { layer: inner })).toThrow(/is not a chain/);
  expect(() => gradCam(model, x, { layer: 'features_conv', classIndex: 10 })).toThrow(
    /classIndex must be an integer in \[0, 9\]/,
  );
  const ok = gradCam(model, x, { layer: 'features_conv' });
  expect(ok.shape).toEqual([1, 32, 32]);
  tf.dispose([x, ok]);
  model.dispose();
});
