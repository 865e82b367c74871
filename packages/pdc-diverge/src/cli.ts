#!/usr/bin/env node
/**
 * pdc-diverge: reproduce Zhen et al., "On the Versatile Uses of Partial Distance Correlation in Deep
 * Learning" (ECCV 2022). The package declares its runs, published values, claims, how to train and
 * evaluate one run and its plots; @repro/experiments' definePaper gives train / eval / reproduce /
 * table; `compare` (Table 2 between two models or two .npy feature files) is this package's own.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_PREFERENCES, initBackend, parseBackendPreference, writeJsonAtomic } from '@repro/runtime';
import { DATASETS, DatasetName, loadDataset, readNpyLabels, readNpyMatrix } from '@repro/datasets';
import {
  FLAG_LIMITS,
  LinePoint,
  checkOutputFile,
  RunRecord,
  definePaper,
  integerFlag,
  positiveInt,
  savedModelAccuracies,
  lineChartSpec,
  meanBand,
  epochCurve,
  runCli,
  writePlot,
  barChartSpec,
  BarPoint,
} from '@repro/experiments';
import {
  ALL_RUNS,
  ALPHA_SWEEP,
  CLAIM_ALPHA,
  CPU_EPOCHS,
  CPU_RUNS,
  CPU_TRAIN_PER_CLASS,
  DivergeRun,
  NET_COLORS,
  SWEEP_RUNS,
  divergeStyles,
  sweepRunOf,
} from './runs';
import { CLAIMS, MEASURED, PUBLISHED } from './published';
import { F1, PACKAGE, attackMetric, netName, resolveRun, runDir, trainDivergeRun } from './diverge';
import {
  ClassEmbedding,
  FeatureMatrix,
  TABLE2_STATS,
  TABLE2_STAT_MEANINGS,
  Table2Result,
  builtinEmbedding,
  compareFeatures,
} from './compare';
import { modelFeatures } from './features';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Accuracy vs ε (Baseline vs Ours, FGM and PGD, mean and 95% CI over seeds); Table 2 analogue bars. */
async function plots(records: RunRecord[], dir: string): Promise<void> {
  for (const scale of ['cpu', 'smoke', 'paper'] as const) {
    const recs = records.filter((r) => r.scale === scale && r.complete);
    for (const id of [...new Set(recs.map((r) => r.runId))]) {
      const rs = recs.filter((r) => r.runId === id);
      // an α-sweep run has no attacks: no accuracy-vs-ε plots
      const eps = (rs[0].config.attack as { epsilons: number[] } | undefined)?.epsilons ?? [];
      // one colour per network in every plot (runs.ts)
      const numNets = rs[0].config.numNets as number;
      const style = divergeStyles(numNets);
      // the same label for a network in every plot: its role first, as in the attack plots
      const netLabel = (n: string) =>
        n === F1
          ? 'f1 (white box)'
          : n === netName(0)
            ? 'Baseline (net 0)'
            : n === netName(numNets - 1)
              ? `Ours (net ${numNets - 1})`
              : n;
      for (const attack of eps.length ? (['fgm', 'pgd'] as const) : []) {
        const data: LinePoint[] = [];
        for (const who of ['baseline', 'ours', 'f1'] as const) {
          const label = netLabel({ baseline: netName(0), ours: netName(numNets - 1), f1: F1 }[who]);
          data.push({ series: label, x: 0, ...meanBand(rs.map((r) => r.metrics[`${who}AttackSubsetCleanPct`])) });
          for (const e of eps)
            data.push({ series: label, x: e, ...meanBand(rs.map((r) => r.metrics[attackMetric(who, attack, e)])) });
        }
        await writePlot(
          path.join(dir, scale, `${id}-${attack}`),
          lineChartSpec(data, {
            title: `${attack.toUpperCase()} made on f1: accuracy vs eps, mean and 95% CI over ${rs.length} seed(s) (${rs[0].dataset}, ${scale})`,
            xLabel: 'eps (normalised-input units)',
            yLabel: 'test accuracy (%)',
            style,
          }),
        );
      }
      // per epoch, mean and 95% CI over seeds: each net's test accuracy (curve subset) and the DC² term
      const perEpoch = (key: string, label: string): LinePoint[] => epochCurve(rs, key, label);
      const nets = [F1, netName(0), netName(1), netName(2)].filter(
        (n) => rs[0].history[0]?.[`${n}TestAccPct`] !== undefined,
      );
      await writePlot(
        path.join(dir, scale, `${id}-test-accuracy`),
        lineChartSpec(
          nets.flatMap((n) => perEpoch(`${n}TestAccPct`, netLabel(n))),
          {
            title: `Test accuracy by epoch (curve subset), mean and 95% CI over ${rs.length} seed(s) (${scale})`,
            xLabel: 'epoch',
            yLabel: 'test accuracy (%)',
            integerX: true,
            style,
          },
        ),
      );
      await writePlot(
        path.join(dir, scale, `${id}-train-dc2`),
        lineChartSpec(
          [netName(1), netName(2)].flatMap((n) =>
            perEpoch(`${n}TrainDc2`, `${netLabel(n)}: mean row-normalised dCor² to the earlier nets`),
          ),
          {
            title: `The diverge term during training (mean over the epoch's batches; ${rs.length} seed(s), ${scale})`,
            xLabel: 'epoch',
            yLabel: 'dCor² (V-statistic, row-normalised)',
            integerX: true,
            style,
          },
        ),
      );
      if (rs[0].metrics.t2_r2XGt !== undefined) {
        const bars: BarPoint[] = TABLE2_STATS.map((s) => ({
          category: TABLE2_STAT_MEANINGS[s].split(':')[0],
          series: s.startsWith('pdcor') ? 'Székely-Rizzo pdcor' : s.startsWith('pdc') ? 'official P_DC' : 'bcdcor',
          ...meanBand(rs.map((r) => r.metrics[`t2_${s}`])),
        }));
        await writePlot(
          path.join(dir, scale, `${id}-table2-analog`),
          barChartSpec(bars, {
            title: `Table 2 analogue: X = strong (net 0), Y = weak; mean and 95% CI over ${rs.length} seed(s) (${scale})`,
            yLabel: 'R² scale (per batch of 128, averaged)',
            style,
          }),
        );
      }
    }
  }
}

/** The α sweep: decorrelation against the independent pair and the clean cost, per α (mean and 95% CI over seeds). */
async function sweepPlots(records: RunRecord[], dir: string): Promise<void> {
  for (const scale of ['cpu', 'smoke'] as const) {
    // the sweep's points: its own runs and, at CLAIM_ALPHA, the claims run
    const points = ALPHA_SWEEP.map(sweepRunOf);
    const recs = records.filter((r) => r.scale === scale && r.complete && points.some((s) => s.id === r.runId));
    if (!recs.some((r) => SWEEP_RUNS.some((s) => s.id === r.runId))) continue;
    const alphas = points.filter((s) => recs.some((r) => r.runId === s.id));
    const bars = (value: (r: RunRecord) => number, series: string): BarPoint[] =>
      alphas.map((s) => ({
        category: `alpha ${s.alpha}${s.alpha === CLAIM_ALPHA ? ' (claims)' : ''}`,
        series,
        ...meanBand(recs.filter((r) => r.runId === s.id).map(value)),
      }));
    await writePlot(
      path.join(dir, scale, 'alpha-sweep-decorrelation'),
      barChartSpec(
        bars((r) => r.metrics.bcdcor_net2_net0 - r.metrics.bcdcor_f1_net0, 'bcdcor(net 2, net 0) − bcdcor(f1, net 0)'),
        {
          title: `Does the diverge term decorrelate? Below 0: net 2 less dependent on net 0 than an independent net is (mean, 95% CI over seeds, ${scale})`,
          yLabel: 'difference of bias-corrected dCor²',
          style: () => ({ color: NET_COLORS.ours }),
        },
      ),
    );
    await writePlot(
      path.join(dir, scale, 'alpha-sweep-clean-cost'),
      barChartSpec(
        bars((r) => r.metrics.oursCleanPct - r.metrics.baselineCleanPct, 'clean accuracy, Ours − Baseline'),
        {
          title: `What decorrelating costs: clean accuracy Ours − Baseline (points; mean, 95% CI over seeds, ${scale})`,
          yLabel: 'points',
          style: () => ({ color: NET_COLORS.baseline }),
        },
      ),
    );
  }
}

export const paper = definePaper<DivergeRun>({
  name: PACKAGE,
  description:
    'Reproduce Zhen et al., "On the Versatile Uses of Partial Distance Correlation in Deep Learning" (ECCV 2022): diverge training and transferred attacks (Table 1), partial distance correlation between networks (Table 2); paper scale CIFAR-10/ImageNet, cpu scale a Fashion-MNIST analog.',
  runs: ALL_RUNS,
  published: PUBLISHED,
  claims: CLAIMS,
  measured: MEASURED,
  resolve: (run, scale) => resolveRun(run, scale) as unknown as Record<string, unknown>,
  trainRun: (run, ctx) => trainDivergeRun(run, ctx),
  evalRun: async (run, { scale, seed, out, dataDir }) => {
    const r = resolveRun(run, scale);
    const { data: test, info } = loadDataset(r.dataset, 'test', { dataDir, fixture: scale === 'smoke' });
    const accs = await savedModelAccuracies(
      [F1, netName(0), netName(r.numNets - 1)].map((name) => ({
        name,
        dir: path.join(runDir(out, scale, run.id, seed), `final-${name}`),
      })),
      test,
      { normalize: info.normalize, what: `${run.id} seed ${seed}` },
    );
    const parts = accs.map((x) => `${x.name} ${x.accuracyPct.toFixed(2)}%`);
    return `${run.id} seed ${seed}: clean test accuracy ${parts.join(', ')} (${test.size} images)`;
  },
  // training: image passes of every net (f1, the weak net, the diverge nets); attacks: gradient passes
  // on f1 (FGM + PGD steps per ε), which measured about as costly per image as a training pass
  cost: (run, scale) => {
    const r = resolveRun(run, scale);
    const nets = r.numNets + 1 + (r.weak ? 1 : 0);
    const attackImages = r.attack ? (r.attack.imagesPerClass ?? 1000) * 10 : 0;
    const attacks = r.attack
      ? attackImages * (r.attack.epsilons.length * (r.attack.pgdSteps + 1) + (r.attack.fgmOnlyEpsilons?.length ?? 0))
      : 0;
    return r.epochs * (r.trainPerClass ?? 1000) * 10 * nets + attacks;
  },
  summarizeRecord: (rec) =>
    `clean Baseline ${rec.metrics.baselineCleanPct.toFixed(2)}%, Ours ${rec.metrics.oursCleanPct.toFixed(2)}%`,
  plots: async (records, dir) => {
    await plots(records, dir);
    await sweepPlots(records, dir);
  },
  summary: (scale) =>
    scale === 'cpu'
      ? `Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, ${CPU_EPOCHS} epochs; claims run at alpha ${CLAIM_ALPHA}: ${CPU_RUNS[0].seeds.length} seeds x (f1 + 3 diverge nets + weak net) with attacks on the whole test set; alpha sweep ${ALPHA_SWEEP.join(', ')}: ${SWEEP_RUNS[0].seeds.length} seeds x (f1 + 3 diverge nets); budget 30 min`
      : '',
  epilog: [
    'Runs (id  row: description):',
    ...ALL_RUNS.map((r) => `  ${r.id.padEnd(34)} ${r.row}: ${r.description} [${r.scale}]`),
    '',
    'Scales: smoke = the cpu run on the 300-image fixture, 2 epochs, widths 4/2, short attacks (seconds);',
    `        cpu = Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, ${CPU_EPOCHS} epochs, alpha sweep ${ALPHA_SWEEP.join('/')}, claims at alpha ${CLAIM_ALPHA}, eps 0.03-0.3 (default; 30 min budget on 2 cores);`,
    '        paper = CIFAR-10 ResNet-18 / ImageNet with the official recipe (40 epochs, SGD 0.1), needs --data-dir; for a GPU machine.',
    '',
    'compare: Table 2 (partial distance correlation) between two trained models or two .npy feature files; see compare --help.',
  ].join('\n'),
  cli: __filename,
  root: ROOT,
});

/** The class embedding of --class-embedding: one-hot, random:<dim> or a .npy file with one row per class. */
function readEmbedding(spec: string, numClasses: number): ClassEmbedding {
  if (spec === 'one-hot' || spec.startsWith('random:')) return builtinEmbedding(spec, numClasses);
  const m = readNpyMatrix(spec);
  if (m.rows !== numClasses)
    throw new Error(
      `--class-embedding ${spec}: ${m.rows} rows, but there are ${numClasses} classes (one row per class; --num-classes sets the count when the labels do not use every class)`,
    );
  return { data: m.values, numClasses, dim: m.cols, source: spec };
}

/**
 * --class-embedding at parse time: one-hot, random:<dim> with dim from 1 to FLAG_LIMITS.width, or an
 * existing file (read, and checked against the class count, once the class count is known).
 */
export function parseClassEmbeddingFlag(spec: string): string {
  if (spec === 'one-hot') return spec;
  if (spec.startsWith('random:')) {
    positiveInt('--class-embedding random:<dim>', FLAG_LIMITS.width)(spec.slice('random:'.length));
    return spec;
  }
  if (!fs.existsSync(spec) || !fs.statSync(spec).isFile())
    throw new Error(`--class-embedding '${spec}': expected one-hot, random:<dim> or an existing .npy file`);
  return spec;
}

interface CompareCliOptions {
  modelX?: string;
  modelY?: string;
  layer: string;
  dataset: string;
  dataDir?: string;
  featuresX?: string;
  featuresY?: string;
  labels?: string;
  numClasses?: number;
  classEmbedding: string;
  batchSize: number;
  json?: string;
  backend?: string;
}

function printTable2(res: Table2Result, x: string, y: string): string {
  const lines = [
    `X = ${x}`,
    `Y = ${y}`,
    `${res.rows} examples, ${res.batches} batches of ${res.batchSize} (mean over batches ± sd over batches)`,
    ...TABLE2_STATS.map(
      (s) => `  ${TABLE2_STAT_MEANINGS[s].padEnd(66)} ${res[s].mean.toFixed(4)} ± ${res[s].sd.toFixed(4)}`,
    ),
  ];
  return lines.join('\n') + '\n';
}

const compare = new Command('compare')
  .description(
    'Table 2: R²(X,GT), R²(Y,GT) (bcdcor), R²(X|Y,GT), R²(Y|X,GT) (official semi-partial P_DC and Székely-Rizzo pdcor) per batch, averaged over batches; X and Y from two trained models or from .npy feature files (e.g. timm forward_features dumped elsewhere)',
  )
  .option(
    '--model-x <dir>',
    'first trained model (a folder with model.json, e.g. <out>/runs/pdc-diverge/cpu/checkpoints/<run>.seed1/final-net0)',
  )
  .option('--model-y <dir>', 'second trained model')
  .option('--layer <name>', 'layer whose activation (flattened per example) is the feature', 'features')
  .addOption(
    new Option('--dataset <name>', 'dataset the models are compared on (test split)')
      .choices(Object.keys(DATASETS))
      .default('fashion-mnist'),
  )
  .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR)')
  .option('--features-x <file.npy>', 'features of X, [n, p] (any float or int dtype; rows are examples)')
  .option('--features-y <file.npy>', 'features of Y, [n, q], the same examples in the same order')
  .option('--labels <file.npy>', 'integer class labels [n] of those examples')
  .option(
    '--num-classes <k>',
    'number of classes, >= 2 (default: from the models, or max label + 1)',
    integerFlag('--num-classes', 2),
  )
  .option(
    '--class-embedding <spec>',
    `GT: one-hot | random:<dim> (fixed N(0,1) vectors, seed 0; dim 1 to ${FLAG_LIMITS.width}) | a .npy with one row per class`,
    parseClassEmbeddingFlag,
    'one-hot',
  )
  .option(
    '--batch-size <n>',
    `examples per batch, 4 to ${FLAG_LIMITS.batchSize} (the paper: 128)`,
    integerFlag('--batch-size', 4, FLAG_LIMITS.batchSize),
    128,
  )
  .option('--json <file>', 'also write the result as JSON (atomically)')
  .addOption(new Option('--backend <name>', 'compute backend (or REPRO_BACKEND)').choices([...BACKEND_PREFERENCES]))
  .action(async (o: CompareCliOptions) => {
    const fromModels = o.modelX !== undefined || o.modelY !== undefined;
    const fromFiles = o.featuresX !== undefined || o.featuresY !== undefined || o.labels !== undefined;
    if (fromModels === fromFiles)
      throw new Error('compare: give either --model-x and --model-y, or --features-x, --features-y and --labels');
    if (o.json !== undefined) checkOutputFile('--json', o.json);
    await initBackend(parseBackendPreference(o.backend));
    const batchSize = o.batchSize;
    let x: FeatureMatrix;
    let y: FeatureMatrix;
    let labels: { data: Int32Array; name: string };
    let numClasses: number;
    if (fromModels) {
      if (!o.modelX || !o.modelY) throw new Error('compare: --model-x and --model-y are both needed');
      const name = o.dataset as DatasetName;
      const { data: test, info } = loadDataset(name, 'test', { dataDir: o.dataDir, requester: 'compare' });
      x = await modelFeatures(o.modelX, o.layer, test, info.normalize);
      y = await modelFeatures(o.modelY, o.layer, test, info.normalize);
      labels = { data: Int32Array.from(test.labels), name: `${name} test labels` };
      numClasses = test.numClasses;
    } else {
      if (!o.featuresX || !o.featuresY || !o.labels)
        throw new Error('compare: --features-x, --features-y and --labels are all needed');
      const mx = readNpyMatrix(o.featuresX);
      const my = readNpyMatrix(o.featuresY);
      x = { data: mx.values, rows: mx.rows, cols: mx.cols, name: o.featuresX };
      y = { data: my.values, rows: my.rows, cols: my.cols, name: o.featuresY };
      labels = { data: readNpyLabels(o.labels), name: o.labels };
      numClasses = labels.data.reduce((a, v) => Math.max(a, v), -1) + 1;
    }
    if (o.numClasses !== undefined) numClasses = o.numClasses;
    const emb = readEmbedding(o.classEmbedding, numClasses);
    const res = compareFeatures(x, y, labels, emb, { batchSize });
    process.stdout.write(printTable2(res, x.name, y.name));
    if (o.json)
      writeJsonAtomic(o.json, { x: x.name, y: y.name, labels: labels.name, classEmbedding: emb.source, ...res });
  });
paper.program.addCommand(compare);

if (require.main === module) void runCli(paper.program);
