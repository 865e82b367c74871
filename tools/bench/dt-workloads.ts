/**
 * W8 (dt-tradeoff-ctc): one MINE iteration at the reference code's size, and one CTC stage-2
 * training step of the cpu model. See WORKLOADS.md; the peers are in peers/peer_torch.py.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';
import { mine } from '@repro/core-metrics';
import { createModel, disposeModel, featureModel } from '@repro/models';
import { Optimizer, trainableVariables } from '@repro/experiments';
import {
  CTC_TRANSFERABILITY,
  CtcParts,
  Linear,
  contrastIndices,
  ctcStage2Step,
  memoryBank,
  negativesByClass,
} from '@repro/dt-tradeoff-ctc';
import { Measurement, timed } from './workloads';

/**
 * W8a: MINE's statistics network 1024-1024-1024-1 on [X (3072), T (512)], batch 500 joint + 500
 * marginal rows, Adam: seconds per iteration, as the difference of two estimates of k and k + reps
 * iterations (the split, the initialisation and the held-out evaluation cancel out).
 */
export function w8a(reps = 10, hidden = 1024, p = 3072, q = 512): Measurement {
  const n = 1250; // 1000 training rows, 250 held out
  const x = tf.randomNormal<tf.Rank.R2>([n, p], 0, 1, 'float32', 1);
  const y = tf.randomNormal<tf.Rank.R2>([n, q], 0, 1, 'float32', 2);
  const opts = { hidden, batchSize: 500, learningRate: 8e-5, seed: 1 };
  const t = (iterations: number) => timed(() => void mine(x, y, { ...opts, iterations }), 0, 1);
  t(2); // warm-up
  const s = Math.max(1e-9, (t(2 + reps) - t(2)) / reps);
  tf.dispose([x, y]);
  return {
    workload: `W8a MINE iteration hidden ${hidden} batch 500 in ${p}+${q}`,
    impl: 'repro-mine-train',
    seconds: s,
    perSecond: 1 / s,
    unit: 'iterations/s',
  };
}

/**
 * W8b: one CTC stage-2 step of the cpu model (plaincnn depth 6 width 16 on 28×28×1, batch 128): the
 * snapshot's features (inference), the network's forward and backward with CE + NCE against two
 * 6,000 × 128 memories with K = 1024 other-class negatives, SGD momentum, both memory updates.
 */
export function w8b(reps = 5, nData = 6000, k = 1024, batch = 128): Measurement {
  const shape: [number, number, number] = [28, 28, 1];
  const build = (seed: number) =>
    createModel('plaincnn', { inputShape: shape, numClasses: 2, nfilters: 16, depth: 6, seed } as never);
  const model = build(1);
  const snapshot = build(2);
  const rng = new Rng(3);
  const fm = featureModel(model, ['features']);
  const parts: CtcParts = {
    features: fm,
    snapshotFeatures: featureModel(snapshot, ['features']),
    projector: new Linear(64, 128, rng.fork('p'), 'w8_projector'),
    embedS: new Linear(64, 128, rng.fork('s'), 'w8_embed'),
    embedT: new Linear(64, 128, rng.fork('t'), 'w8_embed_bank'),
    instanceMemory: memoryBank(nData, 128, rng.fork('i'), 'w8_instance_memory'),
    memoryV1: memoryBank(nData, 128, rng.fork('v1'), 'w8_memory_v1'),
    memoryV2: memoryBank(nData, 128, rng.fork('v2'), 'w8_memory_v2'),
    z: tf.tidy(() => tf.variable(tf.tensor1d([-1, -1]), false, 'w8_z')),
    nData,
  };
  const labels = Int32Array.from({ length: nData }, (_, i) => i % 2);
  const negatives = negativesByClass(labels, 2);
  const opt = new Optimizer({ kind: 'sgd', lr: 0.005, momentum: 0.9, weightDecay: 5e-4 });
  const vars = [...trainableVariables(model), ...parts.embedS.variables, ...parts.embedT.variables];
  const weights = { ...CTC_TRANSFERABILITY, nceK: k };
  const x = tf.randomNormal<tf.Rank.R4>([batch, ...shape], 0, 1, 'float32', 4);
  const y1h = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Int32Array.from({ length: batch }, (_, i) => i % 2),
        'int32',
      ),
      2,
    ),
  );
  let step = 0;
  const s = timed(
    () => {
      const indices = rng.fork(`batch-${step}`).permutation(nData).slice(0, batch);
      const idx = contrastIndices(indices, labels, negatives, k, rng.fork(`contrast-${step++}`));
      ctcStage2Step(parts, weights, opt, vars, x, y1h, indices, idx);
    },
    2,
    reps,
  );
  tf.dispose([x, y1h, parts.instanceMemory, parts.memoryV1, parts.memoryV2, parts.z]);
  [parts.projector, parts.embedS, parts.embedT].forEach((l) => l.dispose());
  opt.dispose();
  disposeModel(model);
  disposeModel(snapshot);
  return {
    workload: `W8b CTC stage-2 step plaincnn6-nf16 28x28x1 b${batch} K=${k} n=${nData}`,
    impl: 'repro-ctc-train',
    seconds: s,
    perSecond: batch / s,
    unit: 'images/s',
  };
}
