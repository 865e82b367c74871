/**
 * Runs training jobs in child processes, `parallel` at a time (one per core by default: the
 * WebAssembly backend computes on one thread per process). Each child gets an equal share of
 * the native kernels' threads (REPRO_BLAS_THREADS, unless set by the caller), so that
 * two children on two cores do not oversubscribe them. Progress lines of the children are forwarded.
 */
import * as os from 'os';
import { spawn } from 'child_process';

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
 * end. @returns the labels of the jobs skipped because another worker held them.
 */
export async function runChildJobs(jobs: ChildJob[], parallel: number): Promise<{ skipped: string[] }> {
  const skipped: string[] = [];
  const threads = Math.max(1, Math.floor(os.cpus().length / Math.max(1, Math.min(parallel, jobs.length))));
  const env = { ...process.env, REPRO_BLAS_THREADS: process.env.REPRO_BLAS_THREADS || String(threads) };
  let next = 0;
  let failed: string | undefined;
  const worker = async () => {
    while (next < jobs.length && !failed) {
      const job = jobs[next++];
      const release = job.claim ? job.claim() : () => undefined;
      if (!release) {
        skipped.push(job.label);
        continue;
      }
      await new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, ...job.args], {
          stdio: ['ignore', 'inherit', 'pipe'],
          env,
        });
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
          failed = `${job.label}: ${err.message}`;
          release();
          resolve();
        });
        child.on('close', (code) => {
          if (code !== 0 && !failed) failed = `${job.label} exited with ${code}: ${tail.trim().split('\n').at(-1)}`;
          release();
          resolve();
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  if (failed) throw new Error(failed);
  return { skipped };
}
