/** runChildJobs / defaultParallelism: the child-process runner of every paper package's `reproduce`. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultParallelism, runChildJobs } from '../src';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'repro-jobs-'));

/** A job that writes its REPRO_BLAS_THREADS into dir/name. */
const envJob = (dir: string, name: string) => ({
  label: name,
  args: [
    '-e',
    `require('fs').writeFileSync(${JSON.stringify(path.join(dir, name))}, String(process.env.REPRO_BLAS_THREADS))`,
  ],
});

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    process.env = saved;
  }
}

it('runs every job and gives each child its share of the cores as native threads', async () => {
  const dir = tmp();
  await withEnv({ REPRO_BLAS_THREADS: undefined }, () =>
    runChildJobs(
      ['a', 'b', 'c'].map((n) => envJob(dir, n)),
      2,
    ),
  );
  const share = String(Math.max(1, Math.floor(os.cpus().length / 2)));
  for (const n of ['a', 'b', 'c']) expect(fs.readFileSync(path.join(dir, n), 'utf8')).toBe(share);
});

it("keeps the caller's REPRO_BLAS_THREADS", async () => {
  const dir = tmp();
  await withEnv({ REPRO_BLAS_THREADS: '3' }, () => runChildJobs([envJob(dir, 'a')], 2));
  expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('3');
});

it('a failing job rejects with its label, exit code and last stderr line, and starts no further job', async () => {
  const dir = tmp();
  const failing = {
    label: 'cpu-x seed 1',
    args: ['-e', "console.error('data file missing: /nowhere'); process.exit(3)"],
  };
  await expect(runChildJobs([failing, envJob(dir, 'later')], 1)).rejects.toThrow(
    /^cpu-x seed 1 exited with 3: data file missing: \/nowhere$/,
  );
  expect(fs.existsSync(path.join(dir, 'later'))).toBe(false);
});

it('defaultParallelism: REPRO_JOBS when set, else min(2, cores); a bad value is an error', () => {
  expect(withEnv({ REPRO_JOBS: '3' }, defaultParallelism)).toBe(3);
  expect(withEnv({ REPRO_JOBS: undefined }, defaultParallelism)).toBe(Math.min(2, os.cpus().length));
  expect(() => withEnv({ REPRO_JOBS: 'two' }, defaultParallelism)).toThrow(
    "REPRO_JOBS='two' is not a positive integer",
  );
  expect(() => withEnv({ REPRO_JOBS: '0' }, defaultParallelism)).toThrow("REPRO_JOBS='0' is not a positive integer");
});
