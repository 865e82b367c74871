/**
 * Which jobs a `reproduce` still has to train. A reproduction continues by default: a job whose run
 * record exists with the same resolved configuration is finished and skipped; a job whose record was
 * written by another configuration (epochs, seeds, data changed since) is retrained; every other job
 * is trained, resuming from its last checkpoint when one of the same configuration exists.
 * `fresh` starts every selected job over: its record and checkpoints are removed first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RunRecord, Scale, runRecordPath } from './record';

export interface ReproduceJob {
  runId: string;
  seed: number;
  /** The resolved configuration the job's record must carry (`RunRecord.config`) to count as finished. */
  config: Record<string, unknown>;
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
      fs.rmSync(file, { force: true });
      fs.rmSync(checkpointDir(out, pkg, scale, job.runId, job.seed), { recursive: true, force: true });
      plan.todo.push(job);
      continue;
    }
    if (!fs.existsSync(file)) {
      plan.todo.push(job);
      continue;
    }
    let rec: Partial<RunRecord>;
    try {
      rec = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RunRecord>;
    } catch (err) {
      throw new Error(`${file}: corrupt run record (${(err as Error).message}); remove it or rerun with --fresh`, {
        cause: err,
      });
    }
    if (rec.complete && canonical(rec.config) === canonical(job.config)) {
      plan.finished.push(job);
    } else {
      plan.stale.push(job);
      plan.todo.push(job);
    }
  }
  return plan;
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
