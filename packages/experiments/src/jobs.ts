/**
 * Runs training jobs in child processes, `parallel` at a time (min(2, cores) by default, REPRO_JOBS
 * otherwise: the WebAssembly backend computes on one thread per process). Each child gets an equal share of
 * the native kernels' threads (REPRO_BLAS_THREADS, unless set by the caller), so that
 * two children on two cores do not oversubscribe them. Progress lines of the children are forwarded.
 */
import * as os from 'os';
import { ChildProcess, spawn } from 'child_process';
import { formatDuration } from '@repro/runtime';

/**
 * Thrown by `runChildJobs` when the process got SIGTERM or SIGINT: the running children were sent
 * the same signal, waited for, and their claims released. `runCli` exits with 128 + the signal's number.
 */
export class InterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}: the running jobs were stopped and their locks released; rerun to resume them`);
    this.name = 'InterruptedError';
  }
}

/** How long a child may take to exit after the forwarded signal before it is killed (SIGKILL). */
export const CHILD_STOP_GRACE_MS = 30_000;

/** The variable that tells a child its parent's pid; the child stops when that parent is gone (`watchParent`). */
export const PARENT_PID_ENV = 'REPRO_PARENT_PID';

/**
 * In a child of `runChildJobs`: exits when the parent is gone (killed with SIGKILL, so it could not
 * stop its children), so that no orphan keeps training a job whose lock names a dead worker.
 */
export function watchParent(env: NodeJS.ProcessEnv = process.env, everyMs = 1000): void {
  const parent = Number(env[PARENT_PID_ENV]);
  if (!Number.isSafeInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    // nothing to say: the stderr pipe went with the parent
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, everyMs);
  timer.unref();
}

export interface ChildJob {
  /** Shown in errors, e.g. "cpu-a-3x3 seed 1". */
  label: string;
  /** Arguments after `node` (script and its flags). */
  args: string[];
  /**
   * Claims the job just before it starts (e.g. a lock shared with other workers); returns the release,
   * called when the child ends, or undefined when the job is taken (then it is skipped).
   */
  claim?: () => (() => void) | undefined;
  /** Relative cost (e.g. examples × epochs); the total ETA weighs finished jobs by it. Default 1. */
  cost?: number;
}

/**
 * The remaining time of a batch of jobs from the ones finished here: seconds per unit of cost so far
 * (wall time since the first job started, so parallel workers count) times the cost still to run.
 */
export function jobsEta(elapsedSeconds: number, costDone: number, costLeft: number): number {
  return costDone > 0 ? (elapsedSeconds / costDone) * costLeft : NaN;
}

/** REPRO_JOBS, else min(2, cores). */
export function defaultParallelism(): number {
  const env = process.env.REPRO_JOBS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`REPRO_JOBS='${env}' is not a positive integer`);
    return n;
  }
  return Math.min(2, os.cpus().length);
}

/**
 * Runs every job; the first failure stops new jobs from starting and is thrown after the running ones
 * end. SIGTERM or SIGINT stops new jobs too, is forwarded to the running children (SIGKILL after
 * CHILD_STOP_GRACE_MS), and once they ended and their claims were released throws an InterruptedError.
 * @returns the labels of the jobs skipped because another worker held them.
 */
export async function runChildJobs(jobs: ChildJob[], parallel: number): Promise<{ skipped: string[] }> {
  const skipped: string[] = [];
  const threads = Math.max(1, Math.floor(os.cpus().length / Math.max(1, Math.min(parallel, jobs.length))));
  const env = {
    ...process.env,
    REPRO_BLAS_THREADS: process.env.REPRO_BLAS_THREADS || String(threads),
    [PARENT_PID_ENV]: String(process.pid),
  };
  let next = 0;
  let failed: string | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const running = new Set<ChildProcess>();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!interrupted)
      process.stderr.write(`${signal}: stopping ${running.size} running job(s), then releasing their locks\n`);
    interrupted = signal;
    for (const child of running) {
      child.kill(signal);
      setTimeout(
        () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
        CHILD_STOP_GRACE_MS,
      ).unref();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // progress over the batch: job k of n as each starts, and the total ETA as each ends
  const cost = (j: ChildJob) => j.cost ?? 1;
  let costLeft = jobs.reduce((a, j) => a + cost(j), 0);
  let costDone = 0;
  let finished = 0;
  let startedAt: number | undefined;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const worker = async () => {
    while (next < jobs.length && !failed && !interrupted) {
      const k = next + 1;
      const job = jobs[next++];
      const release = job.claim ? job.claim() : () => undefined;
      if (!release) {
        skipped.push(job.label);
        costLeft -= cost(job);
        continue;
      }
      startedAt ??= Date.now();
      const jobStart = Date.now();
      say(`job ${k} of ${jobs.length}: ${job.label}`);
      await new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, ...job.args], {
          stdio: ['ignore', 'inherit', 'pipe'],
          env,
        });
        running.add(child);
        let tail = '';
        // forward whole lines only: a chunk may end inside a line
        let pending = '';
        const forward = (lines: string[]) => {
          for (const line of lines.filter((l) => l.trim() && !l.includes('nodedir')))
            process.stderr.write(`  ${line.replace(/\r/g, '')}\n`);
        };
        child.stderr.on('data', (d: Buffer) => {
          const text = d.toString();
          tail = (tail + text).slice(-2000);
          const lines = (pending + text).split('\n');
          pending = lines.pop() ?? '';
          forward(lines);
        });
        child.stderr.on('end', () => forward([pending]));
        child.on('error', (err) => {
          running.delete(child);
          failed = `${job.label}: ${err.message}`;
          release();
          resolve();
        });
        child.on('close', (code, signal) => {
          running.delete(child);
          if (code !== 0 && !failed && !interrupted)
            failed = `${job.label} exited with ${code ?? signal}: ${tail.trim().split('\n').at(-1)}`;
          release();
          if (code === 0) {
            finished++;
            costDone += cost(job);
            costLeft -= cost(job);
            const eta = jobsEta((Date.now() - startedAt!) / 1000, costDone, costLeft);
            say(
              `job ${k} of ${jobs.length} done: ${job.label} in ${formatDuration((Date.now() - jobStart) / 1000)}` +
                ` (${finished} finished${costLeft > 0 ? `, about ${formatDuration(eta)} left` : ''})`,
            );
          }
          resolve();
        });
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (interrupted) throw new InterruptedError(interrupted);
  if (failed) throw new Error(failed);
  return { skipped };
}
