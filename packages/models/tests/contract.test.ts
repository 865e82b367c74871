/**
 * Registry contract tests (the timm pattern): every registered model builds from its test options,
 * runs forward to [batch, classes] without NaN, gives every trainable weight a non-zero gradient,
 * and survives a save/load round trip with identical outputs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { createModel, featureModel, getModelSpec, listModels, loadModel, saveModel } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

it("the registry lists the papers' architectures and rejects unknown names with the list", () => {
  for (const name of ['lenet', 'cifarnet', 'perturb_resnet18', 'noiseresnet18', 'resnet18'])
    expect(listModels()).toContain(name);
  expect(() => createModel('resnet19', { inputShape: [32, 32, 3], numClasses: 10 })).toThrow(
    /unknown model 'resnet19'; known models: .*lenet/,
  );
});

describe.each(listModels().map((n) => [n] as const))('%s', (name) => {
  const spec = getModelSpec(name);
  const opts = spec.testOptions;
  let model: tf.LayersModel;
  let x: tf.Tensor;
  beforeAll(() => {
    model = createModel(name, opts);
    x = tf.randomNormal([2, ...opts.inputShape], 0, 1, 'float32', 5);
  });
  afterAll(() => {
    model.dispose();
    x.dispose();
  });

  it('forward gives [batch, classes] without NaN', () => {
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([2, opts.numClasses]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    y.dispose();
  });

  it('every trainable weight gets a non-zero gradient', () => {
    const r = tf.randomNormal([2, opts.numClasses], 0, 1, 'float32', 6);
    const { grads } = tf.variableGrads(
      () => tf.sum<tf.Scalar>(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)),
      model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
    );
    const zero = Object.entries(grads)
      .filter(([, g]) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0)
      .map(([k]) => k);
    expect(zero).toEqual([]);
    expect(Object.keys(grads).length).toBe(model.trainableWeights.length);
    tf.dispose([r, ...Object.values(grads)]);
  });

  it('a training step leaks no tensors', () => {
    const opt = tf.train.sgd(0.01);
    const step = () =>
      opt
        .minimize(() => tf.mean<tf.Scalar>(tf.square(model.apply(x, { training: true }) as tf.Tensor)), true)!
        .dispose();
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
  });

  it('save and load give identical outputs (custom layers included)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `repro-model-${name}-`));
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
    loaded.dispose();
  });

  it("taps 'features' and 'logits'", () => {
    const fm = featureModel(model, ['features']);
    const outs = fm.predict(x) as tf.Tensor[];
    expect(outs.length).toBe(2);
    expect(outs[0].shape[0]).toBe(2);
    expect(outs[1].shape).toEqual([2, opts.numClasses]);
    tf.dispose(outs);
  });
});

describe('featureModel and loadModel errors', () => {
  it('unknown layer names fail with the valid names', () => {
    const m = createModel('lenet', getModelSpec('lenet').testOptions);
    expect(() => featureModel(m, ['features', 'nope'])).toThrow(/unknown layer\(s\) nope; valid names: .*features/);
    m.dispose();
  });

  it('missing, corrupt or truncated model folders fail naming the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-model-bad-'));
    await expect(loadModel(dir)).rejects.toThrow(/no model.json/);
    const m = createModel('resnet18', getModelSpec('resnet18').testOptions);
    await saveModel(m, dir);
    const bin = path.join(dir, 'weights.bin');
    fs.writeFileSync(bin, fs.readFileSync(bin).subarray(0, 100));
    await expect(loadModel(dir)).rejects.toThrow(/weight shards hold 100 bytes, model.json describes/);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(dir)).rejects.toThrow(/model.json: not valid JSON/);
    m.dispose();
  });
});
