/**
 * Evaluation of classifiers: true top-1 accuracy (Σ correct / N over the whole set, in dataset
 * order), the per-example correctness vector (from which PNN's smoothed per-batch metric and its
 * distribution over test orders follow without more forward passes), and robust accuracy under an
 * attack.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { foldBatchNorm, loadCheckedModel } from '@repro/models';
import { fgm } from './attacks';
import { BatchOptions, ImageDataset, batches } from '@repro/datasets';
import { smoothedAccuracyTrace } from '@repro/core-metrics';
import { Rng } from '@repro/runtime';

export interface ClassifierEval {
  /** Σ correct / N, a fraction in [0, 1]. */
  accuracy: number;
  /** Mean cross-entropy (nats). */
  loss: number;
  /** 1 where the example (dataset order) was classified correctly. */
  correct: Uint8Array;
}

/** Runs the model in inference mode over the whole dataset (unshuffled), batch norms folded (foldBatchNorm). */
export function evaluateClassifier(
  model: tf.LayersModel,
  ds: ImageDataset,
  opts: Omit<BatchOptions, 'shuffle' | 'augment' | 'dropLast'>,
): ClassifierEval {
  const correct = new Uint8Array(ds.size);
  let lossSum = 0;
  // batch norms folded into their convolutions for this pass (the weights do not change during it)
  const folded = foldBatchNorm(model);
  try {
    for (const b of batches(ds, opts)) {
      const [c, l] = tf.tidy(() => {
        const logits = folded.predict(b.x) as tf.Tensor2D;
        const ok = tf.equal(tf.argMax(logits, 1), b.y);
        const loss = tf.losses.softmaxCrossEntropy(
          tf.oneHot(b.y, ds.numClasses),
          logits,
          undefined,
          0,
          tf.Reduction.SUM,
        );
        return [ok.dataSync(), loss.dataSync()[0]] as const;
      });
      b.indices.forEach((idx, k) => (correct[idx] = c[k]!));
      lossSum += l;
      tf.dispose([b.x, b.y]);
    }
  } finally {
    folded.dispose();
  }
  const nCorrect = correct.reduce((a, v) => a + v, 0);
  return { accuracy: nCorrect / ds.size, loss: lossSum / ds.size, correct };
}

/** Per-batch accuracies in % of consecutive batches of `batchSize` (in the given order), skipping a partial last batch. */
export function batchAccuraciesPct(correct: ArrayLike<number>, batchSize: number, order?: ArrayLike<number>): number[] {
  const n = correct.length;
  const out: number[] = [];
  for (let start = 0; start + batchSize <= n; start += batchSize) {
    let c = 0;
    for (let k = start; k < start + batchSize; k++) c += correct[order ? order[k] : k];
    out.push((100 * c) / batchSize);
  }
  return out;
}

/**
 * PNN's 'reported' accuracy over several epochs: the EMA(smoothness) of per-batch % over the
 * unshuffled test set, carried over from epoch to epoch (the original Monitor never resets it).
 * @param correctPerEpoch correctness vectors, one per epoch. @returns the smoothed value after each epoch (%).
 */
export function smoothedPerEpoch(
  correctPerEpoch: ArrayLike<number>[],
  opts: { batchSize?: number; smoothness?: number } = {},
): number[] {
  let ema = 0;
  return correctPerEpoch.map((c) => {
    const trace = smoothedAccuracyTrace(batchAccuraciesPct(c, opts.batchSize ?? 10), {
      smoothness: opts.smoothness ?? 0.7,
      initial: ema,
    });
    ema = trace.at(-1) ?? ema;
    return ema;
  });
}

/** Mean and standard deviation of the smoothed value (from EMA 0) over random test orders. */
export function smoothedOverOrders(
  correct: ArrayLike<number>,
  opts: { draws?: number; batchSize?: number; smoothness?: number; seed?: number } = {},
): { mean: number; std: number; values: number[] } {
  const rng = new Rng(opts.seed ?? 0);
  const values: number[] = [];
  for (let d = 0; d < (opts.draws ?? 200); d++) {
    const order = rng.permutation(correct.length);
    const trace = smoothedAccuracyTrace(batchAccuraciesPct(correct, opts.batchSize ?? 10, order), {
      smoothness: opts.smoothness ?? 0.7,
    });
    values.push(trace.at(-1) ?? 0);
  }
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return { mean, std, values };
}

export type Attack = (model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor1D, numClasses: number) => tf.Tensor4D;

/** FGSM with the true labels as an `Attack` for robustAccuracy: `fgm` with the L∞ norm. */
export function fgsm(eps: number): Attack {
  return (model, x, y) => fgm(model, x, eps, { y }) as tf.Tensor4D;
}

/** Accuracy on adversarial examples made by `attack` from each batch. */
export function robustAccuracy(
  model: tf.LayersModel,
  ds: ImageDataset,
  attack: Attack,
  opts: Omit<BatchOptions, 'shuffle' | 'augment' | 'dropLast'>,
): number {
  let correct = 0;
  for (const b of batches(ds, opts)) {
    correct += tf.tidy(() => {
      const adv = attack(model, b.x, b.y, ds.numClasses);
      return tf.sum(tf.cast(tf.equal(tf.argMax(model.predict(adv) as tf.Tensor2D, 1), b.y), 'int32')).dataSync()[0];
    });
    tf.dispose([b.x, b.y]);
  }
  return correct / ds.size;
}

/**
 * Test accuracy (%) of saved models (folders written by saveModel), one at a time, each disposed after
 * use: what a paper package's `eval` prints. A missing folder is an error that says to train first; a
 * model with NaN or Inf weights, a topology that does not match its weights, or inputs or outputs that
 * do not fit `test` are errors naming the folder (loadCheckedModel).
 */
export async function savedModelAccuracies(
  models: Array<{ name: string; dir: string }>,
  test: ImageDataset,
  opts: { normalize?: BatchOptions['normalize']; what: string },
): Promise<Array<{ name: string; accuracyPct: number }>> {
  const out: Array<{ name: string; accuracyPct: number }> = [];
  for (const { name, dir } of models) {
    if (!fs.existsSync(dir)) throw new Error(`${opts.what}: no saved model at ${dir}; train it first`);
    const model = await loadCheckedModel(dir, {
      inputShape: test.shape,
      numClasses: test.numClasses,
      data: `${test.name} ${test.split}`,
    });
    try {
      out.push({
        name,
        accuracyPct: 100 * evaluateClassifier(model, test, { batchSize: 250, normalize: opts.normalize }).accuracy,
      });
    } finally {
      model.dispose();
    }
  }
  return out;
}
