/**
 * Workers that die at any moment: locks that are empty, unreadable or whose pid was reused expire;
 * `reproduce --fresh` never touches a job a live worker holds; SIGTERM to `reproduce` stops its
 * children, releases their locks and exits 143; a child whose parent was SIGKILLed stops; a Slurm
 * index that is empty is an error, not shard 0.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { parseShard, runReproduce, staleReason, tryLock } from '../src';
import { jobsEta } from '../src/jobs';

const FIXTURES = path.join(__dirname, 'fixtures');
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const age = (file: string, seconds: number) => {
  const t = new Date(Date.now() - seconds * 1000);
  fs.utimesSync(file, t, t);
};

describe('locks expire when nobody can be holding them', () => {
  it.each([
    ['empty', ''],
    ['unreadable', '{"host": "x", "pi'],
    ['foreign', '[1, 2, 3]'],
  ])('a lock file that is %s is held until the stale interval, then taken over', (_kind, text) => {
    const file = path.join(tmp('repro-lock-bad-'), 'a.seed1.lock');
    fs.writeFileSync(file, text);
    expect(staleReason(file)).toBeUndefined(); // just written: its writer may still be at work
    expect(tryLock(file, 'x')).toBeUndefined();
    age(file, 1000);
    expect(staleReason(file)).toMatch(/the lock is (empty|unreadable) and unchanged for 1000 s/);
    const held = tryLock(file, 'x');
    expect(held).toBeDefined();
    held!.release();
  });

  (fs.existsSync('/proc/self/stat') ? it : it.skip)(
    'a lock whose worker was killed but not yet reaped (a zombie, which signal 0 still reaches) is stale',
    async () => {
      // the inner sh exits after its parent has become `sleep` (which never waits for it): a zombie for
      // 5 s. Exiting at once raced the outer sh, which could reap it before the exec (then no /proc entry)
      const holder = spawn('sh', ['-c', 'sh -c "sleep 0.3; exit 0" & echo $!; exec sleep 5'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const pid = await new Promise<number>((resolve) =>
        holder.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
      );
      try {
        const deadline = Date.now() + 3000;
        const state = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
        while (state() !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(state()).toBe('Z');
        expect(() => process.kill(pid, 0)).not.toThrow(); // what the old check relied on
        const file = path.join(tmp('repro-lock-zombie-'), 'a.seed1.lock');
        fs.writeFileSync(file, JSON.stringify({ host: os.hostname(), pid, job: 'x', startedAt: '' }));
        expect(staleReason(file)).toMatch(new RegExp(`its worker \\(pid ${pid} on .*\\) is gone`));
      } finally {
        holder.kill('SIGKILL');
      }
    },
  );

  it('a lock of this host whose pid is alive but whose heartbeat is old is stale (the pid was reused)', () => {
    const file = path.join(tmp('repro-lock-reused-'), 'a.seed1.lock');
    // process.ppid: a live process of this host that is not the lock's writer
    fs.writeFileSync(file, JSON.stringify({ host: os.hostname(), pid: process.ppid, job: 'x', startedAt: '' }));
    expect(staleReason(file)).toBeUndefined();
    age(file, 2 * 86400);
    expect(staleReason(file)).toMatch(new RegExp(`no heartbeat from .* \\(pid ${process.ppid}\\) for 172800 s`));
  });
});

it('an empty or non-numeric Slurm / Kubernetes index is an error, not shard 0', () => {
  for (const v of ['', ' ', '1.5', '-1', '0x1', 'one'])
    expect(() => parseShard('4', { SLURM_ARRAY_TASK_ID: v })).toThrow(
      /SLURM_ARRAY_TASK_ID='.*' is not a non-negative integer/,
    );
  expect(() => parseShard('4', { JOB_COMPLETION_INDEX: '' })).toThrow(/JOB_COMPLETION_INDEX='' is not/);
  expect(parseShard('4', { SLURM_ARRAY_TASK_ID: '3' })).toEqual({ index: 3, count: 4 });
});

describe('reproduce and its children', () => {
  const record = (out: string, run: string, extra: Record<string, unknown> = {}) => {
    const file = path.join(out, 'runs', 'demo', 'smoke', `${run}.seed1.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({ runId: run, seed: 1, scale: 'smoke', config: { demo: 1 }, complete: true, ...extra }),
    );
    return file;
  };
  const start = (out: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'reproduce-demo.ts'), out, ...args], {
      env: { ...process.env, REPRO_JOBS: '2', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, stderr })),
    );
    return { child, done };
  };
  const waitFor = async (files: string[], ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!files.every((f) => fs.existsSync(f)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return files.every((f) => fs.existsSync(f));
  };
  // running: signal 0 reaches it and it is not a zombie waiting to be reaped (an orphan's reaper may be slow)
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      return !/^\S+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  const marks = (out: string, kind: string) => ['a', 'b'].map((r) => path.join(out, 'marks', `${kind}.${r}.1`));

  it('--fresh retrains the jobs it can lock and leaves a job a live worker holds untouched', async () => {
    const out = tmp('repro-fresh-');
    const aRecord = record(out, 'a', { by: 'the live worker' });
    const aCheckpoint = path.join(out, 'runs', 'demo', 'smoke', 'checkpoints', 'a.seed1', 'checkpoint.json');
    fs.mkdirSync(path.dirname(aCheckpoint), { recursive: true });
    fs.writeFileSync(aCheckpoint, '{}');
    const bRecord = record(out, 'b', { by: 'an earlier reproduce' });
    const lock = tryLock(path.join(out, 'runs', 'demo', 'smoke', 'locks', 'a.seed1.lock'), 'demo:smoke:a:seed1');
    expect(lock).toBeDefined();
    try {
      const { code, stderr } = await start(out, ['--fresh']).done;
      expect(stderr).toMatch(/left 1 run\(s\) to other workers .*: a seed 1/);
      expect(code).toBe(0);
    } finally {
      lock!.release();
    }
    expect(JSON.parse(fs.readFileSync(aRecord, 'utf8'))).toMatchObject({ by: 'the live worker' });
    expect(fs.existsSync(aCheckpoint)).toBe(true);
    expect(JSON.parse(fs.readFileSync(bRecord, 'utf8'))).toHaveProperty('trainedBy');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s: the children get it, are waited for, the locks are released, the exit is %i',
    async (signal, exit) => {
      const out = tmp('repro-signal-');
      const { child, done } = start(out, [], { FAKE_TRAIN_MS: '60000' });
      expect(await waitFor(marks(out, 'started'))).toBe(true);
      const pids = marks(out, 'started').map((f) => Number(fs.readFileSync(f, 'utf8')));
      const locks = path.join(out, 'runs', 'demo', 'smoke', 'locks');
      expect(fs.readdirSync(locks).filter((f) => f.endsWith('.lock'))).toHaveLength(2);
      child.kill(signal);
      const { code, stderr } = await done;
      expect(stderr).toMatch(new RegExp(`interrupted by ${signal}`));
      expect(code).toBe(exit);
      for (const f of marks(out, signal.toLowerCase())) expect(fs.existsSync(f)).toBe(true);
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(fs.readdirSync(locks).filter((f) => f.endsWith('.lock'))).toEqual([]);
      expect(fs.readdirSync(path.join(out, 'runs', 'demo', 'smoke')).filter((f) => f.endsWith('.json'))).toEqual([]);
    },
  );

  it('a child whose reproduce was SIGKILLed stops by itself (no orphan keeps training)', async () => {
    const out = tmp('repro-orphan-');
    const { child, done } = start(out, [], { FAKE_TRAIN_MS: '60000' });
    expect(await waitFor(marks(out, 'started'))).toBe(true);
    const pids = marks(out, 'started').map((f) => Number(fs.readFileSync(f, 'utf8')));
    (child as ChildProcess).kill('SIGKILL');
    await done;
    const deadline = Date.now() + 15_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
    expect(fs.readdirSync(path.join(out, 'runs', 'demo', 'smoke')).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});

it('reproduce --list with no job left says so on stderr and prints no job on stdout', async () => {
  const out = tmp('repro-list-');
  const file = path.join(out, 'runs', 'demo', 'smoke', 'a.seed1.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ runId: 'a', seed: 1, scale: 'smoke', config: { demo: 1 }, complete: true }));
  const err: string[] = [];
  const outLines: string[] = [];
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (outLines.push(String(s)), true));
  try {
    await runReproduce(
      {
        pkg: 'demo',
        cli: path.join(FIXTURES, 'fake-train.js'),
        root: out,
        jobs: () => [{ runId: 'a', seed: 1, config: { demo: 1 } }],
        table: () => Promise.resolve(),
      },
      { scale: 'smoke', out, resume: 'if-compatible', fresh: false, list: true },
    );
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
  expect(outLines).toEqual([]);
  expect(err.join('')).toMatch(
    /--list: no job left to train at --scale smoke \(1 of 1 finished; --fresh lists them all\)/,
  );
});

it('reproduce --list --fresh prints commands that start over (no --resume); without --fresh they resume', async () => {
  const out = tmp('repro-list-fresh-');
  const list = async (fresh: boolean) => {
    const lines: string[] = [];
    const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    try {
      await runReproduce(
        {
          pkg: 'demo',
          cli: path.join(FIXTURES, 'fake-train.js'),
          root: out,
          jobs: () => [{ runId: 'a', seed: 1, config: { demo: 1 } }],
          table: () => Promise.resolve(),
        },
        { scale: 'smoke', out, resume: 'if-compatible', fresh, list: true },
      );
    } finally {
      o.mockRestore();
    }
    return lines.map((l) => (JSON.parse(l) as { command: string }).command);
  };
  expect(await list(false)).toEqual([expect.stringMatching(/ train --run a --seeds 1 .* --resume$/)]);
  expect((await list(true))[0]).not.toMatch(/--resume/);
});

it('reproduce says job k of n as each starts, and how long is left as each ends', async () => {
  const out = tmp('repro-progress-');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'reproduce-demo.ts'), out], {
    env: { ...process.env, REPRO_JOBS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(0);
  expect(stderr).toMatch(/job 1 of 2: a seed 1\n/);
  expect(stderr).toMatch(/job 1 of 2 done: a seed 1 in \S+ \(1 finished, about \S+ left\)/);
  expect(stderr).toMatch(/job 2 of 2 done: b seed 1 in \S+ \(2 finished\)/);
  // seconds per unit of cost so far, times the cost left
  expect(jobsEta(60, 2, 3)).toBe(90);
  expect(jobsEta(60, 0, 3)).toBeNaN();
});
