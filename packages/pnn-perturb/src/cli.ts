#!/usr/bin/env node
/**
 * pnn-perturb: reproduce the PNN re-examination. The package declares its runs, published values,
 * claims, how to train and evaluate one run and its plots; @repro/experiments' definePaper gives the
 * CLI (train / eval / reproduce / table), the job lists, the tables and the results README.
 */
import * as path from 'path';
import { loadDataset } from '@repro/datasets';
import {
  RunRecord,
  Scale,
  definePaper,
  savedModelAccuracies,
  lineChartSpec,
  meanInterval,
  runCli,
  writePlot,
  LinePoint,
} from '@repro/experiments';
import { ALL_RUNS, CPU_EPOCHS, CPU_TRAIN_PER_CLASS, PnnRun, pnnStyles, variantLabel } from './runs';
import { CLAIMS, MEASURED, PUBLISHED } from './published';
import { PACKAGE, resolveRun, runDir, trainPnnRun } from './train';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Estimated cost of a run (balances shards): epochs × training images × the variant's step cost. Masks
 * widen the perturbation layers: 4 masks measured 1.6× the 1-mask step at cpu scale; more masks are
 * extrapolated linearly (an estimate, not a measurement).
 */
function runCost(run: PnnRun, scale: Scale): number {
  const r = resolveRun(run, scale);
  const images = r.data.trainPerClass !== undefined ? r.data.trainPerClass * 10 : scale === 'smoke' ? 300 : 50_000;
  return r.epochs * images * (1 + (0.6 * Math.max(0, (r.modelOptions.nmasks ?? 1) - 1)) / 3);
}

/** Per run: true vs smoothed accuracy by epoch; per scale: the variants' mean and 95% CI over seeds. */
async function plots(records: RunRecord[], dir: string): Promise<void> {
  const trained = records.filter((r) => r.scale !== 'paper' || r.history.length > 0);
  for (const r of trained) {
    const run = r.config as unknown as PnnRun;
    const data: LinePoint[] = r.history.flatMap((h) => [
      { series: 'true accuracy', x: h.epoch, y: h.trueAccPct },
      { series: "smoothed 'reported' (EMA 0.7, batch 10)", x: h.epoch, y: h.smoothedPct },
    ]);
    await writePlot(
      path.join(dir, r.scale, `${r.runId}.seed${r.seed}`),
      lineChartSpec(data, {
        title: `${run.row}: ${r.runId} seed ${r.seed} (${r.dataset}, ${r.scale})`,
        xLabel: 'epoch',
        yLabel: 'test accuracy (%)',
        integerX: true,
        style: pnnStyles(run),
      }),
    );
  }
  for (const scale of ['cpu', 'smoke'] as const) {
    const recs = trained.filter((r) => r.scale === scale);
    if (!recs.length) continue;
    const data: LinePoint[] = [];
    for (const id of [...new Set(recs.map((r) => r.runId))]) {
      const rs = recs.filter((r) => r.runId === id);
      const epochs = Math.min(...rs.map((r) => r.history.length));
      for (let e = 0; e < epochs; e++) {
        const iv = meanInterval(rs.map((r) => r.history[e].trueAccPct));
        data.push({
          series: variantLabel(rs[0].config as unknown as PnnRun, rs.length),
          x: e + 1,
          y: iv.estimate,
          ...(Number.isFinite(iv.lo) ? { lo: iv.lo, hi: iv.hi } : {}),
        });
      }
    }
    await writePlot(
      path.join(dir, scale, 'variants'),
      lineChartSpec(data, {
        title: `PNN variants, true test accuracy: mean and 95% CI over seeds (${scale} scale)`,
        xLabel: 'epoch',
        yLabel: 'test accuracy (%)',
        integerX: true,
        style: pnnStyles(),
      }),
    );
  }
}

export const paper = definePaper<PnnRun>({
  name: PACKAGE,
  description:
    'Reproduce Perturbative Neural Networks (Juefei-Xu et al., CVPR 2018) as re-examined by Klachko: published CIFAR-10 rows K1-K8, O and R at paper scale, the three claims on a Fashion-MNIST analog at cpu scale.',
  runs: ALL_RUNS,
  published: PUBLISHED,
  claims: CLAIMS,
  measured: MEASURED,
  resolve: (run, scale) => resolveRun(run, scale) as unknown as Record<string, unknown>,
  trainRun: (run, ctx) => trainPnnRun(run, ctx),
  evalRun: async (run, { scale, seed, out, dataDir }) => {
    if (run.data.dataset !== 'fashion-mnist')
      throw new Error(`eval of ${run.id}: CIFAR-10 evaluation goes through train --scale paper`);
    const { data: test, info } = loadDataset('fashion-mnist', 'test', { dataDir, fixture: scale === 'smoke' });
    const [ev] = await savedModelAccuracies(
      [{ name: 'final-model', dir: path.join(runDir(out, scale, run.id, seed), 'final-model') }],
      test,
      { normalize: info.normalize, what: `${run.id} seed ${seed}` },
    );
    return `${run.id} seed ${seed}: true test accuracy ${ev.accuracyPct.toFixed(2)}% (${test.size} images)`;
  },
  cost: runCost,
  summarizeRecord: (rec) =>
    `best true ${rec.metrics.bestTrueAccPct.toFixed(2)}%, best smoothed ${rec.metrics.bestSmoothedPct.toFixed(2)}%`,
  plots,
  summary: (scale) =>
    scale === 'cpu'
      ? `Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, ${CPU_EPOCHS} epochs, budget 30 min`
      : '',
  epilog: [
    'Runs (id  row: description):',
    ...ALL_RUNS.map((r) => `  ${r.id.padEnd(28)} ${r.row}: ${r.description} [${r.scale}]`),
    '',
    'Scales: smoke = the cpu runs on the 300-image fixture, 2 epochs, width 8 (seconds);',
    `        cpu = Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, all 10,000 test images, ${CPU_EPOCHS} epochs (default; ~30 min budget on 2 cores);`,
    "        paper = CIFAR-10 with Klachko's recipes (150 epochs, SGD Nesterov), needs --data-dir; meant for a GPU machine.",
  ].join('\n'),
  cli: __filename,
  root: ROOT,
});

if (require.main === module) void runCli(paper.program);
