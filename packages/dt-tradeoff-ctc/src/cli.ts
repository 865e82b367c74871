#!/usr/bin/env node
/**
 * dt-tradeoff-ctc: "Discriminability-Transferability Trade-Off: An Information-Theoretic Perspective"
 * (Cui, Zhao et al., ECCV 2022; DTennant/dt-tradeoff). The package declares its runs, claims, how to
 * train and analyse one run and its plots; definePaper gives train / eval / reproduce / table. The
 * `transfer` and `mine` commands are the repository's transfer.py and mine.py over a folder of
 * ckpt_epoch_<k> checkpoints.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import {
  BACKEND_PREFERENCES,
  MAX_ID_LENGTH,
  Rng,
  assertSafeId,
  initBackend,
  parseBackendPreference,
  writeFileAtomic,
} from '@repro/runtime';
import { DATASETS, DatasetName, loadDataset, takeIndices } from '@repro/datasets';
import { disposeModel, listModels, loadCheckedModel } from '@repro/models';
import { mine } from '@repro/core-metrics';
import {
  FLAG_LIMITS,
  FlagParser,
  checkOutputDir,
  LinePoint,
  RunRecord,
  definePaper,
  evaluateClassifier,
  lineChartSpec,
  meanBand,
  integerFlag,
  newRunRecord,
  nonNegativeInt,
  nonNegativeNumber,
  numberFlag,
  positiveInt,
  positiveNumber,
  probability,
  runCli,
  writeRunRecord,
  writePlot,
} from '@repro/experiments';
import { stringify } from 'csv-stringify/sync';
import {
  ALL_RUNS,
  CPU_EPOCHS,
  CPU_RUNS,
  DtRun,
  PACKAGE,
  PAPER_RUNS,
  ProbeConfig,
  REPO_PROBE,
  dtStyles,
  resolveRun,
} from './runs';
import { CLAIMS, GAUSSIAN_CASES, GaussianCase, MINE_CHECK_RUN, PUBLISHED } from './published';
import { CheckpointAnalysis, ckptName, loadRunData, runDir, trainDtRun } from './temporal';
import {
  MineMode,
  PROBE_PROTOCOLS,
  ProbeProtocol,
  linearProbe,
  pooledInputs,
  inferenceFeatures,
  summarizeMine,
} from './analysis';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const analyses = (r: RunRecord) => (r.extra?.checkpoints as CheckpointAnalysis[] | undefined) ?? [];

/** Mean and 95% band over seeds of a per-checkpoint quantity, one line. */
function checkpointCurve(
  recs: RunRecord[],
  f: (a: CheckpointAnalysis) => number | undefined,
  series: string,
): LinePoint[] {
  const epochs = analyses(recs[0]).map((a) => a.epoch);
  return epochs
    .map((e) => ({
      series,
      x: e,
      ...meanBand(recs.map((r) => f(analyses(r).find((a) => a.epoch === e)!) ?? NaN)),
    }))
    .filter((p) => Number.isFinite(p.y));
}

const MODE_LABEL: Record<MineMode, string> = {
  xt: 'I(X;T)',
  'ty-source': 'I(T;Y source)',
  'ty-target': 'I(T;Y target)',
};

async function plots(records: RunRecord[], dir: string): Promise<void> {
  // one colour per method and per quantity in every plot (runs.ts)
  const style = dtStyles();
  for (const scale of ['cpu', 'smoke', 'paper'] as const) {
    const recs = records.filter((r) => r.scale === scale && r.complete && r.runId !== MINE_CHECK_RUN);
    const out = path.join(dir, scale);
    for (const id of [...new Set(recs.map((r) => r.runId))]) {
      const rs = recs.filter((r) => r.runId === id).sort((a, b) => a.seed - b.seed);
      const seeds = `${rs.length} seed(s)`;
      await writePlot(
        path.join(out, `${id}-accuracy-by-epoch`),
        lineChartSpec(
          [
            ...checkpointCurve(rs, (a) => a.sourceAccPct, 'discriminability: source test accuracy'),
            ...checkpointCurve(
              rs,
              (a) => a.probe.repo.reportedPct,
              'transferability: repo probe (BN train mode, best epoch)',
            ),
            ...checkpointCurve(
              rs,
              (a) => a.probe.strict.reportedPct,
              'transferability: strict probe (BN frozen, last epoch)',
            ),
          ],
          {
            title: `${id}: accuracy by checkpoint, mean and 95% CI over ${seeds} (${rs[0].dataset}, ${scale})`,
            xLabel: 'training epoch of the checkpoint',
            yLabel: 'accuracy (%)',
            integerX: true,
            style,
          },
        ),
      );
      for (const [key, label] of [
        ['transfer', 'transferability (target probe accuracy, %)'],
        ['source', 'discriminability (source test accuracy, %)'],
      ] as const) {
        const pts =
          key === 'source'
            ? checkpointCurve(rs, (a) => a.sourceAccPct, 'source test accuracy')
            : PROBE_PROTOCOLS.flatMap((p) => checkpointCurve(rs, (a) => a.probe[p].reportedPct, `${p} probe`));
        await writePlot(
          path.join(out, `${id}-${key}-by-epoch`),
          lineChartSpec(pts, {
            title: `${id}: ${label.split(' (')[0]} by checkpoint, mean and 95% CI over ${seeds} (${scale})`,
            xLabel: 'training epoch of the checkpoint',
            yLabel: label,
            integerX: true,
            style,
          }),
        );
      }
      const withMine = analyses(rs[0]).filter((a) => a.mine);
      const modes = (['xt', 'ty-source', 'ty-target'] as MineMode[]).filter((m) => withMine.some((a) => a.mine?.[m]));
      if (withMine.length) {
        for (const mode of modes)
          await writePlot(
            path.join(out, `${id}-mine-${mode}-by-epoch`),
            lineChartSpec(
              [
                ...checkpointCurve(
                  rs,
                  (a) => a.mine?.[mode]?.estimate,
                  `${MODE_LABEL[mode]} training window (mine.py's value)`,
                ),
                ...checkpointCurve(rs, (a) => a.mine?.[mode]?.heldOut, `${MODE_LABEL[mode]} held out`),
              ],
              {
                title: `${id}: MINE ${MODE_LABEL[mode]} by checkpoint, mean and 95% CI over ${seeds} (${scale})`,
                xLabel: 'training epoch of the checkpoint',
                yLabel: 'nats',
                integerX: true,
                style,
              },
            ),
          );
        // the information plane: seed-mean I(X;T) vs I(T;Y) in epoch order, one path per label set
        const plane: LinePoint[] = [];
        for (const mode of modes.filter((m) => m !== 'xt'))
          for (const a of withMine) {
            const vals = rs.map((r) => analyses(r).find((b) => b.epoch === a.epoch)?.mine);
            const x = meanBand(vals.map((v) => v?.xt?.estimate ?? NaN)).y;
            const y = meanBand(vals.map((v) => v?.[mode]?.estimate ?? NaN)).y;
            if (Number.isFinite(x) && Number.isFinite(y))
              plane.push({ series: `${MODE_LABEL[mode]} (epochs ${withMine.map((w) => w.epoch).join(', ')})`, x, y });
          }
        await writePlot(
          path.join(out, `${id}-information-plane`),
          lineChartSpec(plane, {
            title: `${id}: information plane, seed means over ${seeds}, path in epoch order (${scale})`,
            xLabel: 'I(X;T) (nats, MINE)',
            yLabel: 'I(T;Y) (nats, MINE)',
            pathOrder: true,
            style,
          }),
        );
        // the training curves of every MINE estimate of the first seed: is it optimised?
        for (const mode of modes)
          await writePlot(
            path.join(out, `${id}-mine-${mode}-training-curves.seed${rs[0].seed}`),
            lineChartSpec(
              analyses(rs[0])
                .filter((a) => a.mine)
                .flatMap((a) =>
                  (a.mine![mode]?.curve ?? []).map(([it, v]) => ({
                    series: `epoch ${a.epoch} (${a.mine![mode]!.verdict})`,
                    x: it,
                    y: v,
                  })),
                ),
              {
                title: `${id} seed ${rs[0].seed}: MINE ${MODE_LABEL[mode]} training curve (windowed) per checkpoint, with its verdict`,
                xLabel: 'MINE iteration',
                yLabel: 'windowed DV bound (nats)',
                style: dtStyles(MODE_LABEL[mode]),
              },
            ),
          );
      }
    }
    // vanilla vs CTC transfer by checkpoint
    const van = recs.filter((r) => r.runId === `${scale === 'paper' ? 'paper' : 'cpu'}-vanilla`);
    const ctc = recs.filter((r) => r.runId.includes('ctc'));
    if (van.length && ctc.length)
      await writePlot(
        path.join(out, 'vanilla-vs-ctc-transfer'),
        lineChartSpec(
          [...van, ...ctc].length
            ? PROBE_PROTOCOLS.flatMap((p) => [
                ...checkpointCurve(van, (a) => a.probe[p].reportedPct, `vanilla, ${p} probe`),
                ...checkpointCurve(ctc, (a) => a.probe[p].reportedPct, `CTC, ${p} probe`),
              ])
            : [],
          {
            title: `Transfer accuracy by checkpoint: vanilla vs CTC, mean and 95% CI over seeds (${scale})`,
            xLabel: 'training epoch of the checkpoint',
            yLabel: 'target probe accuracy (%)',
            integerX: true,
            style,
          },
        ),
      );
  }
}

/** Correlated Gaussians: x ~ N(0, I_p), y ~ N(0, I_q) with y_i = ρx_i + √(1−ρ²)ε_i for the first `pairs` coordinates. */
export function gaussianPair(c: GaussianCase): [tf.Tensor2D, tf.Tensor2D] {
  const rng = new Rng(c.seed);
  const x = new Float32Array(c.n * c.p);
  const y = new Float32Array(c.n * c.q);
  const s = Math.sqrt(1 - c.rho * c.rho);
  for (let i = 0; i < c.n; i++) {
    for (let j = 0; j < c.p; j++) x[i * c.p + j] = rng.normal();
    for (let j = 0; j < c.q; j++)
      y[i * c.q + j] = j < c.pairs ? c.rho * x[i * c.p + j] + s * rng.normal() : rng.normal();
  }
  return [tf.tensor2d(x, [c.n, c.p]), tf.tensor2d(y, [c.n, c.q])];
}

function mineCheckRun(
  run: DtRun,
  scale: 'smoke' | 'cpu' | 'paper',
  seed: number,
  backend: RunRecord['backend'],
): RunRecord {
  const started = new Date();
  const tensorsAtStart = tf.memory().numTensors;
  const r = resolveRun(run, scale);
  const metrics: Record<string, number> = {};
  const verdicts: Record<string, string> = {};
  const cases = scale === 'smoke' ? GAUSSIAN_CASES.slice(0, 2) : GAUSSIAN_CASES;
  for (const c of cases) {
    const [x, y] = gaussianPair(c);
    try {
      const t0 = Date.now();
      const res = summarizeMine(mine(x, y, { ...r.mine.xt, seed }));
      metrics[`${c.name}_estimate`] = res.estimate;
      metrics[`${c.name}_heldOut`] = res.heldOut;
      metrics[`${c.name}_trueMi`] = c.trueMiNats;
      verdicts[c.name] = res.verdict;
      process.stderr.write(
        `${run.id} seed ${seed}: ${c.name}: MINE ${res.estimate.toFixed(3)} (held out ${res.heldOut.toFixed(3)}, ${res.verdict}) vs true ${c.trueMiNats.toFixed(3)} nats (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
      );
    } finally {
      tf.dispose([x, y]);
    }
  }
  const record = newRunRecord({
    package: PACKAGE,
    runId: run.id,
    seed,
    scale,
    dataset: 'correlated Gaussians',
    model: `MINE statistics network ${r.mine.xt.hidden}x3`,
    // the run's configuration, as reproduce compares it to skip finished jobs; the cases go in extra
    config: { ...r },
    overrides: {},
    history: [],
    metrics,
    extra: { verdicts, cases },
    backend,
    started,
    codeDir: __dirname,
  });
  record.tensors = { atStart: tensorsAtStart, atEnd: tf.memory().numTensors };
  return record;
}

export const paper = definePaper<DtRun>({
  name: PACKAGE,
  description:
    'Reproduce the discriminability-transferability trade-off (Cui, Zhao et al., ECCV 2022): temporal analysis of source accuracy, linear-probe transfer (two protocols) and MINE I(X;T), I(T;Y) over checkpoints, and Contrastive Temporal Coding; paper scale CIFAR-100 -> CINIC-10 ResNeXt32-16x4d, cpu scale Fashion-MNIST super-classes -> the ten classes.',
  runs: ALL_RUNS,
  published: PUBLISHED,
  claims: CLAIMS,
  resolve: (run, scale) => resolveRun(run, scale) as unknown as Record<string, unknown>,
  trainRun: (run, ctx) =>
    run.kind === 'mine-check'
      ? Promise.resolve(mineCheckRun(run, ctx.scale, ctx.seed, ctx.backend))
      : trainDtRun(run, ctx),
  evalRun: async (run, { scale, seed, out, dataDir }) => {
    const r = resolveRun(run, scale);
    if (r.kind === 'mine-check') return `${run.id} seed ${seed}: nothing to evaluate (MINE on Gaussians)`;
    const dir = path.join(runDir(out, scale, run.id, seed), 'final');
    if (!fs.existsSync(dir)) throw new Error(`${run.id} seed ${seed}: no saved model at ${dir}; train it first`);
    const d = loadRunData(r, { scale, dataDir });
    const model = await loadCheckedModel(dir, {
      inputShape: d.sourceTest.shape,
      numClasses: d.sourceTest.numClasses,
      data: `${d.sourceTest.name} ${d.sourceTest.split}`,
    });
    try {
      const acc = evaluateClassifier(model, d.sourceTest, { batchSize: 500, normalize: d.sourceNorm }).accuracy;
      return `${run.id} seed ${seed}: source test accuracy ${(100 * acc).toFixed(2)}% (${d.sourceTest.size} images, ${d.sourceTest.numClasses} classes)`;
    } finally {
      disposeModel(model);
    }
  },
  cost: (run, scale) => {
    const r = resolveRun(run, scale);
    if (r.kind === 'mine-check') return 4;
    return r.epochs * (r.kind === 'ctc' ? 1.3 : 1) + 2 * (r.epochs / r.saveFreq);
  },
  summarizeRecord: (rec) =>
    rec.runId === MINE_CHECK_RUN
      ? Object.entries(rec.metrics)
          .filter(([k]) => k.endsWith('_estimate'))
          .map(([k, v]) => `${k.replace('_estimate', '')} ${v.toFixed(3)}`)
          .join(', ')
      : `source ${rec.metrics.sourceTestAccPct.toFixed(2)}%, probe repo ${rec.metrics.probeRepoPct?.toFixed(2)}% strict ${rec.metrics.probeStrictPct?.toFixed(2)}%`,
  plots,
  summary: (scale) =>
    scale === 'cpu'
      ? `Fashion-MNIST, binary super-class source (6,000 images) -> ten-class probe; vanilla ${CPU_EPOCHS} epochs and CTC 60 epochs x 3 seeds, a 4-class pilot, MINE on Gaussians; budget 40 min`
      : '',
  epilog: [
    'Runs (id  row: description):',
    ...ALL_RUNS.map((r) => `  ${r.id.padEnd(28)} ${r.row}: ${r.description} [${r.scale}]`),
    '',
    'Scales: smoke = the cpu runs on the 300-image fixture, 4-5 epochs, width 4 (seconds);',
    '        cpu = Fashion-MNIST super-classes -> ten classes (default; 40 min budget on 2 cores);',
    '        paper = CIFAR-100 -> CINIC-10, ResNeXt32-16x4d, the README recipes; needs --data-dir; for a GPU machine.',
    '',
    'transfer / mine: transfer.py and mine.py over a folder of ckpt_epoch_<k> checkpoints; see their --help.',
  ].join('\n'),
  cli: __filename,
  root: ROOT,
});

// ---------------------------------------------------------------------------------------------
// transfer.py and mine.py over a checkpoint folder

/**
 * The parsers of the transfer and mine flags: commander runs them at parse time, and runTransfer /
 * runMine run them again on the options they are given (strings from code, numbers from the CLI).
 */
const FLAGS = {
  startEpoch: nonNegativeInt('--start-epoch', FLAG_LIMITS.epochs),
  skip: positiveInt('--skip', FLAG_LIMITS.epochs),
  numClasses: integerFlag('--num-classes', 2),
  probeEpochs: positiveInt('--epochs', FLAG_LIMITS.epochs),
  lr: positiveNumber('--lr'),
  batchSize: positiveInt('--batch-size', FLAG_LIMITS.batchSize),
  limit: positiveInt('--limit'),
  iterNum: positiveInt('--iter-num', FLAG_LIMITS.iterations),
  hidden: positiveInt('--hidden', FLAG_LIMITS.width),
  examples: positiveInt('--examples'),
  xPool: positiveInt('--x-pool', FLAG_LIMITS.width),
} satisfies Record<string, FlagParser>;

/** A flag's value: `fallback` when not given, else the flag's parser applied (a CLI number or a string). */
const flag = <T>(parse: FlagParser<T>, v: string | number | undefined, fallback: T): T =>
  v === undefined ? fallback : parse(v);

function parseDataset(flag: string, v: string): DatasetName {
  if (!(v in DATASETS)) throw new Error(`${flag} '${v}': unknown dataset; known: ${Object.keys(DATASETS).join(', ')}`);
  return v as DatasetName;
}

/**
 * The checkpoints of a folder from start, start+skip, … : every one must exist and be complete up to
 * the last epoch present (a gap in the sequence is an error, not the end, unlike transfer.py).
 */
export function checkpointSequence(
  ckptPath: string,
  start: number,
  skip: number,
): Array<{ epoch: number; dir: string }> {
  if (!fs.existsSync(ckptPath)) throw new Error(`--ckpt-path ${ckptPath}: no such folder`);
  if (!fs.statSync(ckptPath).isDirectory())
    throw new Error(`--ckpt-path ${ckptPath}: not a folder (expected the folder holding ckpt_epoch_<k>/)`);
  if (skip < 1) throw new Error(`--skip must be >= 1, got ${skip}`);
  const present = fs
    .readdirSync(ckptPath)
    .map((n) => /^ckpt_epoch_(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (present.length === 0) throw new Error(`--ckpt-path ${ckptPath}: no ckpt_epoch_<k> folders`);
  const last = Math.max(...present);
  const out: Array<{ epoch: number; dir: string }> = [];
  for (let e = start; e <= last; e += skip) {
    const dir = path.join(ckptPath, ckptName(e));
    if (!fs.existsSync(path.join(dir, 'model.json')))
      throw new Error(
        `${dir}: missing checkpoint (the folder has epochs up to ${last} with --start-epoch ${start} --skip ${skip})`,
      );
    out.push({ epoch: e, dir });
  }
  if (out.length === 0) throw new Error(`--ckpt-path ${ckptPath}: no checkpoint at or after epoch ${start}`);
  return out;
}

/** The flags of `transfer`: strings as typed, or numbers as the CLI's parsers return them. */
export interface TransferCliOptions {
  ckptPath: string;
  targetDataset: string;
  numClasses?: string | number;
  protocol?: string;
  startEpoch?: string | number;
  skip?: string | number;
  epochs?: string | number;
  lr?: string | number;
  batchSize?: string | number;
  limit?: string | number;
  dataDir?: string;
  out: string;
  backend?: string;
}

/**
 * Loads and checks every checkpoint of a sequence before any work (and disposes it): a checkpoint
 * that does not match its weights, holds NaN or Inf, or takes other images than `dataset`'s fails
 * here, naming its folder, instead of after the earlier checkpoints were analysed.
 */
async function checkCheckpoints(
  seq: Array<{ epoch: number; dir: string }>,
  shape: readonly number[],
  dataset: string,
): Promise<void> {
  for (const { dir } of seq) disposeModel(await loadCheckedModel(dir, { inputShape: shape, data: dataset }));
}

/** transfer.py: a linear probe of every checkpoint; all checks before any work, the CSV written once at the end. */
export async function runTransfer(o: TransferCliOptions): Promise<Array<Record<string, number | string>>> {
  const target = parseDataset('--target-dataset', o.targetDataset);
  const info = DATASETS[target];
  const numClasses = flag(FLAGS.numClasses, o.numClasses, info.numClasses);
  if (numClasses !== info.numClasses)
    throw new Error(`--num-classes ${numClasses}: ${target} has ${info.numClasses} classes`);
  const protocols: ProbeProtocol[] =
    (o.protocol ?? 'both') === 'both' ? [...PROBE_PROTOCOLS] : [o.protocol as ProbeProtocol];
  for (const p of protocols)
    if (!PROBE_PROTOCOLS.includes(p)) throw new Error(`--protocol '${p}': expected repo, strict or both`);
  const cfg: ProbeConfig = {
    ...REPO_PROBE,
    epochs: flag(FLAGS.probeEpochs, o.epochs, REPO_PROBE.epochs),
    lr: flag(FLAGS.lr, o.lr, REPO_PROBE.lr),
    batchSize: flag(FLAGS.batchSize, o.batchSize, REPO_PROBE.batchSize),
  };
  const limit = flag(FLAGS.limit, o.limit, undefined);
  const seq = checkpointSequence(o.ckptPath, flag(FLAGS.startEpoch, o.startEpoch, 2), flag(FLAGS.skip, o.skip, 2));
  checkOutputDir('--out', o.out);
  await initBackend(parseBackendPreference(o.backend));
  await checkCheckpoints(seq, info.shape, target);
  const load = (split: 'train' | 'test') => {
    const ds = loadDataset(target, split, { dataDir: o.dataDir, requester: 'transfer' }).data;
    return limit !== undefined && limit < ds.size
      ? takeIndices(
          ds,
          Int32Array.from({ length: limit }, (_, i) => i),
        )
      : ds;
  };
  const train = load('train');
  const test = load('test');
  if (train.numClasses !== numClasses)
    throw new Error(`--num-classes ${numClasses}: ${target} has ${train.numClasses} classes`);
  const rows: Array<Record<string, number | string>> = [];
  for (const { epoch, dir } of seq) {
    for (const protocol of protocols) {
      const model = await loadCheckedModel(dir, { inputShape: info.shape, data: target });
      try {
        const res = linearProbe(model, train, test, {
          protocol,
          config: cfg,
          normalize: info.normalize,
          numClasses,
          seed: 1,
        });
        rows.push({
          epoch,
          protocol,
          reportedPct: res.reportedPct,
          bestPct: res.bestPct,
          bestEpoch: res.bestEpoch,
          lastPct: res.lastPct,
        });
        process.stderr.write(`transfer: epoch ${epoch} ${protocol} probe ${res.reportedPct.toFixed(2)}%\n`);
      } finally {
        disposeModel(model);
      }
    }
  }
  fs.mkdirSync(o.out, { recursive: true });
  writeFileAtomic(path.join(o.out, 'transfer.csv'), stringify(rows, { header: true }));
  return rows;
}

/** The flags of `mine`: strings as typed, or numbers as the CLI's parsers return them. */
export interface MineCliOptions {
  ckptPath: string;
  mode: string;
  dataset: string;
  lr?: string | number;
  iterNum?: string | number;
  hidden?: string | number;
  batchSize?: string | number;
  examples?: string | number;
  xPool?: string | number;
  startEpoch?: string | number;
  skip?: string | number;
  dataDir?: string;
  out: string;
  backend?: string;
}

/** mine.py: I(X;T) or I(T;Y) of every checkpoint on a dataset's test split, with held-out values and verdicts. */
export async function runMine(o: MineCliOptions): Promise<Array<Record<string, number | string>>> {
  if (o.mode !== 'xt' && o.mode !== 'ty') throw new Error(`--mode '${o.mode}': expected xt or ty`);
  const name = parseDataset('--dataset', o.dataset);
  const info = DATASETS[name];
  const settings = {
    learningRate: flag(FLAGS.lr, o.lr, 1e-4),
    iterations: flag(FLAGS.iterNum, o.iterNum, 5000),
    hidden: flag(FLAGS.hidden, o.hidden, 1024),
    batchSize: flag(FLAGS.batchSize, o.batchSize, 500),
  };
  const examples = flag(FLAGS.examples, o.examples, undefined);
  const xPool = flag(FLAGS.xPool, o.xPool, 1);
  if (o.mode === 'xt' && xPool > Math.min(info.shape[0], info.shape[1]))
    throw new Error(
      `--x-pool ${xPool}: larger than the ${info.shape[0]}x${info.shape[1]} images of ${name} (nothing would be left to pool)`,
    );
  const seq = checkpointSequence(o.ckptPath, flag(FLAGS.startEpoch, o.startEpoch, 2), flag(FLAGS.skip, o.skip, 2));
  checkOutputDir('--out', o.out);
  await initBackend(parseBackendPreference(o.backend));
  await checkCheckpoints(seq, info.shape, name);
  const full = loadDataset(name, 'test', { dataDir: o.dataDir, requester: 'mine' }).data;
  const n = Math.min(examples ?? full.size, full.size);
  const ds = takeIndices(
    full,
    Int32Array.from({ length: n }, (_, i) => i),
  );
  const x = o.mode === 'xt' ? pooledInputs(ds, info.normalize, xPool) : undefined;
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ds.labels, 'int32'), ds.numClasses), 'float32') as tf.Tensor2D);
  const rows: Array<Record<string, number | string>> = [];
  try {
    for (const { epoch, dir } of seq) {
      const model = await loadCheckedModel(dir, { inputShape: info.shape, data: name });
      const t = inferenceFeatures(model, ds, info.normalize);
      disposeModel(model);
      try {
        const res = summarizeMine(
          o.mode === 'xt' ? mine(x!, t, { ...settings, seed: 1 }) : mine(t, y, { ...settings, seed: 1 }),
        );
        rows.push({
          epoch,
          mode: o.mode,
          estimate: res.estimate,
          heldOut: res.heldOut,
          verdict: res.verdict,
          overfitGap: res.overfitGap,
        });
        process.stderr.write(
          `mine: epoch ${epoch} ${o.mode} ${res.estimate.toFixed(4)} nats (held out ${res.heldOut.toFixed(4)}, ${res.verdict})\n`,
        );
      } finally {
        t.dispose();
      }
    }
  } finally {
    tf.dispose([y, ...(x ? [x] : [])]);
  }
  fs.mkdirSync(o.out, { recursive: true });
  writeFileAtomic(path.join(o.out, `mine-${o.mode}.csv`), stringify(rows, { header: true }));
  return rows;
}

/**
 * The parsers of train_vanilla.py's / train_ctc.py's flags (commander runs them at parse time,
 * runTrainScript again on what it is given).
 */
const TRAIN_FLAGS = {
  epochs: positiveInt('--epochs', FLAG_LIMITS.epochs),
  momentum: numberFlag('--momentum', { min: 0, max: 1, maxExclusive: true }),
  learning_rate: positiveNumber('--learning_rate'),
  batch_size: positiveInt('--batch_size', FLAG_LIMITS.batchSize),
  weight_decay: nonNegativeNumber('--weight_decay'),
  save_freq: positiveInt('--save_freq', FLAG_LIMITS.epochs),
  weight_decay_coef: nonNegativeNumber('--weight_decay_coef'),
  stage_two_epoch: nonNegativeInt('--stage_two_epoch', FLAG_LIMITS.epochs),
  stage_two_decay_rate: positiveNumber('--stage_two_decay_rate'),
  alpha: nonNegativeNumber('-a'),
  beta: nonNegativeNumber('-b'),
  instance_t: positiveNumber('--instance_t'),
  instance_m: probability('--instance_m'),
  instance_dim: positiveInt('--instance_dim', FLAG_LIMITS.width),
  nce_t: positiveNumber('--nce_t'),
  nce_m: probability('--nce_m'),
  nce_k: positiveInt('--nce_k', FLAG_LIMITS.negatives),
  contrast_feat_dim: positiveInt('--contrast_feat_dim', FLAG_LIMITS.width),
  seed: nonNegativeInt('--seed', FLAG_LIMITS.seed),
} satisfies Record<string, FlagParser>;

type TrainFlag = keyof typeof TRAIN_FLAGS;

/** The flags of train_vanilla.py / train_ctc.py, as the README spells them (numbers from the CLI's parsers). */
export interface TrainScriptOptions extends Partial<Record<TrainFlag, string | number>> {
  dataset: string;
  model?: string;
  note?: string;
  update_memory_bank?: boolean;
  trainProjector?: boolean;
  renormalizeNce?: boolean;
  out: string;
  dataDir?: string;
  backend?: string;
  resume?: boolean;
}

/**
 * The run id of a train_vanilla.py / train_ctc.py run: custom-<kind>[-<note>], the note kept as it is
 * when it is letters, digits, '_', '.' and '-' (the ids of the records written so far), every other
 * character as the %HH of its UTF-8 bytes ('%' itself too): two notes never share an id, and
 * decodeURIComponent of the part after custom-<kind>- gives the note back. A note whose id would be
 * too long for a file name is refused.
 */
export function customRunId(kind: 'vanilla' | 'ctc', note: string | undefined): string {
  if (!note) return `custom-${kind}`;
  let encoded = '';
  for (const ch of note) {
    if (/^[A-Za-z0-9_.-]$/.test(ch)) encoded += ch;
    else if (/^[\uD800-\uDFFF]$/.test(ch))
      throw new Error(`--note: not valid Unicode text (a lone surrogate at ${JSON.stringify(ch)})`);
    else for (const b of Buffer.from(ch, 'utf8')) encoded += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  const id = `custom-${kind}-${encoded}`;
  if (id.length > MAX_ID_LENGTH)
    throw new Error(
      `--note: the run id would be ${id.length} characters (at most ${MAX_ID_LENGTH}; characters other than letters, digits, '_', '.' and '-' take 3 to 12 each); use a shorter note`,
    );
  return assertSafeId(id, '--note: run id');
}

/**
 * train_vanilla.py / train_ctc.py with the README's flags: the declared run of that dataset (cifar100:
 * the paper runs, fashion-mnist: the cpu runs) with every given flag applied; trains and keeps the
 * checkpoints (no analysis: run `transfer` and `mine` on them, as the README does). @returns the record.
 */
export async function runTrainScript(kind: 'vanilla' | 'ctc', o: TrainScriptOptions): Promise<RunRecord> {
  const dataset = parseDataset('--dataset', o.dataset);
  const pool = dataset === 'cifar100' ? PAPER_RUNS : dataset === 'fashion-mnist' ? CPU_RUNS : undefined;
  if (!pool)
    throw new Error(
      `--dataset ${dataset}: train_${kind}.py runs on cifar100 (paper scale) or fashion-mnist (cpu scale)`,
    );
  const base = pool.find((r) => r.kind === kind)!;
  const val = (k: TrainFlag, fallback: number) => flag(TRAIN_FLAGS[k], o[k], fallback);
  if (o.model !== undefined && !listModels().includes(o.model))
    throw new Error(`--model '${o.model}': unknown model; known models: ${listModels().join(', ')}`);
  const epochs = val('epochs', base.epochs);
  let ctc = base.ctc;
  if (kind === 'ctc') {
    const c = base.ctc!;
    ctc = {
      a: val('alpha', c.a),
      b: val('beta', c.b),
      instanceT: val('instance_t', c.instanceT),
      instanceM: val('instance_m', c.instanceM),
      instanceDim: val('instance_dim', c.instanceDim),
      nceT: val('nce_t', c.nceT),
      nceM: val('nce_m', c.nceM),
      nceK: val('nce_k', c.nceK),
      contrastFeatDim: val('contrast_feat_dim', c.contrastFeatDim),
      stageTwoEpoch: val('stage_two_epoch', c.stageTwoEpoch),
      stageTwoDecayRate: val('stage_two_decay_rate', c.stageTwoDecayRate),
      weightDecayCoef: val('weight_decay_coef', c.weightDecayCoef),
      updateMemoryBank: o.update_memory_bank ?? false,
      trainProjector: o.trainProjector ?? false,
      renormalizeNce: o.renormalizeNce ?? false,
    };
    if (ctc.stageTwoEpoch >= epochs)
      throw new Error(
        `--stage_two_epoch ${ctc.stageTwoEpoch} must be below --epochs ${epochs} (stage 2 would never run)`,
      );
  }
  const run: DtRun = {
    ...base,
    id: customRunId(kind, o.note),
    row: `train_${kind}.py with the given flags`,
    description: 'a user-defined run',
    model: { ...base.model, ...(o.model ? { model: o.model } : {}) },
    epochs,
    batchSize: val('batch_size', base.batchSize),
    lr: val('learning_rate', base.lr),
    momentum: val('momentum', base.momentum),
    weightDecay: val('weight_decay', base.weightDecay),
    saveFreq: val('save_freq', base.saveFreq),
    ...(ctc ? { ctc } : {}),
  };
  const seed = val('seed', 1);
  checkOutputDir('--out', o.out);
  const backend = await initBackend(parseBackendPreference(o.backend));
  const scale = dataset === 'cifar100' ? 'paper' : 'cpu';
  const rec = await trainDtRun(run, {
    scale,
    seed,
    out: o.out,
    dataDir: o.dataDir,
    resume: Boolean(o.resume),
    backend,
    skipAnalysis: true,
  });
  const file = writeRunRecord(path.join(o.out, 'runs'), rec);
  process.stderr.write(
    `train_${kind}: ${run.id} seed ${seed}: source test accuracy ${rec.metrics.sourceTestAccPct.toFixed(2)}% -> ${file}\n` +
      `checkpoints: ${path.join(runDir(o.out, scale, run.id, seed), 'ckpt')} (analyse them with transfer and mine)\n`,
  );
  return rec;
}

function trainScriptCommand(kind: 'vanilla' | 'ctc'): Command {
  const cmd = new Command(`train-${kind}`)
    .description(
      `train_${kind}.py with the README's flags (${kind === 'vanilla' ? 'README "Vanilla training"' : 'README "Training with contrastive temporal coding"'}): trains, keeps ckpt_epoch_<k> every --save_freq epochs, writes a run record; analyse the checkpoints with transfer and mine`,
    )
    .option('--epochs <n>', `training epochs (1 to ${FLAG_LIMITS.epochs})`, TRAIN_FLAGS.epochs)
    .requiredOption('--dataset <name>', 'cifar100 (paper scale, needs --data-dir) or fashion-mnist (the cpu task)')
    .addOption(new Option('--model <name>', 'registry model (resnext32_16x4d at paper scale)').choices(listModels()))
    .option('--momentum <x>', 'SGD momentum, in [0, 1)', TRAIN_FLAGS.momentum)
    .option('--learning_rate <x>', 'base learning rate (> 0)', TRAIN_FLAGS.learning_rate)
    .option('--batch_size <n>', `batch size (1 to ${FLAG_LIMITS.batchSize})`, TRAIN_FLAGS.batch_size)
    .option('--weight_decay <x>', 'L2 weight decay (>= 0)', TRAIN_FLAGS.weight_decay)
    .option('--save_freq <n>', 'keep a checkpoint every n epochs', TRAIN_FLAGS.save_freq)
    .option(
      '--note <text>',
      "a tag in the run id (custom-<kind>-<note>; characters other than letters, digits, '_', '.' and '-' as %HH of their UTF-8 bytes)",
    );
  if (kind === 'ctc')
    cmd
      .option('--weight_decay_coef <x>', 'weight decay multiplier during stage 1 (>= 0)', TRAIN_FLAGS.weight_decay_coef)
      .option(
        '--stage_two_epoch <n>',
        'the epoch that ends stage 1 (the snapshot is taken there); below --epochs',
        TRAIN_FLAGS.stage_two_epoch,
      )
      .option(
        '--stage_two_decay_rate <x>',
        'stage 2 starts at this fraction of the learning rate (> 0)',
        TRAIN_FLAGS.stage_two_decay_rate,
      )
      .option('-a, --alpha <x>', 'weight of the stage-1 instance discrimination (>= 0)', TRAIN_FLAGS.alpha)
      .option('-b, --beta <x>', 'weight of the stage-2 temporal NCE (>= 0)', TRAIN_FLAGS.beta)
      .option('--instance_t <x>', 'temperature of the stage-1 instance memory (> 0)', TRAIN_FLAGS.instance_t)
      .option('--instance_m <x>', 'momentum of the stage-1 instance memory, in [0, 1]', TRAIN_FLAGS.instance_m)
      .option('--instance_dim <n>', `projection size of stage 1 (1 to ${FLAG_LIMITS.width})`, TRAIN_FLAGS.instance_dim)
      .option('--nce_t <x>', 'temperature of the stage-2 NCE (> 0)', TRAIN_FLAGS.nce_t)
      .option('--nce_m <x>', 'momentum of the stage-2 memories, in [0, 1]', TRAIN_FLAGS.nce_m)
      .option('--nce_k <n>', `negatives per example in stage 2 (1 to ${FLAG_LIMITS.negatives})`, TRAIN_FLAGS.nce_k)
      .option(
        '--contrast_feat_dim <n>',
        `embedding size of stage 2 (1 to ${FLAG_LIMITS.width})`,
        TRAIN_FLAGS.contrast_feat_dim,
      )
      .option('--update_memory_bank', 'refill both stage-2 memories from the snapshot before stage 2')
      .option('--train-projector', 'quirk fix: train the stage-1 projector (the official code never optimises it)')
      .option(
        '--renormalize-nce',
        'quirk fix: recompute the NCE normaliser Z every batch (the official code freezes it)',
      );
  return cmd
    .option('--seed <k>', `seed (0 to ${FLAG_LIMITS.seed})`, TRAIN_FLAGS.seed, 1)
    .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR)')
    .option('--resume', "continue from the run's checkpoint")
    .requiredOption('--out <dir>', 'results folder (runs/ and checkpoints under it)')
    .addOption(backendOption())
    .action(async (o: TrainScriptOptions) => {
      await runTrainScript(kind, o);
    });
}

const backendOption = () =>
  new Option('--backend <name>', 'compute backend (or REPRO_BACKEND)').choices([...BACKEND_PREFERENCES]);

const transfer = new Command('transfer')
  .description(
    "transfer.py: a linear probe on a target dataset for every ckpt_epoch_<k> in a folder, under the repo's protocol (BN in training mode, best of the probe epochs), the strict one, or both; writes transfer.csv",
  )
  .option('--ckpt-path <dir>', "folder with ckpt_epoch_<k>/model.json (a run's ckpt/ folder)")
  .option('--target-dataset <name>', `target dataset (${Object.keys(DATASETS).join(', ')})`)
  .option(
    '--num-classes <n>',
    "the target's class count (default: the dataset's; checked against it when given)",
    FLAGS.numClasses,
  )
  .addOption(new Option('--protocol <p>', 'probe protocol').choices(['repo', 'strict', 'both']).default('both'))
  .option('--start-epoch <k>', 'first checkpoint epoch (default 2)', FLAGS.startEpoch)
  .option('--skip <k>', 'epochs between checkpoints', FLAGS.skip, 2)
  .option('--epochs <n>', `probe epochs, 1 to ${FLAG_LIMITS.epochs} (transfer.py: 30)`, FLAGS.probeEpochs)
  .option('--lr <x>', 'probe learning rate, > 0 (transfer.py: 0.4)', FLAGS.lr)
  .option('--batch-size <n>', `probe batch size, 1 to ${FLAG_LIMITS.batchSize} (transfer.py: 512)`, FLAGS.batchSize)
  .option('--limit <n>', 'use the first n images of each split', FLAGS.limit)
  .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR)')
  .requiredOption('--out <dir>', 'folder for transfer.csv')
  .addOption(backendOption())
  .action(async (o: TransferCliOptions) => {
    await runTransfer(o);
  });

const mineCmd = new Command('mine')
  .description(
    "mine.py: MINE I(X;T) (--mode xt) or I(T;Y) (--mode ty) for every ckpt_epoch_<k> in a folder on a dataset's test split, with the held-out value and the verdict; writes mine-<mode>.csv",
  )
  .option('--ckpt-path <dir>', "folder with ckpt_epoch_<k>/model.json (a run's ckpt/ folder)")
  .addOption(new Option('--mode <m>', 'xt or ty').choices(['xt', 'ty']).makeOptionMandatory())
  .requiredOption('--dataset <name>', `dataset (${Object.keys(DATASETS).join(', ')})`)
  .option('--lr <x>', 'Adam learning rate, > 0 (mine.py: 1e-4; README xt 8e-5, ty 1e-5)', FLAGS.lr)
  .option(
    '--iter-num <n>',
    `iterations, 1 to ${FLAG_LIMITS.iterations} (default 5000 as mine.py; README xt 1e4, ty 2e4)`,
    FLAGS.iterNum,
  )
  .option('--hidden <n>', `statistics network width, 1 to ${FLAG_LIMITS.width} (mine.py: 1024)`, FLAGS.hidden, 1024)
  .option(
    '--batch-size <n>',
    `joint rows per iteration, 1 to ${FLAG_LIMITS.batchSize} (mine.py: 5000)`,
    FLAGS.batchSize,
    500,
  )
  .option('--examples <n>', 'test images used (default: all)', FLAGS.examples)
  .option('--x-pool <k>', 'average-pool X by k per side before flattening (xt)', FLAGS.xPool, 1)
  .option('--start-epoch <k>', 'first checkpoint epoch (default 2)', FLAGS.startEpoch)
  .option('--skip <k>', 'epochs between checkpoints', FLAGS.skip, 2)
  .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR)')
  .requiredOption('--out <dir>', 'folder for mine-<mode>.csv')
  .addOption(backendOption())
  .action(async (o: MineCliOptions) => {
    await runMine(o);
  });

/**
 * transfer.py's and mine.py's own spellings (--ckpt_path, --start_epoch, --target_dataset, --iter_num;
 * --source_dataset and --model are accepted and unused: a checkpoint carries its architecture), so
 * that the README's commands run as written.
 */
function scriptSpellings(cmd: Command, names: Record<string, string>, required: string[]): Command {
  for (const [underscore, dashed] of Object.entries(names)) {
    const alias = new Option(`--${underscore} <value>`, `= --${dashed}`).hideHelp();
    const parse = cmd.options.find((x) => x.long === `--${dashed}`)?.parseArg as FlagParser<unknown> | undefined;
    if (parse)
      alias.argParser((v: string) => {
        try {
          return parse(v);
        } catch (err) {
          throw new Error((err as Error).message.replace(`--${dashed}:`, `--${underscore}:`), { cause: err });
        }
      });
    cmd.addOption(alias);
  }
  for (const unused of ['source_dataset', 'model'])
    if (!cmd.options.some((x) => x.long === `--${unused}`))
      cmd.addOption(new Option(`--${unused} <value>`, "accepted for the script's command line; unused").hideHelp());
  return cmd.hook('preAction', (c) => {
    const opts = c.opts<Record<string, unknown>>();
    for (const [underscore, dashed] of Object.entries(names)) {
      const key = dashed.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
      if (opts[underscore] !== undefined && opts[key] === undefined) c.setOptionValue(key, opts[underscore]);
    }
    for (const r of required)
      if (c.opts<Record<string, unknown>>()[r.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase())] === undefined)
        c.error(`error: required option '--${r} <value>' not specified`);
  });
}

scriptSpellings(transfer, { ckpt_path: 'ckpt-path', target_dataset: 'target-dataset', start_epoch: 'start-epoch' }, [
  'ckpt-path',
  'target-dataset',
]);
scriptSpellings(mineCmd, { ckpt_path: 'ckpt-path', start_epoch: 'start-epoch', iter_num: 'iter-num' }, ['ckpt-path']);

paper.program.addCommand(trainScriptCommand('vanilla'));
paper.program.addCommand(trainScriptCommand('ctc'));
paper.program.addCommand(transfer);
paper.program.addCommand(mineCmd);

if (require.main === module) void runCli(paper.program);
