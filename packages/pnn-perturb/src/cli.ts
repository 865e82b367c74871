#!/usr/bin/env node
/**
 * pnn-perturb: reproduce the PNN re-examination. `reproduce` (the shared runReproduce of
 * @repro/experiments: continue, --fresh, --list, --shard, job locks) trains every run of the scale,
 * two processes at a time, then writes results/pnn-perturb.csv, the plots and results/README.md from
 * the run records.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, formatDuration } from '@repro/runtime';
import { loadModel } from '@repro/models';
import { loadFashionMnist } from '@repro/datasets';
import {
  CommonOptions,
  RunRecord,
  buildPaperCli,
  buildTable,
  evaluateClassifier,
  lineChartSpec,
  meanInterval,
  mergeRunRecords,
  readRunRecords,
  runCli,
  runReproduce,
  writePlot,
  writeResultsCsv,
  writeResultsReadme,
  writeRunRecord,
  LinePoint,
} from '@repro/experiments';
import { ALL_RUNS, CPU_EPOCHS, CPU_TRAIN_PER_CLASS, findRun, runsForScale, PnnRun } from './runs';
import { CLAIMS, PUBLISHED } from './published';
import { FIXTURE_DIR, PACKAGE, resolveRun, runDir, trainPnnRun } from './train';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function selectedRuns(o: CommonOptions): PnnRun[] {
  const pool = runsForScale(o.scale);
  const runs = o.runs ? o.runs.map(findRun) : pool;
  for (const r of runs) {
    if (o.scale === 'paper' ? r.scale !== 'paper' : r.scale !== 'cpu') {
      throw new Error(
        `run ${r.id} is a ${r.scale}-scale run; --scale ${o.scale} runs: ${pool.map((x) => x.id).join(', ')}`,
      );
    }
  }
  return runs;
}

function seedsOf(r: PnnRun, o: CommonOptions): number[] {
  return o.seeds ?? (o.scale === 'smoke' ? r.seeds.slice(0, 1) : r.seeds);
}

async function trainCmd(o: CommonOptions): Promise<void> {
  const backend = await initBackend(o.backend);
  process.stderr.write(`[pnn-perturb] backend ${backend.name} (${backend.detail})\n`);
  for (const run of selectedRuns(o)) {
    for (const seed of seedsOf(run, o)) {
      const rec = await trainPnnRun(run, {
        scale: o.scale,
        seed,
        out: o.out,
        dataDir: o.dataDir,
        resume: o.resume,
        backend,
      });
      const file = writeRunRecord(path.join(o.out, 'runs'), rec);
      process.stderr.write(
        `[pnn-perturb] ${run.id} seed ${seed}: best true ${rec.metrics.bestTrueAccPct.toFixed(2)}%, best smoothed ${rec.metrics.bestSmoothedPct.toFixed(2)}% ` +
          `(${formatDuration(rec.wallSeconds)}) -> ${path.relative(process.cwd(), file)}\n`,
      );
    }
  }
}

async function evalCmd(o: CommonOptions): Promise<void> {
  await initBackend(o.backend);
  for (const run of selectedRuns(o)) {
    for (const seed of seedsOf(run, o)) {
      const dir = path.join(runDir(o.out, o.scale, run.id, seed), 'final-model');
      if (!fs.existsSync(dir)) throw new Error(`${run.id} seed ${seed}: no saved model at ${dir}; train it first`);
      if (run.data.dataset !== 'fashion-mnist')
        throw new Error(`eval of ${run.id}: CIFAR-10 evaluation goes through train --scale paper`);
      const model = await loadModel(dir);
      const test = loadFashionMnist('test', { dataDir: o.scale === 'smoke' && !o.dataDir ? FIXTURE_DIR : o.dataDir });
      const ev = evaluateClassifier(model, test, { batchSize: 250, normalize: { mean: [0.286], std: [0.353] } });
      process.stdout.write(
        `${run.id} seed ${seed}: true test accuracy ${(100 * ev.accuracy).toFixed(2)}% (${test.size} images)\n`,
      );
      model.dispose();
    }
  }
}

/**
 * Estimated cost of a run (balances shards): epochs × training images × the variant's step cost. Masks
 * widen the perturbation layers: 4 masks measured 1.6× the 1-mask step at cpu scale; more masks are
 * extrapolated linearly (an estimate, not a measurement).
 */
function runCost(run: PnnRun, scale: CommonOptions['scale']): number {
  const r = resolveRun(run, scale);
  const images = r.data.trainPerClass !== undefined ? r.data.trainPerClass * 10 : scale === 'smoke' ? 300 : 50_000;
  return r.epochs * images * (1 + (0.6 * Math.max(0, (r.modelOptions.nmasks ?? 1) - 1)) / 3);
}

async function reproduceCmd(o: CommonOptions): Promise<void> {
  await runReproduce(
    {
      pkg: PACKAGE,
      cli: __filename,
      root: ROOT,
      jobs: (opts) =>
        selectedRuns(opts).flatMap((run) =>
          seedsOf(run, opts).map((seed) => ({
            runId: run.id,
            seed,
            config: resolveRun(run, opts.scale) as unknown as Record<string, unknown>,
            cost: runCost(run, opts.scale),
          })),
        ),
      table: tableCmd,
      summary: (opts) =>
        opts.scale === 'cpu'
          ? `Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, ${CPU_EPOCHS} epochs, budget 30 min`
          : '',
    },
    o,
  );
}

async function plots(o: CommonOptions, records: RunRecord[]): Promise<void> {
  const dir = path.join(o.out, 'plots', PACKAGE);
  const trained = records.filter((r) => r.scale !== 'paper' || r.history.length > 0);
  for (const r of trained) {
    const data: LinePoint[] = r.history.flatMap((h) => [
      { series: 'true accuracy', x: h.epoch, y: h.trueAccPct },
      { series: "smoothed 'reported' (EMA 0.7, batch 10)", x: h.epoch, y: h.smoothedPct },
    ]);
    await writePlot(
      path.join(dir, r.scale, `${r.runId}.seed${r.seed}`),
      lineChartSpec(data, {
        title: `${r.runId} seed ${r.seed} (${r.dataset}, ${r.scale})`,
        xLabel: 'epoch',
        yLabel: 'test accuracy (%)',
        integerX: true,
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
          series: `${id} (n=${rs.length})`,
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
      }),
    );
  }
}

async function tableCmd(o: CommonOptions): Promise<void> {
  const records = o.records ? mergeRunRecords(o.records, PACKAGE) : readRunRecords(path.join(o.out, 'runs'), PACKAGE);
  const rows = buildTable(PACKAGE, records, PUBLISHED, CLAIMS);
  const csv = path.join(o.out, `${PACKAGE}.csv`);
  writeResultsCsv(csv, rows);
  await plots(o, records);
  writeResultsReadme(o.out);
  const claims = rows.filter((r) => r.table === 'claims' && r.scale !== '');
  for (const c of claims)
    process.stderr.write(
      `[pnn-perturb] claim ${c.row} (${c.scale}): ${c.status} — ${c.reproduced === '' ? '' : c.reproduced + '; '}${String(c.note).split('; ').slice(1).join('; ')}\n`,
    );
  process.stderr.write(`[pnn-perturb] wrote ${csv} (${rows.length} rows from ${records.length} run records)\n`);
}

const program = buildPaperCli({
  name: 'pnn-perturb',
  description:
    'Reproduce Perturbative Neural Networks (Juefei-Xu et al., CVPR 2018) as re-examined by Klachko: published CIFAR-10 rows K1-K8 and R at paper scale, the three claims on a Fashion-MNIST analog at cpu scale.',
  runIds: ALL_RUNS.map((r) => ({ id: r.id, description: `${r.row}: ${r.description}` })),
  defaultScale: 'cpu',
  defaultOut: path.join(ROOT, 'results'),
  train: trainCmd,
  evaluate: evalCmd,
  reproduce: reproduceCmd,
  table: tableCmd,
  epilog: [
    'Runs (id  row: description):',
    ...ALL_RUNS.map((r) => `  ${r.id.padEnd(28)} ${r.row}: ${r.description} [${r.scale}]`),
    '',
    'Scales: smoke = the cpu runs on the 300-image fixture, 2 epochs, width 8 (seconds);',
    `        cpu = Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, all 10,000 test images, ${CPU_EPOCHS} epochs (default; ~30 min budget on 2 cores);`,
    "        paper = CIFAR-10 with Klachko's recipes (150 epochs, SGD Nesterov), needs --data-dir; meant for a GPU machine.",
  ].join('\n'),
});

if (require.main === module) void runCli(program);
