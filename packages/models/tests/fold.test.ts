/**
 * foldBatchNorm: the folded inference equals the model's own predict (float32 rounding apart) on the
 * registry's architectures, after training steps moved the batch norms' statistics away from their
 * initial values; it frees what it made; shared layers leave the model unfolded.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { createModel, foldBatchNorm, listModels, getModelSpec } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Moves every TorchBatchNorm's running statistics and affine parameters off 0/1. */
function perturbWeights(model: tf.LayersModel, seed: number): void {
  let k = 0;
  for (const l of model.layers)
    if (l.getClassName() === 'TorchBatchNorm')
      l.setWeights(
        tf.tidy(() =>
          l.getWeights().map((w, i) => {
            const r = tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + k++);
            return i === 1 || i === 2 ? tf.sub(r, 1) : r; // beta and the running mean around 0
          }),
        ),
      );
}

describe.each(['resnet18', 'lenet', 'cifarnet', 'resnet20'].filter((n) => listModels().includes(n)))('%s', (name) => {
  it('predicts what the model predicts, with its batch norms folded into the convolutions', () => {
    const opts = getModelSpec(name).testOptions;
    const model = createModel(name, opts);
    perturbWeights(model, 11);
    const x = tf.randomNormal([3, ...opts.inputShape], 0, 1, 'float32', 5);
    const before = tf.memory().numTensors;
    const f = foldBatchNorm(model);
    const [got, want] = [f.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor];
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] / tf.max(tf.abs(want)).dataSync()[0]);
    expect(err).toBeLessThan(1e-4);
    if (name === 'resnet18' || name === 'resnet20') expect(f.folded).toBeGreaterThan(10);
    tf.dispose([got, want]);
    f.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});

it('leaves a model with a shared layer unfolded (its own predict)', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1 });
  const out = tf.layers.add().apply([conv.apply(input) as tf.SymbolicTensor, conv.apply(input) as tf.SymbolicTensor]);
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  const f = foldBatchNorm(model);
  expect(f.folded).toBe(0);
  const x = tf.ones([1, 4, 4, 2]);
  tf.dispose([f.predict(x), x]);
  f.dispose();
  model.dispose();
});
