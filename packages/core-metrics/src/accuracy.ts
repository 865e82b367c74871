import * as tf from '@tensorflow/tfjs';
import { checkFinite, checkFiniteArray } from './validate';

/**
 * True top-1 accuracy: Σ correct / Σ n over the given examples, in [0, 1] (a fraction, not %).
 * @param logits [n, classes] scores (logits or probabilities), @param labels [n] integer labels.
 * @returns scalar, new tensor owned by the caller (not differentiable).
 */
export function accuracy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  if (logits.rank !== 2)
    throw new Error(`accuracy: logits must be [n, classes], got shape [${logits.shape.join(', ')}]`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`accuracy: labels must be [${logits.shape[0]}], got shape [${labels.shape.join(', ')}]`);
  }
  if (logits.shape[0] === 0) throw new Error('accuracy: no examples');
  checkFinite('accuracy', 'logits', logits);
  return tf.tidy(() =>
    tf.mean<tf.Scalar>(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32')),
  );
}

export interface SmoothedAccuracyOptions {
  /** EMA coefficient on the old value (PNN's Monitor: 0.7). */
  smoothness?: number;
  /** Starting EMA value (PNN's Monitor starts at 0 and never resets between epochs). */
  initial?: number;
  /** Sizes of the batches; with `batchSize`, batches of another size are skipped, as PNN's train.py does. */
  batchSizes?: readonly number[];
  batchSize?: number;
}

/**
 * The PNN original repo's smoothed 'reported' accuracy (juefeix/pnn.pytorch plugins/monitor.py):
 * ema ← s·ema + (1 − s)·batchAccuracy after each test batch, starting at `initial` (0), and the value
 * after the last batch is reported. It weights the last few batches heavily, so it is NOT the accuracy
 * of the test set (see `accuracy`); it exists to reproduce that repo's error.
 * @param batchAccuracies per-batch accuracies, in whatever unit (% in the original).
 * @returns the final EMA, in the same unit.
 */
export function smoothedAccuracy(batchAccuracies: readonly number[], opts: SmoothedAccuracyOptions = {}): number {
  return smoothedAccuracyTrace(batchAccuracies, opts).at(-1) ?? opts.initial ?? 0;
}

/** The EMA after each (kept) batch. */
export function smoothedAccuracyTrace(
  batchAccuracies: readonly number[],
  opts: SmoothedAccuracyOptions = {},
): number[] {
  const s = opts.smoothness ?? 0.7;
  if (!(s >= 0 && s < 1)) throw new Error(`smoothedAccuracy: smoothness must be in [0, 1), got ${s}`);
  if (opts.batchSizes && opts.batchSizes.length !== batchAccuracies.length) {
    throw new Error(`smoothedAccuracy: ${opts.batchSizes.length} batch sizes for ${batchAccuracies.length} accuracies`);
  }
  checkFiniteArray('smoothedAccuracy', 'batchAccuracies', batchAccuracies);
  if (opts.initial !== undefined && !Number.isFinite(opts.initial))
    throw new Error(`smoothedAccuracy: initial is ${opts.initial}; must be a finite number`);
  let ema = opts.initial ?? 0;
  const trace: number[] = [];
  batchAccuracies.forEach((a, i) => {
    if (opts.batchSizes && opts.batchSize !== undefined && opts.batchSizes[i] !== opts.batchSize) return;
    ema = s * ema + (1 - s) * a;
    trace.push(ema);
  });
  return trace;
}
