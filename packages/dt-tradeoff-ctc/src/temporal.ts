/**
 * One run and seed: train (vanilla or CTC) keeping `ckpt_epoch_<k>` every saveFreq epochs (and the
 * initial weights as ckpt_epoch_0), then analyse every kept checkpoint (analysis.ts). The training
 * loop's own checkpoint (models, optimizer, CTC's memories) makes a killed job resume exactly; every
 * checkpoint's analysis is written atomically to analysis/epoch_<k>.json as it finishes, so a resumed
 * job skips the finished ones.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, writeJsonAtomic } from '@repro/runtime';
import {
  ImageDataset,
  batchCount,
  batches,
  firstKPerClass,
  groupClasses,
  loadDataset,
  perClassRange,
  takeIndices,
} from '@repro/datasets';
import { createModel, disposeModel, featureModel, loadCheckedModel, saveModel } from '@repro/models';
import {
  Optimizer,
  RunContext,
  RunRecord,
  Scale,
  Schedule,
  checkpointDir,
  evaluateClassifier,
  newRunRecord,
  train,
  trainableVariables,
} from '@repro/experiments';
import {
  FEATURE_LAYER,
  MineInputs,
  MineMode,
  MineSummary,
  Normalize,
  ProbeResult,
  inferenceFeatures,
  linearProbe,
  mineEstimate,
  mineSpread,
  pooledInputs,
} from './analysis';
import {
  CtcParts,
  Linear,
  contrastIndices,
  ctcStage1Step,
  ctcStage2Step,
  l2normalize,
  memoryBank,
  momentumUpdate,
  negativesByClass,
} from './ctc';
import { DtRun, PACKAGE, resolveRun } from './runs';

export interface RunData {
  sourceTrain: ImageDataset;
  sourceTest: ImageDataset;
  /** The source test images with their fine (target) labels, same order (one dataset for both tasks). */
  sourceTestFine?: ImageDataset;
  probeTrain: ImageDataset;
  probeTest: ImageDataset;
  sourceNorm: Normalize;
  targetNorm: Normalize;
  shape: [number, number, number];
  /** What was read ('fashion-mnist', 'fashion-mnist-fixture', 'cifar100 -> cinic10'). */
  label: string;
}

/**
 * The four splits. One dataset for source and target (cpu): per-class ranks split it, the source
 * first (its images relabelled into super-classes), the probe's images after them. Two datasets
 * (paper): the source's train/test and the target's train/evaluation splits.
 */
export function loadRunData(r: DtRun, o: { scale: Scale; dataDir?: string }): RunData {
  const opts = { dataDir: o.dataDir, fixture: o.scale === 'smoke', requester: `run ${r.id}` };
  const srcTrain = loadDataset(r.source, 'train', opts);
  const srcTest = loadDataset(r.source, 'test', opts);
  const group = (ds: ImageDataset) => (r.sourceTask ? groupClasses(ds, r.sourceTask.groups, r.sourceTask.names) : ds);
  const range = (ds: ImageDataset, from: number, n: number | undefined) =>
    perClassRange(ds, from, n === undefined ? Infinity : from + n);
  if (r.target === r.source) {
    const nTr = r.trainPerClass ?? 0;
    const nTe = r.testPerClass ?? 0;
    if (r.trainPerClass === undefined || r.testPerClass === undefined)
      throw new Error(`run ${r.id}: one dataset for source and target needs trainPerClass and testPerClass`);
    return {
      sourceTrain: group(range(srcTrain.data, 0, nTr)),
      sourceTest: group(range(srcTest.data, 0, nTe)),
      sourceTestFine: range(srcTest.data, 0, nTe),
      probeTrain: range(srcTrain.data, nTr, r.probeTrainPerClass),
      probeTest: range(srcTest.data, nTe, r.probeTestPerClass),
      sourceNorm: srcTrain.info.normalize,
      targetNorm: srcTrain.info.normalize,
      shape: srcTrain.info.shape,
      label: srcTrain.label,
    };
  }
  const tgTrain = loadDataset(r.target, 'train', opts);
  const tgTest = loadDataset(r.target, 'test', opts);
  const cap = (ds: ImageDataset, k: number | undefined) => (k === undefined ? ds : firstKPerClass(ds, k));
  if (tgTrain.info.shape.join() !== srcTrain.info.shape.join())
    throw new Error(
      `run ${r.id}: target ${r.target} images are ${tgTrain.info.shape.join('x')}, the source's ${srcTrain.info.shape.join('x')}`,
    );
  return {
    sourceTrain: group(cap(srcTrain.data, r.trainPerClass)),
    sourceTest: group(cap(srcTest.data, r.testPerClass)),
    probeTrain: cap(tgTrain.data, r.probeTrainPerClass),
    probeTest: cap(tgTest.data, r.probeTestPerClass),
    sourceNorm: srcTrain.info.normalize,
    targetNorm: tgTrain.info.normalize,
    shape: srcTrain.info.shape,
    label: `${srcTrain.label} -> ${tgTrain.label}`,
  };
}

/** train_vanilla.py's schedule (util.py adjust_learning_rate_cosine, min_lr_scale 0.1), 0-based epoch. */
export function vanillaLr(r: DtRun): Schedule {
  return (e) => {
    const ep = e + 1;
    if (ep <= r.warmupEpochs) return (r.lr * ep) / r.warmupEpochs;
    return r.lr * (r.minLrScale + (1 - r.minLrScale) * 0.5 * (1 + Math.cos((ep / (r.epochs + 1)) * Math.PI)));
  };
}

/** train_ctc.py's schedule (util.py adjust_learning_rate_decouple with both warm-ups 0), 0-based epoch. */
export function ctcLr(r: DtRun): Schedule {
  const c = r.ctc!;
  return (e) => {
    const ep = e + 1;
    if (ep <= c.stageTwoEpoch) return r.lr * 0.5 * (1 + Math.cos((ep * Math.PI) / (c.stageTwoEpoch + 1)));
    const e2 = ep - c.stageTwoEpoch;
    return c.stageTwoDecayRate * r.lr * 0.5 * (1 + Math.cos((e2 * Math.PI) / (r.epochs - c.stageTwoEpoch + 1)));
  };
}

/** The epochs with a kept checkpoint: 0, saveFreq, 2·saveFreq, …, and the last. */
export function checkpointEpochs(r: Pick<DtRun, 'epochs' | 'saveFreq'>): number[] {
  const out = [0];
  for (let e = r.saveFreq; e <= r.epochs; e += r.saveFreq) out.push(e);
  if (out[out.length - 1] !== r.epochs) out.push(r.epochs);
  return out;
}

/** The checkpoints MINE analyses: epoch 0, multiples of mine.everyEpochs, and the last. */
export function mineEpochs(r: DtRun): number[] {
  if (r.mine.epochs) return checkpointEpochs(r).filter((e) => r.mine.epochs!.includes(e));
  if (r.mine.everyEpochs === 0) return [];
  return checkpointEpochs(r).filter((e) => e === 0 || e === r.epochs || e % r.mine.everyEpochs === 0);
}

export const ckptName = (epoch: number) => `ckpt_epoch_${epoch}`;

export function runDir(out: string, scale: Scale, runId: string, seed: number): string {
  return checkpointDir(out, PACKAGE, scale, runId, seed);
}

function buildNet(r: DtRun, shape: [number, number, number], numClasses: number, seed: number): tf.LayersModel {
  return createModel(r.model.model, {
    inputShape: shape,
    numClasses,
    seed,
    ...(r.model.nfilters !== undefined ? { nfilters: r.model.nfilters } : {}),
    ...(r.model.depth !== undefined ? { depth: r.model.depth } : {}),
  });
}

/** Everything measured at one checkpoint. */
export interface CheckpointAnalysis {
  epoch: number;
  sourceAccPct: number;
  probe: Record<'repo' | 'strict', ProbeResult>;
  /** MINE per mode ('ty-target' only when the source images have target labels: one dataset for both). */
  mine?: Partial<Record<MineMode, MineSummary>>;
  /** At the last checkpoint: the estimator's seed-to-seed spread per mode. */
  mineSpread?: Partial<Record<MineMode, ReturnType<typeof mineSpread>>>;
  seconds: number;
}

export interface AnalyzeOptions {
  run: DtRun;
  data: RunData;
  seed: number;
  epoch: number;
  ckptDir: string;
  withMine: boolean;
  withSpread: boolean;
  log: (s: string) => void;
}

/** Analyses one saved checkpoint (loads it twice: the repo probe changes BN's statistics). */
export async function analyzeCheckpoint(o: AnalyzeOptions): Promise<CheckpointAnalysis> {
  const t0 = Date.now();
  const { run: r, data: d } = o;
  const model = await loadCheckedModel(o.ckptDir);
  let res: Omit<CheckpointAnalysis, 'probe' | 'seconds'> & { probe: Partial<CheckpointAnalysis['probe']> };
  try {
    const acc = evaluateClassifier(model, d.sourceTest, { batchSize: 500, normalize: d.sourceNorm }).accuracy;
    res = { epoch: o.epoch, sourceAccPct: 100 * acc, probe: {} };
    const probeOpts = {
      config: r.probe,
      normalize: d.targetNorm,
      numClasses: d.probeTrain.numClasses,
      seed: 7000 + o.seed,
    };
    res.probe.strict = linearProbe(model, d.probeTrain, d.probeTest, { ...probeOpts, protocol: 'strict' });
    if (o.withMine) {
      const inputs = mineInputs(model, r, d);
      try {
        const modes: MineMode[] = inputs.yTarget ? ['xt', 'ty-source', 'ty-target'] : ['xt', 'ty-source'];
        res.mine = Object.fromEntries(
          modes.map((m) => [m, mineEstimate(inputs, m, m === 'xt' ? r.mine.xt : r.mine.ty, o.seed)]),
        );
        if (o.withSpread && r.mine.spreadSeeds.length)
          res.mineSpread = Object.fromEntries(
            modes.map((m) => [
              m,
              mineSpread(inputs, m, m === 'xt' ? r.mine.xt : r.mine.ty, [o.seed, ...r.mine.spreadSeeds]),
            ]),
          );
      } finally {
        tf.dispose([inputs.x, inputs.t, inputs.ySource, ...(inputs.yTarget ? [inputs.yTarget] : [])]);
      }
    }
  } finally {
    disposeModel(model);
  }
  const fresh = await loadCheckedModel(o.ckptDir);
  try {
    res.probe.repo = linearProbe(fresh, d.probeTrain, d.probeTest, {
      config: r.probe,
      normalize: d.targetNorm,
      numClasses: d.probeTrain.numClasses,
      seed: 7000 + o.seed,
      protocol: 'repo',
    });
  } finally {
    disposeModel(fresh);
  }
  const out = { ...res, probe: res.probe as CheckpointAnalysis['probe'], seconds: (Date.now() - t0) / 1000 };
  const m = out.mine;
  o.log(
    `epoch ${o.epoch}: source ${out.sourceAccPct.toFixed(2)}%, probe repo ${out.probe.repo.reportedPct.toFixed(2)}% strict ${out.probe.strict.reportedPct.toFixed(2)}%` +
      (m
        ? (['xt', 'ty-source', 'ty-target'] as MineMode[])
            .filter((k) => m[k])
            .map((k) => `, MINE ${k} ${m[k]!.estimate.toFixed(3)} (${m[k]!.verdict})`)
            .join('')
        : '') +
      ` (${out.seconds.toFixed(0)} s)`,
  );
  return out;
}

/**
 * MINE's inputs on the first mine.examples held-out source images, in dataset order (the model's
 * inference-mode features); Y_target = their fine labels when source and target are one dataset.
 */
export function mineInputs(model: tf.LayersModel, r: DtRun, d: RunData): MineInputs {
  const n = Math.min(r.mine.examples, d.sourceTest.size);
  const first = Int32Array.from({ length: n }, (_, i) => i);
  const ds = takeIndices(d.sourceTest, first);
  const fine = d.sourceTestFine ? takeIndices(d.sourceTestFine, first) : undefined;
  const oneHot = (x: ImageDataset) =>
    tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(x.labels, 'int32'), x.numClasses), 'float32') as tf.Tensor2D);
  return {
    x: pooledInputs(ds, d.sourceNorm, r.mine.xPool),
    t: inferenceFeatures(model, ds, d.sourceNorm),
    ySource: oneHot(ds),
    ...(fine ? { yTarget: oneHot(fine) } : {}),
  };
}

export interface TrainRunOptions extends RunContext {
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Stop after this many training steps per epoch (tests). */
  maxStepsPerEpoch?: number;
  /** Train and keep the checkpoints only (train_vanilla.py / train_ctc.py); `transfer` and `mine` analyse them later. */
  skipAnalysis?: boolean;
}

/** Trains, analyses and records one run and seed. */
export async function trainDtRun(run: DtRun, o: TrainRunOptions): Promise<RunRecord> {
  const started = new Date();
  const tensorsAtStart = tf.memory().numTensors;
  const r = resolveRun(run, o.scale);
  const stream = o.stream ?? process.stderr;
  const log = (s: string) => stream.write(`${r.id} seed ${o.seed}: ${s}\n`);
  const d = loadRunData(r, o);
  const dir = runDir(o.out, o.scale, r.id, o.seed);
  const ckDir = path.join(dir, 'ckpt');
  const rng = new Rng(o.seed);
  const nClasses = d.sourceTrain.numClasses;
  const steps = Math.min(batchCount(d.sourceTrain, { batchSize: r.batchSize }), o.maxStepsPerEpoch ?? Infinity);
  const configKey = JSON.stringify({ ...r, seed: o.seed, scale: o.scale, n: d.sourceTrain.size, steps });
  const model = buildNet(r, d.shape, nClasses, 1000 * o.seed);
  const fm = featureModel(model, [FEATURE_LAYER]);
  const featDim = (fm.outputs[0].shape as number[])[1];
  const c = r.ctc;
  const wdStage1 = c ? r.weightDecay * c.weightDecayCoef : r.weightDecay;
  const opt = new Optimizer({ kind: 'sgd', lr: r.lr, momentum: r.momentum, weightDecay: wdStage1 });
  // CTC's pieces: the snapshot (info_bank), the stage-1 projector and memory, the stage-2 embeddings and memories
  const snapshot = c ? buildNet(r, d.shape, nClasses, 1000 * o.seed + 1) : undefined;
  const snapFm = snapshot ? featureModel(snapshot, [FEATURE_LAYER]) : undefined;
  const nData = d.sourceTrain.size;
  const ctcRng = rng.fork('ctc-init');
  const projector = c
    ? new Linear(featDim, c.instanceDim, ctcRng.fork('projector'), `ctc_projector_s${o.seed}`)
    : undefined;
  const embedS = c ? new Linear(featDim, c.contrastFeatDim, ctcRng.fork('embed'), `ctc_embed_s${o.seed}`) : undefined;
  const embedT = c
    ? new Linear(featDim, c.contrastFeatDim, ctcRng.fork('embed-bank'), `ctc_embed_bank_s${o.seed}`)
    : undefined;
  const instMem = c
    ? memoryBank(nData, c.instanceDim, ctcRng.fork('instance-memory'), `ctc_instance_memory_s${o.seed}`)
    : undefined;
  const memV1 = c
    ? memoryBank(nData, c.contrastFeatDim, ctcRng.fork('memory-v1'), `ctc_memory_v1_s${o.seed}`)
    : undefined;
  const memV2 = c
    ? memoryBank(nData, c.contrastFeatDim, ctcRng.fork('memory-v2'), `ctc_memory_v2_s${o.seed}`)
    : undefined;
  const zNorm = c ? tf.tidy(() => tf.variable(tf.tensor1d([-1, -1]), false, `ctc_nce_z_s${o.seed}`)) : undefined;
  const negatives = c ? negativesByClass(d.sourceTrain.labels, nClasses) : [];
  const parts: CtcParts | undefined = c
    ? {
        features: fm,
        snapshotFeatures: snapFm!,
        projector: projector!,
        embedS: embedS!,
        embedT: embedT!,
        instanceMemory: instMem!,
        memoryV1: memV1!,
        memoryV2: memV2!,
        z: zNorm!,
        nData,
      }
    : undefined;
  const ctcVars = c ? [...projector!.variables, ...embedS!.variables, ...embedT!.variables] : [];
  const stateVars = c ? [...ctcVars, instMem!, memV1!, memV2!, zNorm!] : [];
  const modelVars = trainableVariables(model);
  const stage1Vars = c ? [...modelVars, ...(c.trainProjector ? projector!.variables : [])] : modelVars;
  const stage2Vars = c ? [...modelVars, ...embedS!.variables, ...embedT!.variables] : modelVars;
  const epochBatches = (stream: string, e: number) =>
    batches(d.sourceTrain, {
      batchSize: r.batchSize,
      shuffle: rng.fork(`${stream}-shuffle-${e}`),
      normalize: d.sourceNorm,
      augment: { ...r.augment, rng: rng.fork(`${stream}-augment-${e}`) },
    });
  const startStageTwo = (e: number) => {
    // end of epoch stage_two_epoch: info_bank.load_state_dict(model.state_dict()); wd back to its value
    // write() makes each variable share the copy's data: the tidy frees the copies' handles, not the data
    tf.tidy(() => snapshot!.weights.forEach((w, k) => w.write(tf.clone(model.weights[k].read()))));
    if (c!.updateMemoryBank) {
      log(`stage 2 from epoch ${e + 1}: refilling both memories from the snapshot (one pass over the training set)`);
      for (const b of epochBatches('refill', e)) {
        tf.tidy(() => {
          const f = (snapFm!.predict(b.x) as tf.Tensor[])[0] as tf.Tensor2D;
          momentumUpdate(memV1!, b.indices, l2normalize(embedS!.apply(f)), 0);
          momentumUpdate(memV2!, b.indices, l2normalize(embedT!.apply(f)), 0);
        });
        tf.dispose([b.x, b.y]);
      }
    }
  };
  let record: RunRecord;
  try {
    if (!fs.existsSync(path.join(ckDir, ckptName(0), 'model.json')))
      await saveModel(model, path.join(ckDir, ckptName(0)));
    const keep = new Set(checkpointEpochs(r));
    const result = await train({
      label: `${r.id} seed ${o.seed}`,
      models: snapshot ? [model, snapshot] : [model],
      optimizers: [opt],
      schedules: [c ? ctcLr(r) : vanillaLr(r)],
      epochs: r.epochs,
      stepsPerEpoch: steps,
      itemsPerStep: r.batchSize,
      batches: function* (e) {
        if (c) {
          opt.setWeightDecay(e < c.stageTwoEpoch ? wdStage1 : r.weightDecay);
          if (e === c.stageTwoEpoch) startStageTwo(e);
        }
        let i = 0;
        for (const b of epochBatches('train', e)) {
          if (i++ >= steps) {
            tf.dispose([b.x, b.y]);
            break;
          }
          yield b;
        }
      },
      step: (b, ctx): { loss: number } & Record<string, number> => {
        const y1h = tf.oneHot(b.y, nClasses);
        try {
          if (!c) {
            const loss = opt.step(modelVars, () =>
              tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
                y1h,
                model.apply(b.x, { training: true }) as tf.Tensor,
              ),
            );
            return { loss };
          }
          if (ctx.epoch < c.stageTwoEpoch) return ctcStage1Step(parts!, c, opt, stage1Vars, b.x, y1h, b.indices);
          const idx = contrastIndices(
            b.indices,
            d.sourceTrain.labels,
            negatives,
            c.nceK,
            rng.fork(`contrast-${ctx.globalStep}`),
          );
          return ctcStage2Step(parts!, c, opt, stage2Vars, b.x, y1h, b.indices, idx);
        } finally {
          y1h.dispose();
        }
      },
      disposeBatch: (b) => tf.dispose([b.x, b.y]),
      // source accuracy at the kept checkpoints only (the analysis measures them again, with the probes)
      evaluate: async (epoch): Promise<Record<string, number>> => {
        if (!keep.has(epoch + 1)) return {};
        const acc = evaluateClassifier(model, d.sourceTest, { batchSize: 500, normalize: d.sourceNorm }).accuracy;
        await saveModel(model, path.join(ckDir, ckptName(epoch + 1)));
        return { sourceTestAccPct: 100 * acc };
      },
      checkpoint: { dir: path.join(dir, 'train'), everyEpochs: 1, configKey, variables: stateVars },
      resume: o.resume,
      stream: o.stream,
    });

    // the temporal analysis of every kept checkpoint
    const analyses = o.skipAnalysis
      ? []
      : await analyzeRun(r, d, o.seed, ckDir, path.join(dir, 'analysis'), configKey, log);
    await saveModel(model, path.join(dir, 'final'));
    const last = analyses[analyses.length - 1] as CheckpointAnalysis | undefined;
    const finalAcc = result.history[result.history.length - 1]?.sourceTestAccPct ?? NaN; // the last epoch is always kept
    record = newRunRecord({
      package: PACKAGE,
      runId: r.id,
      seed: o.seed,
      scale: o.scale,
      dataset: d.label,
      model: r.model.model,
      config: { ...r },
      overrides: o.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: o.maxStepsPerEpoch } : {},
      history: result.history,
      metrics: {
        sourceTestAccPct: last?.sourceAccPct ?? finalAcc,
        ...(last ? { probeRepoPct: last.probe.repo.reportedPct, probeStrictPct: last.probe.strict.reportedPct } : {}),
        sourceTrainImages: d.sourceTrain.size,
        sourceTestImages: d.sourceTest.size,
        probeTrainImages: d.probeTrain.size,
        probeTestImages: d.probeTest.size,
        analysisSeconds: analyses.reduce((a, x) => a + x.seconds, 0),
        resumedEpochs: result.resumedEpochs,
      },
      extra: { checkpoints: analyses },
      backend: o.backend,
      started,
      codeDir: __dirname,
    });
  } finally {
    disposeModel(model);
    if (snapshot) disposeModel(snapshot);
    opt.dispose();
    tf.dispose(stateVars);
  }
  record.tensors = { atStart: tensorsAtStart, atEnd: tf.memory().numTensors };
  return record;
}

/** Analyses every kept checkpoint of a run, reusing the finished ones (analysis/epoch_<k>.json). */
export async function analyzeRun(
  r: DtRun,
  d: RunData,
  seed: number,
  ckDir: string,
  outDir: string,
  configKey: string,
  log: (s: string) => void,
): Promise<CheckpointAnalysis[]> {
  const withMine = new Set(mineEpochs(r));
  const out: CheckpointAnalysis[] = [];
  for (const epoch of checkpointEpochs(r)) {
    const file = path.join(outDir, `epoch_${epoch}.json`);
    const done = fs.existsSync(file)
      ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { configKey: string; analysis: CheckpointAnalysis })
      : undefined;
    if (done && done.configKey === configKey) {
      out.push(done.analysis);
      continue;
    }
    const analysis = await analyzeCheckpoint({
      run: r,
      data: d,
      seed,
      epoch,
      ckptDir: path.join(ckDir, ckptName(epoch)),
      withMine: withMine.has(epoch),
      withSpread: epoch === r.epochs,
      log,
    });
    writeJsonAtomic(file, { configKey, analysis });
    out.push(analysis);
  }
  return out;
}
