/**
 * A small BatchNorm CNN for the cpu scale of the PDC diverge experiment (and any paper package that
 * needs a network that reaches its Fashion-MNIST plateau in minutes on 2 cores): three stages of
 * conv3×3 (pad 1) → BN → ReLU → max-pool 2, widths nf, 2nf, 4nf (default 32/64/128), global average
 * pool to the 4nf-d 'features' vector (the penultimate layer the DC loss reads, like the CIFAR
 * ResNet-18's pooled 512-d features), a linear 'logits' head. PyTorch default initialisations.
 */
import * as tf from '@tensorflow/tfjs';
import { registerModel, BaseModelOptions } from './registry';
import { SeedSequence, bn, conv, dense, globalAvgPool, maxPool, relu } from './blocks';

function convnet(o: BaseModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters ?? 32;
  const input = tf.input({ shape: o.inputShape });
  let x: tf.SymbolicTensor = input;
  [nf, 2 * nf, 4 * nf].forEach((w, stage) => {
    x = relu(bn(conv(x, seeds, { filters: w, kernel: 3, pad: 1, init: 'torch-default' })));
    x = maxPool(x, 2, 2, 0, stage === 2 ? 'features_conv' : undefined);
  });
  const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(globalAvgPool(x));
  return tf.model({
    inputs: input,
    outputs: dense(features as tf.SymbolicTensor, o.numClasses, seeds, 'logits'),
    name: 'convnet',
  });
}

registerModel({
  name: 'convnet',
  description: '3 x (conv3x3-BN-ReLU-maxpool2), widths nf/2nf/4nf (32/64/128), global average pool, linear head',
  source: 'this repository (the cpu-scale network of pdc-diverge; the pilot in its README)',
  defaults: { nfilters: 32 },
  testOptions: { inputShape: [28, 28, 1], numClasses: 10, nfilters: 4, seed: 1 },
  build: convnet,
});
