/**
 * Which jobs a `reproduce` still has to train. A reproduction continues by default: a job whose run
 * record exists with the same resolved configuration is finished and skipped; a job whose record was
 * written by another configuration (epochs, seeds, data changed since) is retrained; every other job
 * is trained, resuming from its last checkpoint when one of the same configuration exists.
 * `fresh` starts every selected job over: its record and checkpoints are removed, but only by the
 * worker that holds the job's lock, just before it trains it (`removeJobOutputs`): never those of a
 * job that a live worker is training, and never a record another worker wrote during this reproduce.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatDuration, readRegularFile, writeJsonAtomic } from '@repro/runtime';
import { RUN_RECORD_MAX_BYTES, RunRecord, Scale, gitCommit, runRecordPath } from './record';
import type { CommonOptions } from './cli';
import { ChildJob, defaultParallelism, runChildJobs } from './jobs';
import { tryLock } from './lock';

export interface ReproduceJob {
  runId: string;
  seed: number;
  /** The resolved configuration the job's record must carry (`RunRecord.config`) to count as finished. */
  config: Record<string, unknown>;
  /** Estimated cost in arbitrary units (e.g. training examples × epochs × relative step cost); balances shards. */
  cost?: number;
}

export interface ReproducePlan {
  /** Jobs to train (resuming from a checkpoint where there is one). */
  todo: ReproduceJob[];
  /** Finished: a record with the same configuration exists. */
  finished: ReproduceJob[];
  /** A record exists but from another configuration: retrained. */
  stale: ReproduceJob[];
}

/** Where a job keeps its checkpoints (and any per-epoch files): <out>/runs/<pkg>/<scale>/checkpoints/<run>.seed<seed>. */
export function checkpointDir(out: string, pkg: string, scale: Scale, runId: string, seed: number): string {
  return path.join(out, 'runs', pkg, scale, 'checkpoints', `${runId}.seed${seed}`);
}

/** Canonical JSON (keys sorted, undefined dropped) so that configurations compare by value. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

/**
 * A job's configuration as compared with a record's: the run's configuration without its list of seeds
 * (one job trains one seed; adding seeds to a run leaves the records of its other seeds finished).
 */
function jobConfig(config: unknown): unknown {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return config;
  const { seeds: _seeds, ...rest } = config as Record<string, unknown>;
  return rest;
}

export function planReproduce(
  out: string,
  pkg: string,
  scale: Scale,
  jobs: ReproduceJob[],
  opts: { fresh: boolean },
): ReproducePlan {
  const plan: ReproducePlan = { todo: [], finished: [], stale: [] };
  for (const job of jobs) {
    const file = runRecordPath(path.join(out, 'runs'), { package: pkg, runId: job.runId, seed: job.seed, scale });
    if (opts.fresh) {
      plan.todo.push(job);
      continue;
    }
    if (!fs.existsSync(file)) {
      plan.todo.push(job);
      continue;
    }
    let rec: Partial<RunRecord>;
    try {
      const text = readRegularFile(file, { what: 'run record', maxBytes: RUN_RECORD_MAX_BYTES });
      rec = JSON.parse(text.toString('utf8')) as Partial<RunRecord>;
    } catch (err) {
      throw new Error(`${file}: corrupt run record (${(err as Error).message}); remove it or rerun with --fresh`, {
        cause: err,
      });
    }
    if (rec.complete && canonical(jobConfig(rec.config)) === canonical(jobConfig(job.config))) {
      plan.finished.push(job);
    } else {
      plan.stale.push(job);
      plan.todo.push(job);
    }
  }
  return plan;
}

/** A job's record and checkpoints, removed for `--fresh` by the worker that holds its lock. */
function removeJobOutputs(out: string, pkg: string, scale: Scale, job: Pick<ReproduceJob, 'runId' | 'seed'>): void {
  fs.rmSync(runRecordPath(path.join(out, 'runs'), { package: pkg, runId: job.runId, seed: job.seed, scale }), {
    force: true,
  });
  fs.rmSync(checkpointDir(out, pkg, scale, job.runId, job.seed), { recursive: true, force: true });
}

/** The lock file of a job: <out>/runs/<pkg>/<scale>/locks/<run>.seed<seed>.lock. */
function jobLockFile(out: string, pkg: string, scale: Scale, job: Pick<ReproduceJob, 'runId' | 'seed'>): string {
  return path.join(out, 'runs', pkg, scale, 'locks', `${job.runId}.seed${job.seed}.lock`);
}

/** One line per kind of job, for the user: what is skipped, retrained, trained. */
export function describePlan(plan: ReproducePlan): string[] {
  const ids = (js: ReproduceJob[]) => js.map((j) => `${j.runId} seed ${j.seed}`).join(', ');
  const lines: string[] = [];
  if (plan.finished.length)
    lines.push(
      `skipping ${plan.finished.length} finished run(s) (records with the same configuration exist; --fresh retrains): ${ids(plan.finished)}`,
    );
  if (plan.stale.length)
    lines.push(
      `retraining ${plan.stale.length} run(s) whose records came from another configuration: ${ids(plan.stale)}`,
    );
  return lines;
}

/** A job's identity: package, scale, run id and seed. */
export function jobId(pkg: string, scale: Scale, job: Pick<ReproduceJob, 'runId' | 'seed'>): string {
  return `${pkg}:${scale}:${job.runId}:seed${job.seed}`;
}

export interface Shard {
  index: number;
  count: number;
}

/**
 * `--shard i/n` (0 ≤ i < n), or `--shard n` with i from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX
 * (a Slurm job array --array=0-(n-1), a Kubernetes Indexed Job).
 */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^(?:(\d+)\/)?(\d+)$/.exec(value.trim());
  if (!m)
    throw new Error(
      `--shard: expected i/n (e.g. 0/4) or n with the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, got '${value}'`,
    );
  const count = Number(m[2]);
  let index: number;
  if (m[1] !== undefined) index = Number(m[1]);
  else {
    const from =
      env.SLURM_ARRAY_TASK_ID !== undefined
        ? 'SLURM_ARRAY_TASK_ID'
        : env.JOB_COMPLETION_INDEX !== undefined
          ? 'JOB_COMPLETION_INDEX'
          : undefined;
    if (!from)
      throw new Error(
        `--shard ${value}: no shard index given and neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; use --shard i/${count}`,
      );
    // an empty or padded value is a scheduler's mistake, not shard 0 (Number('') is 0)
    if (!/^\d+$/.test(env[from] ?? ''))
      throw new Error(`--shard: ${from}='${env[from]}' is not a non-negative integer`);
    index = Number(env[from]);
  }
  if (!(count >= 1) || !(index >= 0 && index < count))
    throw new Error(`--shard: index ${index} is not in 0..${count - 1}`);
  return { index, count };
}

/**
 * Shard `index` of `count`: a deterministic partition balanced by estimated cost (longest job first,
 * each to the least loaded shard; ties by job order and shard index). Every job is in exactly one shard.
 */
export function shardJobs<J extends Pick<ReproduceJob, 'runId' | 'seed' | 'cost'>>(jobs: J[], shard: Shard): J[] {
  const order = jobs.map((j, i) => ({ j, i })).sort((a, b) => (b.j.cost ?? 1) - (a.j.cost ?? 1) || a.i - b.i);
  const load = new Array<number>(shard.count).fill(0);
  const mine = new Set<number>();
  for (const { j, i } of order) {
    let best = 0;
    for (let k = 1; k < shard.count; k++) if (load[k] < load[best]) best = k;
    load[best] += j.cost ?? 1;
    if (best === shard.index) mine.add(i);
  }
  return jobs.filter((_, i) => mine.has(i));
}

export interface ReproduceSpec {
  pkg: string;
  /** The package's CLI script, run as `node <cli> train ...` for each job. */
  cli: string;
  /** The repository root (for the commit recorded with the wall time). */
  root: string;
  /** The jobs of the selected runs and seeds at o.scale. */
  jobs(o: CommonOptions): ReproduceJob[];
  /** Writes the table and plots from the records. */
  table(o: CommonOptions): Promise<void>;
  /** Extra words for the header line (data, epochs, budget). */
  summary?(o: CommonOptions): string;
}

function trainArgs(spec: ReproduceSpec, o: CommonOptions, job: ReproduceJob): string[] {
  const args = ['train', '--run', job.runId, '--seeds', String(job.seed), '--scale', o.scale, '--out', o.out];
  if (o.dataDir) args.push('--data-dir', o.dataDir);
  if (o.backend) args.push('--backend', o.backend);
  return args;
}

/**
 * The shell command a scheduler runs for one job: resuming from its checkpoint if one exists, or
 * with --fresh starting over (a plain `train`, which replaces the job's checkpoints and record).
 */
export function jobCommand(spec: ReproduceSpec, o: CommonOptions, job: ReproduceJob): string {
  const quote = (a: string) => (/^[\w./:@=,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const args = [...trainArgs(spec, o, job), ...(o.fresh ? [] : ['--resume'])];
  return `npx nx run ${spec.pkg}:cli -- ${args.map(quote).join(' ')}`;
}

const log = (pkg: string, line: string) => process.stderr.write(`[${pkg}] ${line}\n`);

/**
 * The shared `reproduce`: --list prints the jobs still to train (one JSON object per line); otherwise
 * trains them (this shard's with --shard), each claimed with a lock so that workers sharing --out never
 * train the same run, then writes the table from whatever records exist.
 */
export async function runReproduce(spec: ReproduceSpec, o: CommonOptions): Promise<void> {
  const start = Date.now();
  const all = spec.jobs(o);
  const selected = o.shard ? shardJobs(all, o.shard) : all;
  if (o.list) {
    const plan = planReproduce(o.out, spec.pkg, o.scale, selected, { fresh: false });
    const todo = o.fresh ? selected : plan.todo;
    // stdout stays one JSON object per job (for a scheduler); the word for a person goes to stderr
    if (todo.length === 0)
      log(
        spec.pkg,
        `--list: no job left to train at --scale ${o.scale} (${plan.finished.length} of ${selected.length} finished; --fresh lists them all)`,
      );
    for (const job of todo) {
      process.stdout.write(
        JSON.stringify({
          id: jobId(spec.pkg, o.scale, job),
          package: spec.pkg,
          scale: o.scale,
          runId: job.runId,
          seed: job.seed,
          cost: job.cost ?? 1,
          command: jobCommand(spec, o, job),
        }) + '\n',
      );
    }
    return;
  }
  const plan = planReproduce(o.out, spec.pkg, o.scale, selected, { fresh: o.fresh });
  const parallel = defaultParallelism();
  const summary = spec.summary?.(o);
  const shardNote = o.shard
    ? ` (shard ${o.shard.index}/${o.shard.count}: ${selected.length} of ${all.length} jobs)`
    : '';
  log(
    spec.pkg,
    `reproduce --scale ${o.scale}${shardNote}: ${plan.todo.length} of ${selected.length} run(s) to train, ${parallel} at a time${summary ? ` (${summary})` : ''}`,
  );
  for (const line of describePlan(plan)) log(spec.pkg, line);
  const children: ChildJob[] = plan.todo.map((job) => ({
    label: `${job.runId} seed ${job.seed}`,
    cost: job.cost,
    args: [spec.cli, ...trainArgs(spec, o, job), ...(o.resume ? ['--resume-if-compatible'] : [])],
    claim: () => {
      const id = jobId(spec.pkg, o.scale, job);
      const lock = tryLock(jobLockFile(o.out, spec.pkg, o.scale, job), id, (why) =>
        log(
          spec.pkg,
          `taking over the lock of ${id}: ${why}; ${o.fresh ? 'starting it over' : 'resuming from its checkpoint'}`,
        ),
      );
      if (!lock) return undefined;
      // another worker may have finished it since the plan was made (with --fresh: since this reproduce began)
      const record = runRecordPath(path.join(o.out, 'runs'), {
        package: spec.pkg,
        runId: job.runId,
        seed: job.seed,
        scale: o.scale,
      });
      const finished = planReproduce(o.out, spec.pkg, o.scale, [job], { fresh: false }).finished.length > 0;
      if (finished && (!o.fresh || fs.statSync(record).mtimeMs >= start)) {
        lock.release();
        return undefined;
      }
      if (o.fresh) removeJobOutputs(o.out, spec.pkg, o.scale, job);
      return () => lock.release();
    },
  }));
  const { skipped } = await runChildJobs(children, parallel);
  if (skipped.length)
    log(spec.pkg, `left ${skipped.length} run(s) to other workers (locked or finished by them): ${skipped.join(', ')}`);
  await spec.table(o);
  const wall = (Date.now() - start) / 1000;
  const trained = plan.todo.length - skipped.length;
  // the wall time of the reproduction, for tools/bench; a rerun that trained nothing keeps the last one
  if (trained > 0) {
    const name = o.shard
      ? `reproduce-${o.scale}.shard${o.shard.index}of${o.shard.count}.json`
      : `reproduce-${o.scale}.json`;
    writeJsonAtomic(path.join(o.out, 'runs', spec.pkg, name), {
      package: spec.pkg,
      scale: o.scale,
      runs: selected.length,
      trained,
      skipped: plan.finished.length + skipped.length,
      parallel,
      wallSeconds: Math.round(wall),
      commit: gitCommit(spec.root),
      finishedAt: new Date().toISOString(),
    });
  }
  log(spec.pkg, `reproduce finished in ${formatDuration(wall)}`);
}
