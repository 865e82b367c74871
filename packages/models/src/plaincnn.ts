/**
 * Plain CNNs of a given depth, for distillation across a capacity gap (the DPK rebuttal's "plain-CNN
 * student distilled from 4-, 6-, 8- and 10-layer teachers"): `depth` conv3×3 (pad 1) → BN → ReLU
 * layers in three stages of widths nf, 2nf, 4nf, the first conv with stride 2, a max-pool 2 after
 * stages 1 and 2, global average pool to the 'features' vector, a linear 'logits' head. No residual
 * connections. The depth is split over the stages as evenly as possible, earlier stages first
 * (4 → 2/1/1, 6 → 2/2/2, 8 → 3/3/2, 10 → 4/3/3). Each stage's last ReLU output is named 'stage1',
 * 'stage2', 'stage3' (28×28 input: 14×14, 7×7, 3×3): the maps distillation losses and CKA read. The
 * stride-2 stem keeps the last two stages at 49 and 9 positions, so DPK's token generator (attention
 * over every position) stays affordable on a CPU. PyTorch default initialisations.
 */
import * as tf from '@tensorflow/tfjs';
import { registerModel, BaseModelOptions } from './registry';
import { SeedSequence, Sym, bn, conv, dense, globalAvgPool, maxPool, relu } from './blocks';

export interface PlainCnnOptions extends BaseModelOptions {
  /** Number of conv layers (≥ 3). */
  depth: number;
}

/** Conv layers per stage for a depth: as even as possible, the remainder to the earlier stages. */
export function plainCnnStages(depth: number): [number, number, number] {
  if (!Number.isInteger(depth) || depth < 3) throw new Error(`plaincnn: depth must be an integer >= 3, got ${depth}`);
  const base = Math.floor(depth / 3);
  const rest = depth % 3;
  return [0, 1, 2].map((s) => base + (s < rest ? 1 : 0)) as [number, number, number];
}

function plainCnn(o: PlainCnnOptions): tf.LayersModel {
  const stages = plainCnnStages(o.depth);
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters ?? 32;
  const input = tf.input({ shape: o.inputShape });
  let x: Sym = input;
  [nf, 2 * nf, 4 * nf].forEach((w, s) => {
    for (let k = 0; k < stages[s]; k++)
      x = relu(
        bn(
          conv(x, seeds, { filters: w, kernel: 3, pad: 1, stride: s === 0 && k === 0 ? 2 : 1, init: 'torch-default' }),
        ),
        k === stages[s] - 1 ? `stage${s + 1}` : undefined,
      );
    if (s < 2) x = maxPool(x, 2, 2);
  });
  const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(globalAvgPool(x)) as Sym;
  return tf.model({
    inputs: input,
    outputs: dense(features, o.numClasses, seeds, 'logits'),
    name: `plaincnn${o.depth}`,
  });
}

registerModel<PlainCnnOptions>({
  name: 'plaincnn',
  description:
    'depth x (conv3x3-BN-ReLU) in 3 stages (nf/2nf/4nf, stride-2 stem, max-pool after stages 1-2), no residuals, global average pool, linear head',
  source: 'this repository (the plain CNNs of the DPK rebuttal capacity-gap experiment, zongdaoming/dpk README)',
  defaults: { nfilters: 32, depth: 4 },
  testOptions: { inputShape: [28, 28, 1], numClasses: 10, nfilters: 4, depth: 4, seed: 1 },
  build: plainCnn,
});
