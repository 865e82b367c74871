/**
 * definePaper: a paper package declares its runs, published values, claims and how to train (and
 * evaluate) one run; this gives it the whole CLI (train / eval / reproduce / table with the common
 * flags), the job list of every scale, the table, the results README and the claim summary lines.
 *
 * Scales: `paper` runs the runs declared at paper scale; `cpu` the cpu runs; `smoke` the cpu runs with
 * their first seed (the package's trainRun shrinks them to seconds).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { BackendInfo, assertSafeId, formatDuration, initBackend } from '@repro/runtime';
import { CommonOptions, buildPaperCli } from './cli';
import { RunRecord, Scale, mergeRunRecords, readRunRecords, writeRunRecord } from './record';
import { runReproduce } from './reproduce';
import { MeasuredSpec, PublishedValue, buildTable, claimResults, writeResultsCsv } from './table';
import { ClaimSpec, writeClaimsJson } from './claims';
import { writeResultsReadme } from './results-readme';

export interface PaperRun {
  id: string;
  /** The paper row (or cpu variant) it stands for. */
  row: string;
  description: string;
  scale: 'cpu' | 'paper';
  seeds: number[];
}

export interface RunContext {
  scale: Scale;
  seed: number;
  out: string;
  dataDir?: string;
  resume: boolean | 'if-compatible';
  backend: BackendInfo;
}

export interface PaperSpec<R extends PaperRun> {
  name: string;
  description: string;
  runs: R[];
  published: PublishedValue[];
  /** Claims as data (decided by shared code; `<out>/<name>.claims.json`). */
  claims: ClaimSpec[];
  /** Quantities reported beside the claims as context (rows of status `measured`, no verdict). */
  measured?: MeasuredSpec[];
  /** The run's resolved configuration at a scale: what its record carries (`RunRecord.config`). */
  resolve(run: R, scale: Scale): Record<string, unknown>;
  /** Trains one run and seed (checkpoints and resume through the shared loop); returns its record. */
  trainRun(run: R, ctx: RunContext): Promise<RunRecord>;
  /** Evaluates a trained run's saved model; returns one line for stdout. */
  evalRun(run: R, ctx: Omit<RunContext, 'resume'>): Promise<string>;
  /** Estimated cost of a run (balances shards; default 1). */
  cost?(run: R, scale: Scale): number;
  /** One line about a finished record (default: its wall time). */
  summarizeRecord?(rec: RunRecord): string;
  /** Pictures from the records into `dir` (results/plots/<name>). */
  plots?(records: RunRecord[], dir: string): Promise<void>;
  /** Extra words for the reproduce header (data, epochs, budget). */
  summary?(scale: Scale): string;
  /** Extra --help text (run map, scales). */
  epilog?: string;
  /** The package's CLI script (__filename of its cli.ts), run for each reproduce job. */
  cli: string;
  /** The repository root (default results folder, commit). */
  root: string;
  defaultScale?: Scale;
}

export interface Paper<R extends PaperRun> {
  program: Command;
  /** The runs of --run (default: all runs of the scale), checked against the scale. */
  selectedRuns(o: CommonOptions): R[];
  seedsOf(run: R, o: CommonOptions): number[];
  findRun(id: string): R;
  table(o: CommonOptions): Promise<void>;
}

/**
 * Runs `draw(dir)` with a fresh folder under <out>/plots; on success `commit(target)` moves every file
 * it drew to the same place under `target` (replacing files of the same name, keeping others), on
 * failure the folder is removed (with the folders made for it, when empty) and the error rethrown.
 */
async function stagePlots(
  out: string,
  draw: (dir: string) => Promise<void>,
): Promise<{ commit: (target: string) => void }> {
  const parent = path.join(out, 'plots');
  const made = fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, '.staging-'));
  const cleanup = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    // the folders made for the staging folder go too, when empty (another table may be staging there)
    try {
      for (let d = parent; made !== undefined; d = path.dirname(d)) {
        fs.rmdirSync(d);
        if (d === made) break;
      }
    } catch {
      /* not empty: in use */
    }
  };
  try {
    await draw(dir);
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    commit: (target) => {
      const move = (from: string, to: string) => {
        for (const e of fs.readdirSync(from, { withFileTypes: true })) {
          const src = path.join(from, e.name);
          const dst = path.join(to, e.name);
          if (e.isDirectory()) move(src, dst);
          else {
            fs.mkdirSync(to, { recursive: true });
            fs.renameSync(src, dst);
          }
        }
      };
      try {
        move(dir, target);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export function definePaper<R extends PaperRun>(spec: PaperSpec<R>): Paper<R> {
  // package and run ids name folders and files
  assertSafeId(spec.name, 'package name');
  for (const r of spec.runs) assertSafeId(r.id, `${spec.name}: run id`);
  const log = (line: string) => process.stderr.write(`[${spec.name}] ${line}\n`);
  const findRun = (id: string): R => {
    const r = spec.runs.find((x) => x.id === id);
    if (!r) throw new Error(`unknown run id '${id}'; valid run ids: ${spec.runs.map((x) => x.id).join(', ')}`);
    return r;
  };
  const pool = (scale: Scale) => spec.runs.filter((r) => r.scale === (scale === 'paper' ? 'paper' : 'cpu'));
  const selectedRuns = (o: CommonOptions): R[] => {
    const runs = o.runs ? o.runs.map(findRun) : pool(o.scale);
    for (const r of runs) {
      if (!pool(o.scale).includes(r)) {
        throw new Error(
          `run ${r.id} is a ${r.scale}-scale run; --scale ${o.scale} runs: ${pool(o.scale)
            .map((x) => x.id)
            .join(', ')}`,
        );
      }
    }
    return runs;
  };
  const seedsOf = (run: R, o: CommonOptions) => o.seeds ?? (o.scale === 'smoke' ? run.seeds.slice(0, 1) : run.seeds);

  const train = async (o: CommonOptions) => {
    const backend = await initBackend(o.backend);
    log(`backend ${backend.name} (${backend.detail})`);
    for (const run of selectedRuns(o)) {
      for (const seed of seedsOf(run, o)) {
        const rec = await spec.trainRun(run, {
          scale: o.scale,
          seed,
          out: o.out,
          dataDir: o.dataDir,
          resume: o.resume,
          backend,
        });
        const file = writeRunRecord(path.join(o.out, 'runs'), rec);
        const what = spec.summarizeRecord ? `${spec.summarizeRecord(rec)} ` : '';
        log(
          `${run.id} seed ${seed}: ${what}(${formatDuration(rec.wallSeconds)}) -> ${path.relative(process.cwd(), file)}`,
        );
      }
    }
  };

  const evaluate = async (o: CommonOptions) => {
    const backend = await initBackend(o.backend);
    for (const run of selectedRuns(o)) {
      for (const seed of seedsOf(run, o)) {
        process.stdout.write(
          `${await spec.evalRun(run, { scale: o.scale, seed, out: o.out, dataDir: o.dataDir, backend })}\n`,
        );
      }
    }
  };

  const table = async (o: CommonOptions) => {
    // every record is read and checked before anything is written: a bad one leaves no output
    const records = o.records
      ? mergeRunRecords(o.records, spec.name)
      : readRunRecords(path.join(o.out, 'runs'), spec.name);
    const rows = buildTable(spec.name, records, spec.published, spec.claims, spec.measured);
    const csv = path.join(o.out, `${spec.name}.csv`);
    // the plots are drawn into a staging folder and moved into place only when all of them are drawn
    const staged = spec.plots ? await stagePlots(o.out, (dir) => spec.plots!(records, dir)) : undefined;
    const results = claimResults(spec.claims, records);
    writeResultsCsv(csv, rows);
    if (spec.claims.length) writeClaimsJson(o.out, spec.name, spec.claims, results);
    if (staged) staged.commit(path.join(o.out, 'plots', spec.name));
    writeResultsReadme(o.out, o.records);
    const d = (v: number | null) =>
      v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(Math.abs(v) < 0.1 && v !== 0 ? 4 : 2);
    for (const r of results.filter((x) => x.scale !== null)) {
      const failed = r.preconditions.filter((c) => !c.passed).map((c) => c.name);
      log(
        `claim ${r.id} (${r.scale}): ${r.verdict} — ${d(r.estimate)} [${d(r.lo)}, ${d(r.hi)}] vs ${r.holdsWhen} ${d(r.threshold)}` +
          (failed.length ? `; failed preconditions: ${failed.join(', ')}` : ''),
      );
    }
    log(`wrote ${csv} (${rows.length} rows from ${records.length} run records)`);
  };

  const reproduce = (o: CommonOptions) =>
    runReproduce(
      {
        pkg: spec.name,
        cli: spec.cli,
        root: spec.root,
        jobs: (opts) =>
          selectedRuns(opts).flatMap((run) =>
            seedsOf(run, opts).map((seed) => ({
              runId: run.id,
              seed,
              config: spec.resolve(run, opts.scale),
              cost: spec.cost ? spec.cost(run, opts.scale) : 1,
            })),
          ),
        table,
        summary: spec.summary ? (opts) => spec.summary!(opts.scale) : undefined,
      },
      o,
    );

  const program = buildPaperCli({
    name: spec.name,
    description: spec.description,
    runIds: spec.runs.map((r) => ({ id: r.id, description: `${r.row}: ${r.description}` })),
    defaultScale: spec.defaultScale ?? 'cpu',
    defaultOut: path.join(spec.root, 'results'),
    train,
    evaluate,
    reproduce,
    // the table subcommand on a folder without records is a mistake (a wrong --out), not an empty table;
    // reproduce still writes one when other workers hold every job
    table: (o) => {
      if (!o.records && readRunRecords(path.join(o.out, 'runs'), spec.name).length === 0)
        return Promise.reject(
          new Error(
            `--out ${o.out} holds no run records of ${spec.name} (expected ${path.join(o.out, 'runs', spec.name, '<scale>', '*.json')}); nothing written. Train first (reproduce) or point --out or --records at a results folder`,
          ),
        );
      return table(o);
    },
    epilog: spec.epilog,
  });
  return { program, selectedRuns, seedsOf, findRun, table };
}
