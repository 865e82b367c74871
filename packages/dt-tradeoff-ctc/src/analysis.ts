/**
 * What the temporal analysis measures at one checkpoint:
 * - discriminability: source test accuracy;
 * - transferability: a linear probe on the target task, under two protocols side by side:
 *   'repo'   as transfer.py runs it: the backbone frozen but in training mode, so BatchNorm normalises
 *            with batch statistics and re-estimates its running statistics on the target data (which
 *            evaluation then uses), and the reported value is the best evaluation accuracy over the probe
 *            epochs (a maximum over epochs on the evaluation split);
 *   'strict' BatchNorm frozen (inference mode, the source statistics), features computed once and
 *            standardised with the probe-training split's mean and standard deviation (without it, lr
 *            0.4 diverges on the unnormalised features of an untrained network), the value after the
 *            last probe epoch;
 *   both with transfer.py's optimiser: SGD (lr 0.4, momentum 0.9, weight decay 5e-4) on a new linear
 *   head, cosine annealing over the probe epochs, batches of 512;
 * - MINE estimates of I(X;T), I(T;Y_source) and I(T;Y_target) on held-out source images (X the
 *   normalised input, average-pooled; T the pooled feature; Y one-hot), with the same settings and
 *   seed at every checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';
import { ImageDataset, batches } from '@repro/datasets';
import { featureModel } from '@repro/models';
import { ConvergenceVerdict, NeuralMiResult, mine, miOverSeeds, windowedCurve } from '@repro/core-metrics';
import { Optimizer } from '@repro/experiments';
import { Linear } from './ctc';
import type { MineSettings, ProbeConfig } from './runs';

export type Normalize = { mean: readonly number[]; std: readonly number[] };
export type ProbeProtocol = 'repo' | 'strict';
export const PROBE_PROTOCOLS: readonly ProbeProtocol[] = ['repo', 'strict'];
export const FEATURE_LAYER = 'features';

export interface ProbeResult {
  protocol: ProbeProtocol;
  /** Evaluation accuracy (%) after each probe epoch. */
  curvePct: number[];
  /** What the protocol reports: repo = the best over epochs, strict = the last epoch. */
  reportedPct: number;
  bestPct: number;
  /** 1-based probe epoch of the best accuracy. */
  bestEpoch: number;
  lastPct: number;
}

/** The probe's learning rate at probe epoch e (0-based): CosineAnnealingLR(T_max = epochs), stepped per epoch. */
export function probeLr(cfg: ProbeConfig, e: number): number {
  return 0.5 * cfg.lr * (1 + Math.cos((Math.PI * e) / cfg.epochs));
}

function checkTarget(train: ImageDataset, test: ImageDataset, numClasses: number): void {
  for (const ds of [train, test])
    if (ds.numClasses !== numClasses)
      throw new Error(
        `probe: ${ds.name}/${ds.split} has ${ds.numClasses} classes but the probe was asked for ${numClasses} (--num-classes)`,
      );
}

/** Features [n, f] of a dataset in inference mode (BN with its running statistics). */
export function inferenceFeatures(
  model: tf.LayersModel,
  ds: ImageDataset,
  normalize: Normalize,
  batchSize = 500,
): tf.Tensor2D {
  const fm = featureModel(model, [FEATURE_LAYER]);
  const parts: tf.Tensor2D[] = [];
  for (const b of batches(ds, { batchSize, normalize })) {
    parts.push(tf.tidy(() => (fm.predict(b.x) as tf.Tensor[])[0] as tf.Tensor2D));
    tf.dispose([b.x, b.y]);
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

function accuracyPct(logits: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.tidy(() => 100 * tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')).dataSync()[0]);
}

function standardizedFeatures(model: tf.LayersModel, train: ImageDataset, test: ImageDataset, normalize: Normalize) {
  const fTrain = inferenceFeatures(model, train, normalize);
  const fTest = inferenceFeatures(model, test, normalize);
  const [zTrain, zTest] = tf.tidy(() => {
    const { mean, variance } = tf.moments(fTrain, 0);
    const sd = tf.add(tf.sqrt(variance), 1e-6);
    return [tf.div(tf.sub(fTrain, mean), sd), tf.div(tf.sub(fTest, mean), sd)] as tf.Tensor2D[];
  });
  tf.dispose([fTrain, fTest]);
  return {
    train: zTrain,
    test: zTest,
    yTrain: tf.tensor1d(train.labels, 'int32'),
    yTest: tf.tensor1d(test.labels, 'int32'),
  };
}

/**
 * A linear probe of `model`'s pooled feature on a target task. The 'repo' protocol changes the
 * model's BatchNorm running statistics (it re-estimates them on the target data, as transfer.py
 * does): give it a model you do not need afterwards.
 */
export function linearProbe(
  model: tf.LayersModel,
  train: ImageDataset,
  test: ImageDataset,
  o: { protocol: ProbeProtocol; config: ProbeConfig; normalize: Normalize; numClasses: number; seed: number },
): ProbeResult {
  checkTarget(train, test, o.numClasses);
  const cfg = o.config;
  const rng = new Rng(o.seed);
  const fm = featureModel(model, [FEATURE_LAYER]);
  const featDim = (fm.outputs[0].shape as number[])[1];
  const head = new Linear(featDim, o.numClasses, rng.fork('head'), `probe_${o.protocol}_${o.seed}`);
  const opt = new Optimizer({ kind: 'sgd', lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const curvePct: number[] = [];
  const cached = o.protocol === 'strict' ? standardizedFeatures(model, train, test, o.normalize) : undefined;
  try {
    for (let e = 0; e < cfg.epochs; e++) {
      opt.setLearningRate(probeLr(cfg, e));
      const shuffle = rng.fork(`epoch-${e}`);
      if (cached) {
        const perm = shuffle.permutation(train.size);
        for (let s = 0; s < train.size; s += cfg.batchSize) {
          const idx = tf.tensor1d(perm.slice(s, s + cfg.batchSize), 'int32');
          opt.step(head.variables, () =>
            tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
              tf.oneHot(tf.gather(cached.yTrain, idx), o.numClasses),
              head.apply(tf.gather(cached.train, idx)),
            ),
          );
          idx.dispose();
        }
        curvePct.push(tf.tidy(() => accuracyPct(head.apply(cached.test), cached.yTest)));
      } else {
        for (const b of batches(train, { batchSize: cfg.batchSize, shuffle, normalize: o.normalize })) {
          opt.step(head.variables, () => {
            // training: true — BN uses batch statistics and updates its running statistics (transfer.py net.train())
            const f = (fm.apply(b.x, { training: true }) as tf.Tensor[])[0] as tf.Tensor2D;
            return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(tf.oneHot(b.y, o.numClasses), head.apply(f));
          });
          tf.dispose([b.x, b.y]);
        }
        const f = inferenceFeatures(model, test, o.normalize);
        const y = tf.tensor1d(test.labels, 'int32');
        curvePct.push(tf.tidy(() => accuracyPct(head.apply(f), y)));
        tf.dispose([f, y]);
      }
    }
  } finally {
    head.dispose();
    opt.dispose();
    if (cached) tf.dispose([cached.train, cached.test, cached.yTrain, cached.yTest]);
  }
  const bestPct = Math.max(...curvePct);
  const lastPct = curvePct[curvePct.length - 1];
  return {
    protocol: o.protocol,
    curvePct,
    reportedPct: o.protocol === 'repo' ? bestPct : lastPct,
    bestPct,
    bestEpoch: curvePct.indexOf(bestPct) + 1,
    lastPct,
  };
}

/** One MINE estimate as a run record keeps it: the values, the verdict and the training curve. */
export interface MineSummary {
  estimate: number;
  heldOut: number;
  verdict: ConvergenceVerdict;
  plateaued: boolean;
  overfitGap: number;
  iterations: number;
  /** [iteration, windowed training value] every iterations/30. */
  curve: Array<[number, number]>;
}

export function summarizeMine(r: NeuralMiResult): MineSummary {
  const every = Math.max(1, Math.floor(r.iterations / 30));
  return {
    estimate: r.estimate,
    heldOut: r.heldOut,
    verdict: r.verdict,
    plateaued: r.plateaued,
    overfitGap: r.overfitGap,
    iterations: r.iterations,
    curve: windowedCurve(r.history, Math.max(1, Math.min(500, Math.floor(r.iterations / 5))), every),
  };
}

/** MINE's inputs at a checkpoint: X [n, d] (pooled pixels), T [n, f] and the one-hot labels. */
export interface MineInputs {
  x: tf.Tensor2D;
  t: tf.Tensor2D;
  ySource: tf.Tensor2D;
  yTarget?: tf.Tensor2D;
}

/** X = the normalised images average-pooled by `pool` and flattened (the model-independent part). */
export function pooledInputs(ds: ImageDataset, normalize: Normalize, pool: number): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (const b of batches(ds, { batchSize: 500, normalize })) {
    parts.push(
      tf.tidy(() => {
        const p = pool > 1 ? tf.avgPool(b.x, pool, pool, 'valid') : b.x;
        return tf.reshape<tf.Rank.R2>(p, [p.shape[0], -1]);
      }),
    );
    tf.dispose([b.x, b.y]);
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

export type MineMode = 'xt' | 'ty-source' | 'ty-target';

/** The estimate of one mode, with the mode's settings (mine.py: one network, input [a, b]). */
export function mineEstimate(inp: MineInputs, mode: MineMode, s: MineSettings, seed: number): MineSummary {
  const [a, b] = pair(inp, mode);
  return summarizeMine(mine(a, b, { ...s, seed }));
}

function pair(inp: MineInputs, mode: MineMode): [tf.Tensor2D, tf.Tensor2D] {
  if (mode === 'xt') return [inp.x, inp.t];
  if (mode === 'ty-source') return [inp.t, inp.ySource];
  if (!inp.yTarget) throw new Error('MINE ty-target: these inputs have no target labels');
  return [inp.t, inp.yTarget];
}

/** The seed-to-seed spread of one mode's estimate (mean, sd, min, max of estimate and held-out value). */
export function mineSpread(inp: MineInputs, mode: MineMode, s: MineSettings, seeds: number[]) {
  const [a, b] = pair(inp, mode);
  const r = miOverSeeds(a, b, seeds, s);
  return { seeds, estimate: r.estimate, heldOut: r.heldOut, verdict: r.verdict };
}
