#!/usr/bin/env node
/**
 * cka-maskfeat: DPK ("Better Teacher Better Student: Dynamic Prior Knowledge for Knowledge
 * Distillation", Qiu et al., arXiv 2206.06067; earlier name MaskFeat) seen through CKA, and `compare`,
 * torch_cka's model comparison for any two saved tfjs LayersModels. The package declares its runs,
 * published values, claims, how to train and evaluate one run and its plots; @repro/experiments'
 * definePaper gives train / eval / reproduce / table.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import { Command, Option } from 'commander';
import { BACKEND_PREFERENCES, initBackend, parseBackendPreference, safeJoin } from '@repro/runtime';
import { DATASETS, DatasetName, ImageDataset, loadDataset, takeIndices } from '@repro/datasets';
import { CompareResult, compareModels, disposeModel, loadCheckedModel } from '@repro/models';
import {
  BarPoint,
  FLAG_LIMITS,
  LinePoint,
  checkOutputDir,
  RunRecord,
  barChartSpec,
  definePaper,
  savedModelAccuracies,
  heatmapSpec,
  lineChartSpec,
  meanBand,
  epochCurve,
  positiveInt,
  runCli,
  writeCkaFiles,
  writePlot,
} from '@repro/experiments';
import { ALL_RUNS, CPU_EPOCHS, CPU_TRAIN_PER_CLASS, DistillRun, METHOD_LABELS, distillStyles } from './runs';
import { CLAIMS, MEASURED, PUBLISHED } from './published';
import { PACKAGE, resolveRun, runDir, teacherName, trainDistillRun } from './distill';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The rebuttal's figure: one CKA value per minibatch, sorted ascending, as a square image (the largest
 * square; the lowest values beyond it are left out and the title says so). Cell (row r, column c) is
 * the minibatch of rank side·r + c, row 0 at the bottom. The values are perMinibatchCka's default
 * (debiased) linear CKA, as distill.ts computes them.
 */
function perMinibatchSpec(values: number[], title: string): object {
  const side = Math.floor(Math.sqrt(values.length));
  const dropped = values.length - side * side;
  const sorted = [...values].sort((a, b) => a - b).slice(dropped);
  const matrix = Array.from({ length: side }, (_, i) => sorted.slice(i * side, (i + 1) * side));
  const labels = Array.from({ length: side }, (_, i) => String(i));
  return heatmapSpec(matrix, {
    title: dropped ? `${title}; the ${dropped} lowest not shown` : title,
    rowLabels: labels,
    colLabels: labels,
    xLabel: `column: minibatch rank within its row (rank = ${side} × row + column)`,
    yLabel: `row of ${side} minibatches (minibatches sorted by CKA, ascending)`,
    valueLabel: 'linear CKA (debiased)',
    scheme: 'magma',
    rowOrder: 'bottom-up',
    cellText: false,
    domain: [Math.min(0, ...sorted), 1],
  });
}

async function plots(records: RunRecord[], dir: string): Promise<void> {
  for (const scale of ['cpu', 'smoke', 'paper'] as const) {
    const recs = records.filter((r) => r.scale === scale && r.complete);
    for (const id of [...new Set(recs.map((r) => r.runId))]) {
      const rs = recs.filter((r) => r.runId === id).sort((a, b) => a.seed - b.seed);
      const cfg = rs[0].config as unknown as DistillRun;
      const out = path.join(dir, scale);
      const seeds = `${rs.length} seed(s)`;
      const names = cfg.students.map((s) => s.name);
      // one colour per method in every plot of the run (runs.ts)
      const style = distillStyles(cfg);
      // test accuracy of every network, mean and 95% CI over seeds
      const bars: BarPoint[] = [
        ...cfg.teachers.map((t, k) => ({
          category: `teacher ${t.model}${t.depth ?? ''}`,
          series: 'teacher',
          ...meanBand(rs.map((r) => r.metrics[`${teacherName(k)}TestAccPct`])),
        })),
        ...cfg.students.map((s) => ({
          category: s.name,
          series: s.net ? `comparison network ${s.name}` : METHOD_LABELS[s.method],
          ...meanBand(rs.map((r) => r.metrics[`${s.name}TestAccPct`])),
        })),
      ];
      await writePlot(
        path.join(out, `${id}-accuracy`),
        barChartSpec(bars, {
          title: `Test accuracy, mean and 95% CI over ${seeds} (${rs[0].dataset}, ${scale})`,
          yLabel: 'test accuracy (%)',
          style,
        }),
      );
      const perEpoch = (key: string, label: string): LinePoint[] => epochCurve(rs, key, label);
      await writePlot(
        path.join(out, `${id}-test-accuracy-by-epoch`),
        lineChartSpec(
          names.flatMap((n) => perEpoch(`${n}TestAccPct`, n)),
          {
            title: `Student test accuracy by epoch (curve subset), mean and 95% CI over ${seeds} (${scale})`,
            xLabel: 'epoch',
            yLabel: 'test accuracy (%)',
            integerX: true,
            style,
          },
        ),
      );
      // DPK: mask ratio and batch CKA per stage over training (the rebuttal's mask-ratio figure)
      const dpk = cfg.students.filter((s) => s.method === 'dpk').map((s) => s.name);
      for (const [key, what, label] of [
        ['maskRatio', 'mask ratio', 'mask ratio (epoch mean of the per-batch ratio)'],
        ['cka', 'batch CKA', 'debiased CKA student vs teacher (epoch mean over batches)'],
      ] as const) {
        if (!dpk.length) continue;
        await writePlot(
          path.join(out, `${id}-dpk-${key}`),
          lineChartSpec(
            dpk.flatMap((n) => cfg.stages.map((s) => perEpoch(`${n}_${s}_${key}`, `${n} ${s}`)).flat()),
            {
              title: `DPK ${what} by epoch per distilled stage, mean and 95% CI over ${seeds} (${scale})`,
              xLabel: 'epoch',
              yLabel: label,
              integerX: true,
              style,
            },
          ),
        );
      }
      // the per-batch trace of the first seed
      const trace = (rs[0].extra?.dpkTrace as { rows: Array<[number, number, string, string, number, number]> })?.rows;
      if (trace?.length) {
        const stepsPerEpoch = Math.max(...trace.map((t) => t[1])) + 1;
        await writePlot(
          path.join(out, `${id}-dpk-mask-ratio-per-batch.seed${rs[0].seed}`),
          lineChartSpec(
            trace.map((t) => ({ series: `${t[2]} ${t[3]}`, x: t[0] - 1 + t[1] / stepsPerEpoch, y: t[5] })),
            {
              title: `DPK mask ratio per batch, seed ${rs[0].seed} (${scale})`,
              xLabel: 'epoch',
              yLabel: 'mask ratio = max(1 − CKA, 0.1)',
              style,
            },
          ),
        );
      }
      // CKA to the teacher at each layer, per student
      const cka0 = rs[0].extra?.cka as Record<string, CompareResult> | undefined;
      if (cka0 && Object.keys(cka0).length) {
        const layers = Object.values(cka0)[0].layersA;
        const cbars: BarPoint[] = Object.keys(cka0).flatMap((n) =>
          layers.map((l) => ({ category: l, series: n, ...meanBand(rs.map((r) => r.metrics[`${n}Cka_${l}`])) })),
        );
        await writePlot(
          path.join(out, `${id}-cka-to-teacher`),
          barChartSpec(cbars, {
            title: `Debiased minibatch CKA, student layer vs the same teacher layer, mean and 95% CI over ${seeds} (${scale})`,
            yLabel: 'CKA (test set, batches of 64)',
            style,
          }),
        );
        for (const [n, res] of Object.entries(cka0))
          await writeCkaFiles(res, path.join(out, `${id}-heatmaps.seed${rs[0].seed}`), `${n}-vs-teacher`);
      }
      const pm = rs[0].extra?.perMinibatch as Record<string, number[]> | undefined;
      for (const [n, v] of Object.entries(pm ?? {}))
        if (v.length >= 4)
          await writePlot(
            safeJoin(out, path.join(`${id}-per-minibatch.seed${rs[0].seed}`, `${n}-vs-teacher`), 'plot of a record'),
            perMinibatchSpec(
              v,
              `${n} vs teacher at ${cfg.stages[1]}: CKA of each of ${v.length} minibatches of 25, sorted (seed ${rs[0].seed})`,
            ),
          );
      const comps = rs[0].extra?.comparisons as Record<string, CompareResult> | undefined;
      for (const [n, res] of Object.entries(comps ?? {}))
        await writeCkaFiles(res, path.join(out, `${id}-comparisons.seed${rs[0].seed}`), n);
      // capacity gap: each method's gain over the vanilla student by teacher depth
      if (cfg.kind === 'capacity') {
        const pts: LinePoint[] = (['kd', 'dpk'] as const).flatMap((m) =>
          cfg.teachers.map((t) => ({
            series: METHOD_LABELS[m],
            x: t.depth ?? 0,
            ...meanBand(rs.map((r) => r.metrics[`${m}-t${t.depth}TestAccPct`] - r.metrics.vanillaTestAccPct)),
          })),
        );
        await writePlot(
          path.join(out, `${id}-gain-by-teacher-depth`),
          lineChartSpec(pts, {
            title: `Capacity gap: student accuracy gain over vanilla by teacher depth, mean and 95% CI over ${seeds} (${scale})`,
            xLabel: 'teacher depth (conv layers)',
            yLabel: 'gain over the vanilla student (points)',
            integerX: true,
            style,
          }),
        );
      }
    }
  }
}

export const paper = definePaper<DistillRun>({
  name: PACKAGE,
  description:
    'Reproduce DPK (Qiu et al., arXiv 2206.06067, "MaskFeat") against vanilla, KD, MGD and ICKD-C students, seen through CKA (torch_cka estimator), and the rebuttal\'s capacity-gap experiment; paper scale CIFAR-100, cpu scale Fashion-MNIST plain CNNs. `compare` is torch_cka for saved tfjs models.',
  runs: ALL_RUNS,
  published: PUBLISHED,
  claims: CLAIMS,
  measured: MEASURED,
  resolve: (run, scale) => resolveRun(run, scale) as unknown as Record<string, unknown>,
  trainRun: (run, ctx) => trainDistillRun(run, ctx),
  evalRun: async (run, { scale, seed, out, dataDir }) => {
    const r = resolveRun(run, scale);
    const { data: test, info } = loadDataset(r.dataset, 'test', { dataDir, fixture: scale === 'smoke' });
    const names = [...r.teachers.map((_, k) => teacherName(k)), ...r.students.map((s) => s.name)];
    const accs = await savedModelAccuracies(
      names.map((name) => ({ name, dir: path.join(runDir(out, scale, run.id, seed), `final-${name}`) })),
      test,
      { normalize: info.normalize, what: `${run.id} seed ${seed}` },
    );
    const parts = accs.map((a) => `${a.name} ${a.accuracyPct.toFixed(2)}%`);
    return `${run.id} seed ${seed}: test accuracy ${parts.join(', ')} (${test.size} images)`;
  },
  cost: (run, scale) => {
    const r = resolveRun(run, scale);
    const dpk = r.students.filter((s) => s.method === 'dpk').length;
    return r.epochs * (r.teachers.length * 2 + r.students.length + 8 * dpk);
  },
  summarizeRecord: (rec) =>
    Object.entries(rec.metrics)
      .filter(([k]) => k.endsWith('TestAccPct'))
      .map(([k, v]) => `${k.replace('TestAccPct', '')} ${v.toFixed(2)}%`)
      .join(', '),
  plots,
  summary: (scale) =>
    scale === 'cpu'
      ? `Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, teachers (10 epochs; 8 in the capacity run), then students (${CPU_EPOCHS} epochs), 4 seeds x (methods run + capacity run), budget 40 min`
      : '',
  epilog: [
    'Runs (id  row: description):',
    ...ALL_RUNS.map((r) => `  ${r.id.padEnd(40)} ${r.row}: ${r.description} [${r.scale}]`),
    '',
    'Scales: smoke = the cpu runs on the 300-image fixture, 2 epochs, tiny widths (seconds);',
    `        cpu = Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, teachers then students, ${CPU_EPOCHS} student epochs (default; 40 min budget on 2 cores);`,
    "        paper = CIFAR-100 with RepDistiller's recipe (240 epochs), needs --data-dir with cifar-100-binary; for a GPU machine.",
    '',
    'compare: CKA between every chosen layer of two saved tfjs LayersModels (torch_cka); see compare --help.',
  ].join('\n'),
  cli: __filename,
  root: ROOT,
});

/** `<dataset>[:<split>]`, e.g. fashion-mnist:test. */
export function parseDataSpec(spec: string): { name: DatasetName; split: 'train' | 'test' } {
  const [name, split = 'test', ...rest] = spec.split(':');
  if (rest.length) throw new Error(`--data '${spec}': expected <dataset>[:<split>], e.g. fashion-mnist:test`);
  if (!(name in DATASETS))
    throw new Error(`--data '${spec}': unknown dataset '${name}'; known: ${Object.keys(DATASETS).join(', ')}`);
  if (split !== 'train' && split !== 'test')
    throw new Error(`--data '${spec}': split must be train or test, got '${split}'`);
  return { name: name as DatasetName, split };
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** The parsers of compare's numeric flags (at parse time, and again in runCompare). */
const COMPARE_FLAGS = {
  limit: positiveInt('--limit'),
  batchSize: positiveInt('--batch-size', FLAG_LIMITS.batchSize),
};

/** The flags of `compare`: strings as typed, or numbers as the CLI's parsers return them. */
export interface CompareCliOptions {
  modelA: string;
  modelB: string;
  layersA?: string;
  layersB?: string;
  data?: string;
  dataB?: string;
  dataDir?: string;
  limit?: string | number;
  batchSize?: string | number;
  estimator?: string;
  weighting?: string;
  dropLast?: boolean;
  lengthMismatch?: string;
  nameA?: string;
  nameB?: string;
  out: string;
  backend?: string;
}

/** Whether a directory entry exists (a link counts, whatever it points at: loadModel judges links). */
function entryExists(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * `compare`: loads both models and the data, computes the CKA matrix, then writes the files; every
 * check (folders, layer names, batch size, data lengths) fails before anything is written.
 * @returns the comparison.
 */
export async function runCompare(o: CompareCliOptions): Promise<CompareResult> {
  const batchSize = COMPARE_FLAGS.batchSize(o.batchSize ?? 64);
  const limit = o.limit !== undefined ? COMPARE_FLAGS.limit(o.limit) : undefined;
  checkOutputDir('--out', o.out);
  if (batchSize < 4)
    throw new Error(`--batch-size ${batchSize}: debiased CKA needs at least 4 examples per minibatch (n(n-3) > 0)`);
  for (const k of ['modelA', 'modelB'] as const) {
    const dir = o[k];
    if (!entryExists(path.join(dir, 'model.json')))
      throw new Error(
        `--${k === 'modelA' ? 'model-a' : 'model-b'} ${dir}: no model.json there (expected a folder written by saveModel or tensorflowjs_converter)`,
      );
  }
  await initBackend(parseBackendPreference(o.backend));
  const load = (spec: string): { ds: ImageDataset; norm: { mean: readonly number[]; std: readonly number[] } } => {
    const { name, split } = parseDataSpec(spec);
    const { data, info } = loadDataset(name, split, {
      dataDir: o.dataDir,
      requester: 'compare',
    });
    const ds =
      limit !== undefined && limit < data.size
        ? takeIndices(
            data,
            Array.from({ length: limit }, (_, i) => i),
          )
        : data;
    return { ds, norm: info.normalize };
  };
  const a = load(o.data ?? 'fashion-mnist:test');
  const b = o.dataB !== undefined ? load(o.dataB) : undefined;
  if (b && JSON.stringify(a.norm) !== JSON.stringify(b.norm))
    throw new Error(
      '--data and --data-b normalise differently; compare datasets of one kind (channels and statistics)',
    );
  // refused: NaN or Inf weights, a topology that does not match its weights, inputs other than the data's
  const modelA = await loadCheckedModel(o.modelA, { inputShape: a.ds.shape, data: o.data ?? 'fashion-mnist:test' });
  let modelB: LayersModel;
  try {
    modelB = await loadCheckedModel(o.modelB, {
      inputShape: (b ?? a).ds.shape,
      data: o.dataB ?? o.data ?? 'fashion-mnist:test',
    });
  } catch (err) {
    disposeModel(modelA);
    throw err;
  }
  try {
    const t0 = Date.now();
    const res = compareModels(modelA, modelB, {
      layersA: list(o.layersA),
      layersB: list(o.layersB),
      data: a.ds,
      dataB: b?.ds,
      batchSize,
      estimator: (o.estimator ?? 'debiased') as 'debiased' | 'biased',
      weighting: (o.weighting ?? 'equal') as 'equal' | 'size',
      dropLast: Boolean(o.dropLast),
      lengthMismatch: (o.lengthMismatch ?? 'error') as 'error' | 'truncate',
      nameA: o.nameA ?? path.basename(path.resolve(o.modelA)),
      nameB: o.nameB ?? path.basename(path.resolve(o.modelB)),
      batchOptions: { normalize: a.norm },
      onBatch: (done, total) => {
        if (done % 20 === 0 || done === total) process.stderr.write(`compare: batch ${done}/${total}\n`);
      },
    });
    const files = await writeCkaFiles(res, o.out);
    process.stdout.write(
      `${res.modelNames[0]} (${res.layersA.length} layers) vs ${res.modelNames[1]} (${res.layersB.length} layers): ${res.estimator} CKA over ${res.batches} batches (${res.examples} examples) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` +
        `wrote ${files.json}, ${files.csv}, ${files.png}, ${files.svg}\n`,
    );
    return res;
  } finally {
    modelA.dispose();
    modelB.dispose();
  }
}

const compare = new Command('compare')
  .description(
    "torch_cka's CKA.compare for two saved tfjs LayersModels: debiased minibatch linear CKA between every chosen layer of A and of B on a dataset, written as JSON (torch_cka export() fields), a long CSV and a heatmap (PNG + SVG)",
  )
  .requiredOption(
    '--model-a <dir>',
    'first model: a folder with model.json (saveModel or tensorflowjs_converter output)',
  )
  .requiredOption('--model-b <dir>', 'second model')
  .option(
    '--layers-a <names>',
    'comma-separated layer names of A, in the order wanted (default: every layer with an output, up to 150)',
  )
  .option('--layers-b <names>', 'comma-separated layer names of B')
  .option('--data <spec>', 'dataset the models see: <dataset>[:<split>]', 'fashion-mnist:test')
  .option('--data-b <spec>', "B's dataset, paired example by example with --data (default: the same)")
  .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR)')
  .option('--limit <n>', 'use the first n examples of each dataset', COMPARE_FLAGS.limit)
  .option('--batch-size <n>', `examples per minibatch, 4 to ${FLAG_LIMITS.batchSize}`, COMPARE_FLAGS.batchSize, 64)
  .addOption(new Option('--estimator <e>', 'HSIC estimator').choices(['debiased', 'biased']).default('debiased'))
  .addOption(
    new Option('--weighting <w>', 'batch weights: equal (torch_cka) or size (official TF MinibatchCKA)')
      .choices(['equal', 'size'])
      .default('equal'),
  )
  .option('--drop-last', 'drop a last batch of 1-3 examples instead of failing')
  .addOption(
    new Option(
      '--length-mismatch <policy>',
      'datasets of different length: error, or truncate to the shorter (torch_cka zip)',
    )
      .choices(['error', 'truncate'])
      .default('error'),
  )
  .option('--name-a <name>', 'name of A in the files (default: its folder name)')
  .option('--name-b <name>', 'name of B')
  .requiredOption('--out <dir>', 'folder for cka.json, cka.csv, cka.png, cka.svg')
  .addOption(new Option('--backend <name>', 'compute backend (or REPRO_BACKEND)').choices([...BACKEND_PREFERENCES]))
  .action(async (o: CompareCliOptions) => {
    await runCompare(o);
  });
paper.program.addCommand(compare);

if (require.main === module) void runCli(paper.program);
