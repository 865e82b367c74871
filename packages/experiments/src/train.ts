/**
 * The training loop shared by every paper package. A task supplies batches, a step (any objective:
 * cross-entropy, the DC regulariser, distillation, contrastive losses, several models in turn) and an
 * evaluation; the loop runs epochs, sets the learning rates from the schedules, shows progress,
 * checkpoints every k epochs and resumes from the last checkpoint.
 *
 * Determinism: everything random in a step must come from (seed, epoch, step): per-epoch RNG streams
 * for shuffling and augmentation, and `setRandomStep(globalStep)` for dropout masks, which the loop
 * sets before each step. Then a resumed run ends with the same metrics as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import { Progress } from '@repro/runtime';
import { setRandomStep } from '@repro/models';
import { Optimizer } from './optim';
import { Schedule } from './schedule';
import { checkpointConfigKey, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';

export interface StepContext {
  epoch: number;
  step: number;
  globalStep: number;
}

export interface TrainTask<B> {
  label: string;
  /** Models whose weights are checkpointed (all of them, trained or not). */
  models: tf.LayersModel[];
  optimizers: Optimizer[];
  /** One schedule per optimizer (same order); omitted: constant learning rates. */
  schedules?: Schedule[];
  epochs: number;
  stepsPerEpoch: number;
  itemsPerStep?: number;
  /** The batches of epoch `epoch` (seeded by it). */
  batches(epoch: number): Iterable<B>;
  /** One training step; returns the loss and any other per-step metrics. Disposes nothing it did not create. */
  step(batch: B, ctx: StepContext): { loss: number } & Record<string, number>;
  /** Frees a batch after its step. */
  disposeBatch?(batch: B): void;
  /** Metrics after each epoch (evaluation). */
  evaluate?(epoch: number): Promise<Record<string, number>> | Record<string, number>;
  checkpoint?: {
    dir: string;
    everyEpochs: number;
    configKey: string;
    /** Variables outside the models saved and restored with them (memory banks and the like). */
    variables?: tf.Variable[];
  };
  /**
   * true: continue from the checkpoint (an error if it came from another configuration);
   * 'if-compatible': continue from it when its configuration matches, else start over (said on the stream).
   */
  resume?: boolean | 'if-compatible';
  /** Called after every epoch's metrics, e.g. to write a partial run record. */
  onEpoch?(epoch: number, metrics: Record<string, number>, history: Array<Record<string, number>>): void;
  stream?: { write(s: string): unknown; isTTY?: boolean };
}

export interface TrainResult {
  /** One entry per epoch: epoch, lr, train loss and the evaluation metrics. */
  history: Array<Record<string, number>>;
  /** Epochs restored from a checkpoint (0 when started fresh). */
  resumedEpochs: number;
  wallSeconds: number;
}

export async function train<B>(task: TrainTask<B>): Promise<TrainResult> {
  const start = Date.now();
  let history: Array<Record<string, number>> = [];
  let first = 0;
  let globalStep = 0;
  const out = task.stream ?? process.stderr;
  let resume = Boolean(task.resume) && task.checkpoint !== undefined && hasCheckpoint(task.checkpoint.dir);
  if (
    resume &&
    task.resume === 'if-compatible' &&
    checkpointConfigKey(task.checkpoint!.dir) !== task.checkpoint!.configKey
  ) {
    out.write(
      `${task.label}: the checkpoint in ${task.checkpoint!.dir} came from another configuration; starting over\n`,
    );
    resume = false;
  }
  if (resume && task.checkpoint) {
    const state = await loadCheckpoint(
      task.checkpoint.dir,
      task.models,
      task.optimizers,
      task.checkpoint.configKey,
      task.checkpoint.variables,
    );
    history = state.history;
    first = state.epoch;
    globalStep = state.globalStep;
    out.write(`${task.label}: resumed from ${task.checkpoint.dir} after epoch ${first}\n`);
  }
  const progress = new Progress({
    label: task.label,
    epochs: task.epochs,
    stepsPerEpoch: task.stepsPerEpoch,
    itemsPerStep: task.itemsPerStep,
    stream: task.stream,
  });
  for (let epoch = first; epoch < task.epochs; epoch++) {
    const lrs = task.optimizers.map((o, i) => {
      const lr = task.schedules?.[i]?.(epoch) ?? o.learningRate;
      o.setLearningRate(lr);
      return lr;
    });
    let lossSum = 0;
    let n = 0;
    let step = 0;
    // the epoch means of the step's other metrics, recorded as train<Name> (ce → trainCe)
    const extraSums = new Map<string, number>();
    for (const batch of task.batches(epoch)) {
      setRandomStep(globalStep);
      let out: { loss: number } & Record<string, number>;
      try {
        out = task.step(batch, { epoch, step, globalStep });
      } finally {
        task.disposeBatch?.(batch);
      }
      if (!Number.isFinite(out.loss))
        throw new Error(`${task.label}: loss is ${out.loss} at epoch ${epoch + 1} step ${step + 1} (diverged)`);
      lossSum += out.loss;
      for (const [k, v] of Object.entries(out)) if (k !== 'loss') extraSums.set(k, (extraSums.get(k) ?? 0) + v);
      n++;
      progress.step(epoch, step, out.loss);
      step++;
      globalStep++;
    }
    const evalMetrics = task.evaluate ? await task.evaluate(epoch) : {};
    const metrics: Record<string, number> = {
      epoch: epoch + 1,
      lr: lrs[0] ?? 0,
      trainLoss: n ? lossSum / n : NaN,
      ...Object.fromEntries([...extraSums].map(([k, v]) => [`train${k[0].toUpperCase()}${k.slice(1)}`, v / n])),
      ...evalMetrics,
    };
    history.push(metrics);
    progress.endEpoch(epoch, Object.fromEntries(Object.entries(metrics).filter(([k]) => k !== 'epoch')));
    task.onEpoch?.(epoch, metrics, history);
    const ck = task.checkpoint;
    if (ck && ((epoch + 1) % ck.everyEpochs === 0 || epoch + 1 === task.epochs)) {
      await saveCheckpoint(
        ck.dir,
        task.models,
        task.optimizers,
        { epoch: epoch + 1, globalStep, history, configKey: ck.configKey },
        ck.variables,
      );
    }
  }
  return { history, resumedEpochs: first, wallSeconds: (Date.now() - start) / 1000 };
}
