/**
 * Trains one PNN run for one seed at one scale and returns its run record. Per epoch it evaluates
 * the true test accuracy (Σ correct / N, unshuffled) and keeps the per-example correctness vector on
 * disk beside the checkpoint, from which the original repo's smoothed 'reported' accuracy (EMA 0.7 of
 * per-batch %, batch 10, carried over epochs) and its spread over random test orders are computed.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, writeFileAtomic } from '@repro/runtime';
import { BatchOptions, ImageDataset, batchCount, batches, loadTrainTest } from '@repro/datasets';
import { createModel, saveModel } from '@repro/models';
import {
  Optimizer,
  RunRecord,
  Scale,
  checkpointDir,
  constant,
  cosine,
  evaluateClassifier,
  multiStep,
  smoothedOverOrders,
  smoothedPerEpoch,
  train,
  trainableVariables,
  batchAccuraciesPct,
  RunContext,
  newRunRecord,
  plateauGain,
} from '@repro/experiments';
import { smoothedAccuracyTrace } from '@repro/core-metrics';
import { PnnRun } from './runs';

export const PACKAGE = 'pnn-perturb';

/** definePaper's run context (scale, seed, out, dataDir, resume, backend) plus this package's extras. */
export interface TrainOptions extends RunContext {
  /** Explicit changes to the run's config (recorded in the record's overrides). */
  overrides?: { epochs?: number; nfilters?: number; maxStepsPerEpoch?: number; trainPerClass?: number };
  stream?: { write(s: string): unknown; isTTY?: boolean };
}

/** The run's configuration at a scale: smoke shrinks the cpu runs to the fixture. */
export function resolveRun(
  run: PnnRun,
  scale: Scale,
  overrides: TrainOptions['overrides'] = {},
): PnnRun & { maxStepsPerEpoch?: number } {
  let r: PnnRun & { maxStepsPerEpoch?: number } = {
    ...run,
    modelOptions: { ...run.modelOptions },
    data: { ...run.data },
  };
  if (scale === 'smoke') {
    if (run.scale !== 'cpu')
      throw new Error(`run ${run.id} is a paper-scale run; smoke scale runs the cpu runs on the fixture`);
    r = {
      ...r,
      epochs: 2,
      modelOptions: { ...r.modelOptions, nfilters: 8 },
      data: { ...r.data, trainPerClass: undefined },
    };
  } else if (scale !== run.scale) {
    throw new Error(`run ${run.id} belongs to the ${run.scale} scale, not ${scale}`);
  }
  if (overrides.epochs !== undefined) r.epochs = overrides.epochs;
  if (overrides.nfilters !== undefined) r.modelOptions.nfilters = overrides.nfilters;
  if (overrides.trainPerClass !== undefined) r.data.trainPerClass = overrides.trainPerClass;
  if (overrides.maxStepsPerEpoch !== undefined) r.maxStepsPerEpoch = overrides.maxStepsPerEpoch;
  return r;
}

interface Data {
  train: ImageDataset;
  test: ImageDataset;
  shape: [number, number, number];
  norm: BatchOptions['normalize'];
  name: string;
}

function loadData(r: PnnRun, scale: Scale, dataDir?: string): Data {
  const d = loadTrainTest(r.data.dataset, {
    dataDir,
    fixture: scale === 'smoke',
    requester: `run ${r.id}`,
    trainPerClass: r.data.trainPerClass,
  });
  return { train: d.train, test: d.test, shape: d.info.shape, norm: d.info.normalize, name: d.label };
}

function readCorrect(dir: string, epochs: number): Uint8Array[] {
  return Array.from(
    { length: epochs },
    (_, e) => new Uint8Array(fs.readFileSync(path.join(dir, `correct-epoch${e + 1}.bin`))),
  );
}

export function runDir(out: string, scale: Scale, runId: string, seed: number): string {
  return checkpointDir(out, PACKAGE, scale, runId, seed);
}

export async function trainPnnRun(run: PnnRun, o: TrainOptions): Promise<RunRecord> {
  const started = new Date();
  const tensorsAtStart = tf.memory().numTensors;
  const r = resolveRun(run, o.scale, o.overrides);
  const data = loadData(r, o.scale, o.dataDir);
  const dir = runDir(o.out, o.scale, r.id, o.seed);
  const model = createModel(r.model, {
    ...r.modelOptions,
    inputShape: data.shape,
    numClasses: data.train.numClasses,
    seed: o.seed,
  });
  const optimizer = new Optimizer(r.optimizer);
  const vars = trainableVariables(model);
  const rng = new Rng(o.seed);
  const base = r.optimizer.lr;
  const schedule =
    r.schedule === 'pnn-cifar'
      ? multiStep(base, [60, 90, 120, 160], 0.2, 1)
      : r.schedule === 'pnn-original'
        ? multiStep(base, [60, 90, 120], 0.1)
        : r.schedule === 'cosine'
          ? cosine(base, r.epochs)
          : constant(base);
  const bopts = (e: number): BatchOptions => ({
    batchSize: r.batchSize,
    shuffle: rng.fork(`shuffle-${e}`),
    normalize: data.norm,
    ...(r.data.augment ? { augment: { cropPadding: 4, horizontalFlip: true, rng: rng.fork(`augment-${e}`) } } : {}),
  });
  const fullSteps = batchCount(data.train, { batchSize: r.batchSize });
  const steps = Math.min(fullSteps, r.maxStepsPerEpoch ?? fullSteps);
  const numClasses = data.train.numClasses;
  const configKey = JSON.stringify({
    id: r.id,
    seed: o.seed,
    scale: o.scale,
    epochs: r.epochs,
    model: r.modelOptions,
    opt: r.optimizer,
    schedule: r.schedule,
    n: data.train.size,
    steps,
  });
  let record: RunRecord;
  try {
    const result = await train({
      label: `${r.id} seed ${o.seed}`,
      models: [model],
      optimizers: [optimizer],
      schedules: [schedule],
      epochs: r.epochs,
      stepsPerEpoch: steps,
      itemsPerStep: r.batchSize,
      batches: function* (e) {
        let k = 0;
        for (const b of batches(data.train, bopts(e))) {
          if (k++ >= steps) {
            tf.dispose([b.x, b.y]);
            break;
          }
          yield b;
        }
      },
      step: (b) => ({
        loss: optimizer.step(vars, () =>
          tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
            tf.oneHot(b.y, numClasses),
            model.apply(b.x, { training: true }) as tf.Tensor,
          ),
        ),
      }),
      disposeBatch: (b) => tf.dispose([b.x, b.y]),
      evaluate: (epoch) => {
        const ev = evaluateClassifier(model, data.test, { batchSize: 250, normalize: data.norm });
        writeFileAtomic(path.join(dir, `correct-epoch${epoch + 1}.bin`), ev.correct);
        const smoothed = smoothedPerEpoch(readCorrect(dir, epoch + 1), { batchSize: r.smoothedBatchSize }).at(-1)!;
        return { trueAccPct: 100 * ev.accuracy, smoothedPct: smoothed, testLoss: ev.loss };
      },
      checkpoint: { dir, everyEpochs: 1, configKey },
      resume: o.resume,
      stream: o.stream,
    });
    await saveModel(model, path.join(dir, 'final-model'));
    const history = result.history;
    const correct = readCorrect(dir, history.length);
    const counted = history.filter((h) => h.epoch > r.bestAfterEpoch);
    const pool = counted.length ? counted : history;
    const bestTrue = Math.max(...pool.map((h) => h.trueAccPct));
    const bestSmoothed = Math.max(...pool.map((h) => h.smoothedPct));
    const last = history.at(-1)!;
    const spread = smoothedOverOrders(correct.at(-1)!, { batchSize: r.smoothedBatchSize, draws: 200, seed: o.seed });
    // best over epochs of the smoothed value when each epoch's test order is random: the selection effect
    const orders = new Rng(o.seed).fork('orders');
    const draws = 200;
    let bestOfEpochs = 0;
    for (let d = 0; d < draws; d++) {
      let best = -Infinity;
      for (const c of correct.slice(correct.length - pool.length)) {
        const trace = smoothedAccuracyTrace(batchAccuraciesPct(c, r.smoothedBatchSize, orders.permutation(c.length)), {
          smoothness: 0.7,
        });
        best = Math.max(best, trace.at(-1) ?? 0);
      }
      bestOfEpochs += best / draws;
    }
    record = newRunRecord({
      package: PACKAGE,
      runId: r.id,
      seed: o.seed,
      scale: o.scale,
      dataset: data.name,
      model: r.model,
      config: { ...r },
      overrides: { ...(o.overrides ?? {}) },
      history,
      metrics: {
        bestTrueAccPct: bestTrue,
        finalTrueAccPct: last.trueAccPct,
        bestSmoothedPct: bestSmoothed,
        smoothedMinusTruePct: bestSmoothed - bestTrue,
        lastSmoothedMinusTruePct: last.smoothedPct - last.trueAccPct,
        randomOrderMeanPct: spread.mean,
        randomOrderStdPct: spread.std,
        bestOfEpochsRandomOrderPct: bestOfEpochs,
        overstatementRandomOrderPct: bestOfEpochs - bestTrue,
        params: model.countParams(),
        // what PyTorch's sum over parameters() counts: no BN running statistics, no fixed noise masks
        trainableParams: model.trainableWeights.reduce((a, w) => a + tf.util.sizeFromShape(w.shape as number[]), 0),
        plateauGainPct: plateauGain(history, 'trueAccPct'),
      },
      backend: o.backend,
      started,
      codeDir: path.join(__dirname, '..'),
    });
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  record.tensors = { atStart: tensorsAtStart, atEnd: tf.memory().numTensors };
  return record;
}
