#!/usr/bin/env node
/**
 * pnn-perturb: reproduce the PNN re-examination. `reproduce` trains every run of the scale (two
 * processes in parallel, one per core, via @repro/experiments' runChildJobs), then
 * writes results/pnn-perturb.csv, the plots and results/README.md from the run records.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend, formatDuration, writeJsonAtomic } from '@repro/runtime';
import { loadModel } from '@repro/models';
import { loadFashionMnist } from '@repro/datasets';
import {
  CommonOptions,
  RunRecord,
  buildPaperCli,
  buildTable,
  evaluateClassifier,
  lineChartSpec,
  readRunRecords,
  runCli,
  writePlot,
  writeResultsCsv,
  writeResultsReadme,
  writeRunRecord,
  LinePoint,
  gitCommit,
  runChildJobs,
  defaultParallelism,
  ChildJob,
  ReproduceJob,
  planReproduce,
  describePlan,
  meanInterval,
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

/** The `train` child processes of a reproduction, one per run and seed. */
function trainJobs(o: CommonOptions, jobs: ReproduceJob[]): ChildJob[] {
  return jobs.map(({ runId, seed }) => {
    const args = [__filename, 'train', '--run', runId, '--seeds', String(seed), '--scale', o.scale, '--out', o.out];
    if (o.dataDir) args.push('--data-dir', o.dataDir);
    if (o.backend) args.push('--backend', o.backend);
    if (o.resume) args.push('--resume-if-compatible');
    return { label: `${runId} seed ${seed}`, args };
  });
}

async function reproduceCmd(o: CommonOptions): Promise<void> {
  const start = Date.now();
  const jobs: ReproduceJob[] = selectedRuns(o).flatMap((run) =>
    seedsOf(run, o).map((seed) => ({
      runId: run.id,
      seed,
      config: resolveRun(run, o.scale) as unknown as Record<string, unknown>,
    })),
  );
  const plan = planReproduce(o.out, PACKAGE, o.scale, jobs, { fresh: o.fresh });
  const parallel = defaultParallelism();
  process.stderr.write(
    `[pnn-perturb] reproduce --scale ${o.scale}: ${plan.todo.length} of ${jobs.length} run(s) to train, ${parallel} at a time` +
      (o.scale === 'cpu'
        ? ` (Fashion-MNIST, ${CPU_TRAIN_PER_CLASS * 10} training images, ${CPU_EPOCHS} epochs, budget 30 min)`
        : '') +
      '\n',
  );
  for (const line of describePlan(plan)) process.stderr.write(`[pnn-perturb] ${line}\n`);
  const todo = plan.todo;
  await runChildJobs(trainJobs(o, todo), parallel);
  await tableCmd(o);
  const wall = (Date.now() - start) / 1000;
  // the wall time of the reproduction, for tools/bench; a rerun that trained nothing keeps the last one
  if (todo.length > 0) {
    writeJsonAtomic(path.join(o.out, 'runs', PACKAGE, `reproduce-${o.scale}.json`), {
      package: PACKAGE,
      scale: o.scale,
      runs: jobs.length,
      trained: todo.length,
      skipped: plan.finished.length,
      parallel,
      wallSeconds: Math.round(wall),
      commit: gitCommit(ROOT),
      finishedAt: new Date().toISOString(),
    });
  }
  process.stderr.write(`[pnn-perturb] reproduce finished in ${formatDuration(wall)}\n`);
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
  const records = readRunRecords(path.join(o.out, 'runs'), PACKAGE);
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
