/**
 * Diverge training (Table 1) as Diverge_Training/imagenet_main.py and DC_criterion.py do it, for one
 * run and seed: inside each epoch the networks are trained in turn, each with a full pass over the
 * training set; net 0 with cross-entropy only (the Baseline), net k with cross-entropy + α · mean over
 * nets j < k of the row-normalised V-statistic dCor² between its pooled penultimate features and net
 * j's, the earlier nets in inference mode and their features constants (the official `.detach()`);
 * net 2 is "Ours". The attacked model f1 (same architecture, own seed, cross-entropy) and, at cpu
 * scale, a narrower "weak" network for the Table 2 analogue are trained in the same loop, so one
 * checkpoint holds the whole job and a killed job resumes to the same numbers.
 *
 * After training: clean accuracy of every network on the whole test set; FGM and PGD examples made on
 * f1 (cleverhans semantics, normalised-input ε) and the accuracy of Baseline and Ours on them;
 * distance correlations between the networks' features on test batches of 128 (claim 3); the Table 2
 * statistics of strong (net 0) vs weak; Grad-CAM maps of Baseline and Ours.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, formatDuration } from '@repro/runtime';
import {
  Batch,
  BatchOptions,
  ImageDataset,
  batchCount,
  batches,
  firstKPerClass,
  loadTrainTest,
  prepareDataset,
  takeIndices,
} from '@repro/datasets';
import { createModel, featureModel, gradCam, saveModel } from '@repro/models';
import { bcdcor, dcor2 } from '@repro/core-metrics';
import {
  Optimizer,
  RunContext,
  RunRecord,
  Scale,
  checkpointDir,
  cosine,
  evaluateClassifier,
  fgm,
  multiStep,
  pgd,
  train,
  trainableVariables,
  writeOverlayGridPng,
  newRunRecord,
  plateauGain,
} from '@repro/experiments';
import { DivergeRun } from './runs';
import { builtinEmbedding, compareFeatures, TABLE2_STATS } from './compare';
import { datasetFeatures } from './features';

export const PACKAGE = 'pdc-diverge';

export interface TrainOptions extends RunContext {
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Explicit changes to the run's config, recorded in the record's overrides (tests of the paper-scale path). */
  overrides?: { epochs?: number; nfilters?: number; maxStepsPerEpoch?: number; pgdSteps?: number };
  /** Where Grad-CAM PNGs go (default: <out>/plots/pdc-diverge/<scale>). */
  plotsDir?: string;
}

/** The run at a scale: smoke shrinks the cpu run to the fixture, 2 epochs, tiny widths, short attacks. */
export function resolveRun(run: DivergeRun, scale: Scale): DivergeRun {
  if (scale === 'smoke') {
    if (run.scale !== 'cpu') throw new Error(`run ${run.id} is a paper-scale run; smoke scale runs the cpu runs`);
    return {
      ...run,
      trainPerClass: undefined,
      epochs: 2,
      nfilters: 4,
      ...(run.weak ? { weak: { ...run.weak, nfilters: 2 } } : {}),
      ...(run.attack
        ? {
            attack: {
              epsilons: [0.1],
              ...(run.attack.fgmOnlyEpsilons ? { fgmOnlyEpsilons: [0.3] } : {}),
              pgdSteps: 3,
              pgdStepSize: 0.05,
              imagesPerClass: undefined,
            },
          }
        : {}),
      curveImagesPerClass: undefined,
    };
  }
  if (scale !== run.scale) throw new Error(`run ${run.id} belongs to the ${run.scale} scale, not ${scale}`);
  return run;
}

export function runDir(out: string, scale: Scale, runId: string, seed: number): string {
  return checkpointDir(out, PACKAGE, scale, runId, seed);
}

/** Member names: the attacked model, the diverge nets, the weak net. */
export const F1 = 'f1';
export const netName = (k: number) => `net${k}`;
export const WEAK = 'weak';

/**
 * The diverge penalty of DC_criterion.py: mean over the control features of the row-normalised
 * V-statistic dCor² (R², not R) between `features` and each control; 0 without controls (net 0).
 * Controls are constants (computed outside the gradient). @returns a scalar owned by the caller.
 */
export function divergePenalty(features: tf.Tensor2D, controls: tf.Tensor2D[]): tf.Scalar {
  if (controls.length === 0) return tf.scalar(0);
  return tf.tidy(() =>
    tf.div<tf.Scalar>(tf.addN(controls.map((c) => dcor2(features, c, { rowNormalize: true }))), controls.length),
  );
}

/**
 * Pooled penultimate features of a feature tap (`featureModel(net, ['features'])`: outputs
 * [features, logits]) in inference mode, flattened per example. Build the tap once per net: building
 * one walks the graph (13 ms for a ResNet-152), which would otherwise be paid at every step.
 */
export function penultimate(tap: tf.LayersModel, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.reshape<tf.Rank.R2>((tap.predict(x) as tf.Tensor[])[0], [x.shape[0], -1]));
}

/**
 * One diverge step (W5): net `tap`'s CE + α · divergePenalty to the controls' features on x, as one
 * optimizer step. `tap` and `controls` are feature taps (`featureModel(net, ['features'])`); the
 * controls are the earlier nets, run in inference mode, their features constants. @returns loss and DC.
 */
export function divergeStep(
  opt: Optimizer,
  vars: tf.Variable[],
  tap: tf.LayersModel,
  controls: tf.LayersModel[],
  batch: { x: tf.Tensor; y: tf.Tensor1D },
  alpha: number,
  numClasses: number,
): { loss: number; dc: number } {
  const ctl = controls.map((c) => penultimate(c, batch.x));
  let dc: tf.Scalar | undefined;
  try {
    const loss = opt.step(vars, () => {
      const [f, logits] = tap.apply(batch.x, { training: true }) as tf.Tensor[];
      const ce = tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(tf.oneHot(batch.y, numClasses), logits);
      if (!ctl.length) return ce;
      const pen = divergePenalty(tf.reshape(f, [batch.x.shape[0], -1]), ctl);
      dc = tf.keep(pen.clone());
      return tf.add<tf.Scalar>(ce, tf.mul(alpha, pen));
    });
    return { loss, dc: dc ? dc.dataSync()[0] : 0 };
  } finally {
    tf.dispose([...ctl, ...(dc ? [dc] : [])]);
  }
}

interface Data {
  train: ImageDataset;
  test: ImageDataset;
  curve: ImageDataset;
  attack: ImageDataset;
  shape: [number, number, number];
  norm: BatchOptions['normalize'];
  name: string;
}

function loadData(r: DivergeRun, scale: Scale, dataDir?: string): Data {
  const d = loadTrainTest(r.dataset, {
    dataDir,
    fixture: scale === 'smoke',
    requester: `run ${r.id}`,
    trainPerClass: r.trainPerClass,
  });
  const perClass = (k?: number) => (k !== undefined ? firstKPerClass(d.test, k) : d.test);
  return {
    train: d.train,
    test: d.test,
    curve: perClass(r.curveImagesPerClass),
    attack: perClass(r.attack?.imagesPerClass),
    shape: d.info.shape,
    norm: d.info.normalize,
    name: d.label,
  };
}

interface Member {
  name: string;
  model: tf.LayersModel;
  tap: tf.LayersModel;
  opt: Optimizer;
  vars: tf.Variable[];
  /** Indices (into members) of the nets it is decorrelated from. */
  controls: number[];
}

/** Metric name of an attack cell: e.g. oursPgdEps0.1Pct. */
export const attackMetric = (who: 'baseline' | 'ours' | 'f1' | 'net1', attack: 'fgm' | 'pgd', eps: number) =>
  `${who}${attack === 'fgm' ? 'Fgm' : 'Pgd'}Eps${eps}Pct`;

/** The feature pairs whose distance correlation on test batches the record carries (claim 3). */
export const DC_PAIRS: Array<[string, string]> = [
  ['net2', 'net0'],
  ['net1', 'net0'],
  ['net2', 'net1'],
  [F1, 'net0'],
  [F1, 'net2'],
];

export async function trainDivergeRun(run: DivergeRun, o: TrainOptions): Promise<RunRecord> {
  const started = new Date();
  const tensorsAtStart = tf.memory().numTensors;
  const ov = o.overrides ?? {};
  const r: DivergeRun & { maxStepsPerEpoch?: number } = {
    ...resolveRun(run, o.scale),
    ...(ov.epochs !== undefined ? { epochs: ov.epochs } : {}),
    ...(ov.nfilters !== undefined ? { nfilters: ov.nfilters } : {}),
    ...(ov.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: ov.maxStepsPerEpoch } : {}),
  };
  if (ov.pgdSteps !== undefined && r.attack) r.attack = { ...r.attack, pgdSteps: ov.pgdSteps };
  await prepareDataset(r.dataset, {
    dataDir: o.dataDir,
    requester: `run ${r.id}`,
    log: (s) => (o.stream ?? process.stderr).write(`${r.id}: ${s}\n`),
  });
  const data = loadData(r, o.scale, o.dataDir);
  const dir = runDir(o.out, o.scale, r.id, o.seed);
  const numClasses = data.train.numClasses;
  type NetSpec = { name: string; model: string; options: Record<string, number>; controls: number[] };
  const own: Record<string, number> = r.nfilters !== undefined ? { nfilters: r.nfilters } : {};
  const specs: NetSpec[] = [
    { name: F1, model: r.model, options: own, controls: [] },
    ...(r.weak
      ? [
          {
            name: WEAK,
            model: r.weak.model,
            options: { nfilters: r.weak.nfilters, ...(r.weak.depth !== undefined ? { depth: r.weak.depth } : {}) },
            controls: [],
          },
        ]
      : []),
  ];
  const first = specs.length;
  for (let k = 0; k < r.numNets; k++)
    specs.push({
      name: netName(k),
      model: r.model,
      options: own,
      controls: Array.from({ length: k }, (_, j) => first + j),
    });
  const members: Member[] = specs.map((s, k) => {
    const model = createModel(s.model, { ...s.options, inputShape: data.shape, numClasses, seed: 1000 * o.seed + k });
    return {
      name: s.name,
      model,
      tap: featureModel(model, ['features']),
      opt: new Optimizer(r.optimizer),
      vars: trainableVariables(model),
      controls: s.controls,
    };
  });
  const get = (name: string) => members.find((m) => m.name === name)!;
  const rng = new Rng(o.seed);
  const schedule =
    r.schedule === 'official' ? multiStep(r.optimizer.lr, [10, 20, 30], 0.1) : cosine(r.optimizer.lr, r.epochs);
  const steps = Math.min(batchCount(data.train, { batchSize: r.batchSize }), r.maxStepsPerEpoch ?? Infinity);
  const configKey = JSON.stringify({ ...r, seed: o.seed, scale: o.scale, n: data.train.size, steps });
  // per-epoch sums of each member's CE + DC loss and DC term (reset at every epoch start)
  let sums = members.map(() => ({ loss: 0, dc: 0, n: 0 }));
  let record: RunRecord;
  try {
    const result = await train({
      label: `${r.id} seed ${o.seed}`,
      models: members.map((m) => m.model),
      optimizers: members.map((m) => m.opt),
      schedules: members.map(() => schedule),
      epochs: r.epochs,
      stepsPerEpoch: steps * members.length,
      itemsPerStep: r.batchSize,
      batches: function* (e) {
        sums = members.map(() => ({ loss: 0, dc: 0, n: 0 }));
        for (let k = 0; k < members.length; k++) {
          const shuffle = rng.fork(`shuffle-${members[k].name}-${e}`);
          let i = 0;
          for (const b of batches(data.train, { batchSize: r.batchSize, shuffle, normalize: data.norm })) {
            if (i++ >= steps) {
              tf.dispose([b.x, b.y]);
              break;
            }
            yield { k, b };
          }
        }
      },
      step: ({ k, b }) => {
        const m = members[k];
        const out = divergeStep(
          m.opt,
          m.vars,
          m.tap,
          m.controls.map((c) => members[c].tap),
          b,
          r.alpha,
          numClasses,
        );
        sums[k].loss += out.loss;
        sums[k].dc += out.dc;
        sums[k].n++;
        return out;
      },
      disposeBatch: ({ b }) => tf.dispose([b.x, b.y]),
      evaluate: () => {
        const metrics: Record<string, number> = {};
        members.forEach((m, k) => {
          metrics[`${m.name}TestAccPct`] =
            100 * evaluateClassifier(m.model, data.curve, { batchSize: 250, normalize: data.norm }).accuracy;
          metrics[`${m.name}TrainLoss`] = sums[k].n ? sums[k].loss / sums[k].n : NaN;
          if (m.controls.length) metrics[`${m.name}TrainDc2`] = sums[k].n ? sums[k].dc / sums[k].n : NaN;
        });
        return metrics;
      },
      checkpoint: { dir, everyEpochs: 1, configKey },
      resume: o.resume,
      stream: o.stream,
    });
    const log = (s: string) => (o.stream ?? process.stderr).write(`${r.id} seed ${o.seed}: ${s}\n`);
    for (const m of members) await saveModel(m.model, path.join(dir, `final-${m.name}`));

    const metrics: Record<string, number> = {};
    // clean accuracy on the whole test set
    for (const m of members)
      metrics[`${m.name}CleanPct`] =
        100 * evaluateClassifier(m.model, data.test, { batchSize: 250, normalize: data.norm }).accuracy;
    const base = get(netName(0));
    const ours = get(netName(r.numNets - 1));
    metrics.baselineCleanPct = metrics[`${base.name}CleanPct`];
    metrics.oursCleanPct = metrics[`${ours.name}CleanPct`];
    metrics.f1CleanPct = metrics[`${F1}CleanPct`];
    // timings are not results: they go to `extra`, so that records of the same job compare equal
    let attackSeconds = 0;
    if (r.attack) {
      const attack = r.attack;
      const fgmOnly = attack.fgmOnlyEpsilons ?? [];
      // transferred attacks: made on f1, evaluated on Baseline, net 1 and Ours (and f1 itself: white box)
      log(
        `attacking ${data.attack.size} test images made on f1 (FGM, PGD-${attack.pgdSteps}) at eps ${attack.epsilons.join(', ')}${fgmOnly.length ? `; FGM only at eps ${fgmOnly.join(', ')}` : ''}`,
      );
      const attackStart = Date.now();
      const judged = [F1, ...Array.from({ length: r.numNets }, (_, k) => netName(k))].map(get);
      const counts: Record<string, number> = {};
      let bi = 0;
      for (const b of batches(data.attack, { batchSize: 128, normalize: data.norm })) {
        const score = (x: tf.Tensor, key: (who: string) => string) => {
          for (const m of judged) {
            const c = tf.tidy(
              () =>
                tf.sum(tf.cast(tf.equal(tf.argMax(m.model.predict(x) as tf.Tensor, 1), b.y), 'int32')).dataSync()[0],
            );
            counts[key(m.name)] = (counts[key(m.name)] ?? 0) + c;
          }
        };
        score(b.x, (w) => `${w}:clean`);
        for (const eps of [...attack.epsilons, ...fgmOnly]) {
          const f = fgm(get(F1).model, b.x, eps);
          score(f, (w) => `${w}:fgm:${eps}`);
          f.dispose();
          if (fgmOnly.includes(eps)) continue;
          const p = pgd(get(F1).model, b.x, eps, {
            stepSize: attack.pgdStepSize,
            steps: attack.pgdSteps,
            randomStart: true,
            seed: (1_000_003 * o.seed + 7919 * bi + Math.round(eps * 1e4)) >>> 0,
          });
          score(p, (w) => `${w}:pgd:${eps}`);
          p.dispose();
        }
        tf.dispose([b.x, b.y]);
        bi++;
        const done = Math.min(data.attack.size, bi * 128);
        const elapsed = (Date.now() - attackStart) / 1000;
        log(
          `attacked ${done}/${data.attack.size} images (${formatDuration(elapsed)}, ETA ${formatDuration((elapsed * (data.attack.size - done)) / done)})`,
        );
      }
      const n = data.attack.size;
      const who = (name: string): 'baseline' | 'ours' | 'f1' | 'net1' =>
        name === base.name ? 'baseline' : name === ours.name ? 'ours' : name === F1 ? 'f1' : 'net1';
      for (const m of judged) {
        metrics[`${who(m.name)}AttackSubsetCleanPct`] = (100 * counts[`${m.name}:clean`]) / n;
        for (const eps of attack.epsilons)
          for (const a of ['fgm', 'pgd'] as const)
            metrics[attackMetric(who(m.name), a, eps)] = (100 * counts[`${m.name}:${a}:${eps}`]) / n;
        for (const eps of fgmOnly)
          metrics[attackMetric(who(m.name), 'fgm', eps)] = (100 * counts[`${m.name}:fgm:${eps}`]) / n;
      }
      metrics.attackImages = n;
      attackSeconds = (Date.now() - attackStart) / 1000;
      log(`attacks done in ${attackSeconds.toFixed(0)} s`);
    }

    // distance correlations between the networks' features on test batches of 128 (claim 3)
    const feats = new Map<string, Float32Array>();
    for (const m of members) feats.set(m.name, datasetFeatures(m.model, 'features', data.test, data.norm).data);
    const nTest = data.test.size;
    const dim = (name: string) => feats.get(name)!.length / nTest;
    // the full batches of 128 (one batch of every row when there are fewer than 128, and at least 4)
    const ranges =
      nTest >= 128
        ? Array.from({ length: Math.floor(nTest / 128) }, (_, i) => [128 * i, 128 * (i + 1)])
        : nTest >= 4
          ? [[0, nTest]]
          : [];
    for (const [a, bName] of DC_PAIRS) {
      if (!feats.has(a) || !feats.has(bName)) continue;
      const bc: number[] = [];
      const v2: number[] = [];
      for (const [s, e] of ranges) {
        const [u, v] = tf.tidy(() => {
          const xa = tf.tensor2d(feats.get(a)!.subarray(s * dim(a), e * dim(a)), [e - s, dim(a)]);
          const xb = tf.tensor2d(feats.get(bName)!.subarray(s * dim(bName), e * dim(bName)), [e - s, dim(bName)]);
          return [bcdcor(xa, xb).dataSync()[0], dcor2(xa, xb, { rowNormalize: true }).dataSync()[0]];
        });
        bc.push(u);
        v2.push(v);
      }
      const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
      metrics[`bcdcor_${a}_${bName}`] = mean(bc);
      metrics[`dcor2RowNorm_${a}_${bName}`] = mean(v2);
      metrics.dcBatches = bc.length;
    }
    // Table 2 analogue: strong (Baseline) vs weak network, GT = one-hot class embedding
    if (r.weak) {
      const labels = { data: Int32Array.from(data.test.labels), name: 'test labels' };
      const t2 = compareFeatures(
        { data: feats.get(base.name)!, rows: data.test.size, cols: dim(base.name), name: 'strong (net 0) features' },
        { data: feats.get(WEAK)!, rows: data.test.size, cols: dim(WEAK), name: 'weak features' },
        labels,
        builtinEmbedding('one-hot', numClasses),
      );
      for (const s of TABLE2_STATS) {
        metrics[`t2_${s}`] = t2[s].mean;
        metrics[`t2_${s}_sd`] = t2[s].sd;
      }
      metrics.t2Batches = t2.batches;
      metrics.strongCleanPct = metrics[`${base.name}CleanPct`];
      metrics.weakCleanPct = metrics[`${WEAK}CleanPct`];
    }
    // Grad-CAM of Baseline and Ours on the first 8 test images (the attacked runs; a sweep run draws none)
    if (r.attack) {
      const plotsDir = o.plotsDir ?? path.join(o.out, 'plots', PACKAGE, o.scale);
      writeGradCamFigure(
        path.join(plotsDir, `gradcam-${r.id}.seed${o.seed}.png`),
        [
          { label: 'Baseline (net 0)', model: base.model },
          { label: `Ours (net ${r.numNets - 1})`, model: ours.model },
        ],
        data.test,
        data.norm,
        8,
        `Grad-CAM (features_conv), ${r.id} seed ${o.seed}`,
      );
    }
    metrics.params = base.model.countParams();
    const hist = result.history;
    metrics.baselinePlateauGainPct = plateauGain(hist, `${base.name}TestAccPct`, 2);
    metrics.oursPlateauGainPct = plateauGain(hist, `${ours.name}TestAccPct`, 2);

    record = newRunRecord({
      package: PACKAGE,
      runId: r.id,
      seed: o.seed,
      scale: o.scale,
      dataset: data.name,
      model: r.model,
      config: { ...r },
      overrides: { ...ov },
      extra: { attackSeconds },
      history: hist,
      metrics,
      backend: o.backend,
      started,
      codeDir: path.join(__dirname, '..'),
    });
  } finally {
    for (const m of members) {
      m.model.dispose();
      m.opt.dispose();
    }
  }
  record.tensors = { atStart: tensorsAtStart, atEnd: tf.memory().numTensors };
  return record;
}

/**
 * Rows: the first `count` test images (labelled with their true class); columns: the image, then each
 * net's Grad-CAM on 'features_conv' of the class it predicts (named under the tile), blended over the
 * image in jet (red = high). Column labels name the nets (`nets[k].label`).
 */
export function writeGradCamFigure(
  file: string,
  nets: Array<{ label: string; model: tf.LayersModel }>,
  test: ImageDataset,
  norm: BatchOptions['normalize'],
  count = 8,
  title?: string,
): void {
  const [h, w, c] = test.shape;
  const subset = takeIndices(
    test,
    Array.from({ length: Math.min(count, test.size) }, (_, i) => i),
  );
  const b = batches(subset, { batchSize: subset.size, normalize: norm }).next().value as Batch;
  try {
    const pixels = Float32Array.from(subset.images, (v) => v / 255);
    const maps = nets.map(({ model }) => {
      const cam = gradCam(model, b.x, { layer: 'features_conv' });
      const d = cam.dataSync();
      cam.dispose();
      // gradCam explains each image's predicted class: the same argmax of the logits
      const pred = tf.tidy(() => tf.argMax(model.predict(b.x) as tf.Tensor, 1).dataSync() as Int32Array);
      return { d, pred };
    });
    const name = (k: number) => test.classNames[k] ?? String(k);
    const rows = Array.from({ length: subset.size }, (_, i) => {
      const image = pixels.subarray(i * h * w * c, (i + 1) * h * w * c);
      return [
        { image },
        ...maps.map(({ d, pred }) => ({
          image,
          heat: d.subarray(i * h * w, (i + 1) * h * w),
          caption: `explains: ${name(pred[i])}`,
        })),
      ];
    });
    // tiles of ~112 px: 28x28 Fashion-MNIST x4, 224x224 ImageNet x1
    writeOverlayGridPng(file, rows, {
      h,
      w,
      channels: c === 1 ? 1 : 3,
      scale: Math.max(1, Math.round(112 / h)),
      title,
      colLabels: ['test image', ...nets.map((n) => `${n.label}\nGrad-CAM`)],
      rowLabels: Array.from({ length: subset.size }, (_, i) => `#${i} true: ${name(subset.labels[i])}`),
    });
  } finally {
    tf.dispose([b.x, b.y]);
  }
}
