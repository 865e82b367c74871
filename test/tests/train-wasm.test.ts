/**
 * The foundation's end-to-end check: after initBackend() on this machine, a small conv net
 * (conv, BN, ReLU, pool, dense) trains on the Fashion-MNIST fixture and its loss falls, and a
 * training step leaks no tensors.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@repro/runtime';
import { batches, loadFashionMnist } from '@repro/datasets';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'fashion-mnist');

function smallConvNet(seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const init = () => tf.initializers.heNormal({ seed: rng.seedInt() });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: init() }),
    ],
  });
}

function step(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): number {
  const cost = opt.minimize(
    () =>
      tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
        tf.oneHot(y, 10),
        model.apply(x, { training: true }) as tf.Tensor,
      ),
    true,
  )!;
  const v = cost.dataSync()[0];
  cost.dispose();
  return v;
}

describe('training on the chosen backend', () => {
  it('initBackend() picks a training-capable backend here, and a small conv net learns the fixture', async () => {
    const info = await initBackend();
    expect(['tensorflow', 'wasm']).toContain(info.name);
    expect(info.tfjsVersion).toBe('4.22.0');
    const ds = loadFashionMnist('train', { dataDir: FIXTURE });
    const model = smallConvNet(1);
    const opt = tf.train.adam(0.01);
    const rng = new Rng(3);
    const epochLoss: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) {
      let sum = 0;
      let n = 0;
      for (const b of batches(ds, { batchSize: 50, shuffle: rng.fork(`epoch${epoch}`) })) {
        sum += step(model, opt, b.x, b.y) * b.indices.length;
        n += b.indices.length;
        tf.dispose([b.x, b.y]);
      }
      epochLoss.push(sum / n);
    }
    // ln(10) = 2.30 at chance; a learning net is far below it after 6 epochs of 300 images
    expect(epochLoss[0]).toBeGreaterThan(epochLoss[5] * 1.5);
    expect(epochLoss[5]).toBeLessThan(1.0);

    // a training step leaks nothing (after the optimizer's slots exist)
    const [b] = batches(ds, { batchSize: 50 });
    step(model, opt, b.x, b.y);
    const before = tf.memory().numTensors;
    step(model, opt, b.x, b.y);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b.x, b.y]);
    model.dispose();
    opt.dispose();
  });

  it('an unknown backend name fails with the valid list', async () => {
    await expect(initBackend('gpu' as never)).rejects.toThrow(
      /unknown backend 'gpu'; valid: auto, tensorflow, wasm, cpu/,
    );
  });

  it("explicit 'tensorflow' fails clearly where tfjs-node is not installed", async () => {
    let hasNode = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      hasNode = false;
    }
    if (hasNode) return; // nothing to check on a machine where it installed
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/,
    );
  });
});
