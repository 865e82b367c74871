/**
 * loadCheckedModel, the load every command that uses a saved model goes through (eval, transfer,
 * mine, compare): NaN or Inf weights are refused naming the folder and the weight; a topology that
 * does not match its weights names the model.json and the first mismatching weight with both shapes;
 * a model for other images (or classes) is refused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { assertFiniteWeights, createModel, disposeModel, loadCheckedModel, saveModel } from '../src';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-verify-'));
const good = path.join(root, 'good');

/** A copy of the good model with its weights.bin's float `index` set to `value`. */
function withWeight(name: string, index: number, value: number): string {
  const dir = path.join(root, name);
  fs.cpSync(good, dir, { recursive: true });
  const bin = path.join(dir, 'weights.bin');
  const bytes = fs.readFileSync(bin);
  new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)[index] = value;
  fs.writeFileSync(bin, bytes);
  return dir;
}

beforeAll(async () => {
  await initBackend('wasm');
  const m = createModel('plaincnn', { inputShape: [28, 28, 1], numClasses: 2, seed: 1, depth: 6, nfilters: 4 });
  await saveModel(m, good);
  disposeModel(m);
});

it('loads a good model, and checks its inputs and outputs when asked', async () => {
  const before = tf.memory().numTensors;
  const m = await loadCheckedModel(good, { inputShape: [28, 28, 1], numClasses: 2 });
  expect(m.outputs[0].shape).toEqual([null, 2]);
  disposeModel(m);
  await expect(loadCheckedModel(good, { inputShape: [32, 32, 3], data: 'cifar10 test' })).rejects.toThrow(
    `${good}: the model takes [28, 28, 1] inputs but the cifar10 test images are [32, 32, 3]`,
  );
  await expect(loadCheckedModel(good, { numClasses: 10, data: 'fashion-mnist test' })).rejects.toThrow(
    `${good}: the model has 2 outputs but the fashion-mnist test data has 10 classes`,
  );
  expect(tf.memory().numTensors).toBe(before);
});

it.each([
  ['NaN', NaN],
  ['Infinity', Infinity],
])('refuses a model with a %s weight, naming the folder and the weight', async (what, value) => {
  const dir = withWeight(`bad-${what}`, 3, value);
  const before = tf.memory().numTensors;
  await expect(loadCheckedModel(dir)).rejects.toThrow(
    new RegExp(
      `^${dir}: weight torch_conv2d_\\w+/kernel \\[3, 3, 1, 4\\] holds ${what} at index 3 \\(1 non-finite value in the model\\): a diverged or corrupt model`,
    ),
  );
  expect(tf.memory().numTensors).toBe(before);
});

it('assertFiniteWeights counts every non-finite value', () => {
  const m = createModel('plaincnn', { inputShape: [28, 28, 1], numClasses: 2, seed: 1, depth: 6, nfilters: 4 });
  expect(() => assertFiniteWeights(m, 'fresh')).not.toThrow();
  tf.tidy(() => {
    const [kernel, bias] = m.getLayer('logits').getWeights();
    m.getLayer('logits').setWeights([tf.fill(kernel.shape, NaN), bias]);
  });
  expect(() => assertFiniteWeights(m, 'fresh')).toThrow(
    /^fresh: weight logits\/kernel \[16, 2\] holds NaN at index 0 \(32 non-finite values/,
  );
  disposeModel(m);
});

it('a topology that does not match its weights names the model.json and the first mismatching weight', async () => {
  const dir = path.join(root, 'units');
  fs.cpSync(good, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    modelTopology: { config: { layers: Array<{ name: string; config: { units?: number } }> } };
  };
  json.modelTopology.config.layers.find((l) => l.name === 'logits')!.config.units = 10;
  fs.writeFileSync(file, JSON.stringify(json));
  await expect(loadCheckedModel(dir)).rejects.toThrow(
    `${file}: the topology does not match the weights (a model of another architecture?): weight logits/kernel is [16, 10] in the topology but [16, 2] in the weights`,
  );
  // the diagnosis leaves tfjs as it was: a good model still loads
  disposeModel(await loadCheckedModel(good));
  // a weight the topology has no layer for
  const renamed = path.join(root, 'renamed');
  fs.cpSync(good, renamed, { recursive: true });
  const j2 = JSON.parse(fs.readFileSync(path.join(renamed, 'model.json'), 'utf8')) as {
    weightsManifest: Array<{ weights: Array<{ name: string }> }>;
  };
  j2.weightsManifest[0].weights.find((w) => w.name === 'logits/bias')!.name = 'head/bias';
  fs.writeFileSync(path.join(renamed, 'model.json'), JSON.stringify(j2));
  await expect(loadCheckedModel(renamed)).rejects.toThrow(
    /renamed\/model\.json: the topology does not match the weights .*: the weights hold head\/bias \[2\], which no layer of the topology has/,
  );
});

it("loadModel's own errors (a missing folder) keep their message", async () => {
  await expect(loadCheckedModel(path.join(root, 'nope'))).rejects.toThrow(/nope\/model\.json: no model\.json/);
});
