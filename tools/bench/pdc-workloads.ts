/**
 * W5 and W6 of WORKLOADS.md, the pdc-diverge cpu model (convnet 16/32/64 on 28×28×1, 64-d pooled
 * features): W5 one diverge training step of net 2 (cross-entropy + 0.05 · mean row-normalised dCor²
 * to the pooled features of two frozen nets in inference mode), batch 128, SGD momentum 0.9, wd 5e-4;
 * W6 PGD-40 (L∞, ε 0.1, step 0.01, random start, cleverhans semantics) on a batch of 128.
 * The same code the reproduction runs (divergeStep, pgd).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel, featureModel } from '@repro/models';
import { Optimizer, pgd, trainableVariables } from '@repro/experiments';
import { divergeStep } from '@repro/pdc-diverge';
import { Measurement, timed } from './workloads';

const BATCH = 128;
const build = (seed: number) => createModel('convnet', { inputShape: [28, 28, 1], numClasses: 10, nfilters: 16, seed });

function batch(): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return {
    x: tf.randomNormal<tf.Rank.R4>([BATCH, 28, 28, 1], 0, 1, 'float32', 3),
    y: tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % 10),
      'int32',
    ),
  };
}

export function w5(steps = 5): Measurement {
  const [net, c0, c1] = [build(1), build(2), build(3)];
  const tap = featureModel(net, ['features']);
  const opt = new Optimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const vars = trainableVariables(net);
  const b = batch();
  try {
    const s = timed(() => divergeStep(opt, vars, tap, [c0, c1], b, 0.05, 10), 2, steps);
    return {
      workload: 'W5 diverge-step convnet16 b128',
      impl: 'repro-train',
      seconds: s,
      perSecond: BATCH / s,
      unit: 'images/s',
    };
  } finally {
    tf.dispose([b.x, b.y]);
    opt.dispose();
    [net, c0, c1].forEach((m) => m.dispose());
  }
}

export function w6(reps = 2, steps = 40): Measurement {
  const model = build(1);
  const b = batch();
  try {
    const s = timed(
      () => {
        const adv = pgd(model, b.x, 0.1, { stepSize: 0.01, steps, randomStart: true, seed: 1 });
        adv.dataSync();
        adv.dispose();
      },
      1,
      reps,
    );
    return {
      workload: `W6 pgd${steps} convnet16 b128`,
      impl: 'repro-attack',
      seconds: s,
      perSecond: BATCH / s,
      unit: 'images/s',
    };
  } finally {
    tf.dispose([b.x, b.y]);
    model.dispose();
  }
}
