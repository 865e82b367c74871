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

/** A workload's one step (timed or profiled) and the disposal of everything it made. */
export interface StepWorkload {
  name: string;
  step: () => void;
  dispose: () => void;
}

export function w5Workload(): StepWorkload {
  const [net, c0, c1] = [build(1), build(2), build(3)];
  const [tap, t0, t1] = [net, c0, c1].map((m) => featureModel(m, ['features']));
  const opt = new Optimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const vars = trainableVariables(net);
  const b = batch();
  return {
    name: 'W5 diverge-step convnet16 b128',
    step: () => void divergeStep(opt, vars, tap, [t0, t1], b, 0.05, 10),
    dispose: () => {
      tf.dispose([b.x, b.y]);
      opt.dispose();
      [net, c0, c1].forEach((m) => m.dispose());
    },
  };
}

export function w6Workload(steps = 40): StepWorkload {
  const model = build(1);
  const b = batch();
  return {
    name: `W6 pgd${steps} convnet16 b128`,
    step: () => {
      const adv = pgd(model, b.x, 0.1, { stepSize: 0.01, steps, randomStart: true, seed: 1 });
      adv.dataSync();
      adv.dispose();
    },
    dispose: () => {
      tf.dispose([b.x, b.y]);
      model.dispose();
    },
  };
}

export function w5(steps = 5): Measurement {
  const w = w5Workload();
  try {
    const s = timed(w.step, 2, steps);
    return { workload: w.name, impl: 'repro-train', seconds: s, perSecond: BATCH / s, unit: 'images/s' };
  } finally {
    w.dispose();
  }
}

export function w6(reps = 2, steps = 40): Measurement {
  const w = w6Workload(steps);
  try {
    const s = timed(w.step, 1, reps);
    return { workload: w.name, impl: 'repro-attack', seconds: s, perSecond: BATCH / s, unit: 'images/s' };
  } finally {
    w.dispose();
  }
}
