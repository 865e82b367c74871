/** Shards, job locks and merged records: the pieces that let independent workers run a reproduction. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  RUN_RECORD_SCHEMA,
  RunRecord,
  mergeRunRecords,
  parseShard,
  shardJobs,
  staleReason,
  tryLock,
  writeRunRecord,
} from '../src';

const jobs = [
  { runId: 'a', seed: 1, cost: 5 },
  { runId: 'a', seed: 2, cost: 5 },
  { runId: 'b', seed: 1, cost: 1 },
  { runId: 'c', seed: 1, cost: 8 },
  { runId: 'd', seed: 1, cost: 2 },
  { runId: 'd', seed: 2, cost: 2 },
  { runId: 'e', seed: 1 },
];

it('shards partition the jobs: disjoint, complete, deterministic, balanced by cost', () => {
  for (const n of [1, 2, 3, 4, 7, 9]) {
    const shards = Array.from({ length: n }, (_, i) => shardJobs(jobs, { index: i, count: n }));
    const ids = shards.flat().map((j) => `${j.runId}.${j.seed}`);
    expect(ids.sort()).toEqual(jobs.map((j) => `${j.runId}.${j.seed}`).sort());
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => shardJobs(jobs, { index: i, count: n })));
    for (const s of shards) expect(s).toEqual(jobs.filter((j) => s.includes(j))); // job order kept
  }
  const loads = [0, 1, 2].map((i) => shardJobs(jobs, { index: i, count: 3 }).reduce((a, j) => a + (j.cost ?? 1), 0));
  expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1); // 24 units: 8 / 8 / 8 or so
});

it('--shard i/n, or n with the index from Slurm or Kubernetes; bad values are errors', () => {
  expect(parseShard('2/5', {})).toEqual({ index: 2, count: 5 });
  expect(parseShard('4', { SLURM_ARRAY_TASK_ID: '3' })).toEqual({ index: 3, count: 4 });
  expect(parseShard('4', { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 0, count: 4 });
  expect(() => parseShard('4', {})).toThrow(/neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set/);
  expect(() => parseShard('5/5', {})).toThrow(/index 5 is not in 0..4/);
  expect(() => parseShard('4', { SLURM_ARRAY_TASK_ID: '4' })).toThrow(/index 4 is not in 0..3/);
  expect(() => parseShard('a/b', {})).toThrow(/expected i\/n/);
});

describe('job locks', () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'repro-lock-'));

  it('one holder at a time; released locks can be taken again', () => {
    const file = path.join(dir(), 'locks', 'a.seed1.lock');
    const held = tryLock(file, 'demo:cpu:a:seed1');
    expect(held).toBeDefined();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
      host: os.hostname(),
      pid: process.pid,
      job: 'demo:cpu:a:seed1',
    });
    expect(staleReason(file)).toBeUndefined(); // our own live process
    expect(tryLock(file, 'demo:cpu:a:seed1')).toBeUndefined();
    held!.release();
    expect(fs.existsSync(file)).toBe(false);
    const again = tryLock(file, 'demo:cpu:a:seed1');
    expect(again).toBeDefined();
    again!.release();
  });

  it('a lock of a dead process on this host is stale and taken over', () => {
    const file = path.join(dir(), 'a.seed1.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    fs.writeFileSync(file, JSON.stringify({ host: os.hostname(), pid, job: 'x', startedAt: '2026-01-01T00:00:00Z' }));
    expect(staleReason(file)).toMatch(new RegExp(`its worker \\(pid ${pid} on .*\\) is gone`));
    const reasons: string[] = [];
    const held = tryLock(file, 'x', (r) => reasons.push(r));
    expect(held).toBeDefined();
    expect(reasons).toHaveLength(1);
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid).toBe(process.pid);
    held!.release();
  });

  it('a lock from another host is stale only when its heartbeat is older than REPRO_LOCK_STALE_SECONDS', () => {
    const file = path.join(dir(), 'a.seed1.lock');
    fs.writeFileSync(
      file,
      JSON.stringify({ host: 'node-17.cluster', pid: 4242, job: 'x', startedAt: '2026-01-01T00:00:00Z' }),
    );
    expect(staleReason(file)).toBeUndefined(); // fresh heartbeat
    expect(tryLock(file, 'x')).toBeUndefined();
    const old = new Date(Date.now() - 1000 * 1000);
    fs.utimesSync(file, old, old);
    expect(staleReason(file)).toMatch(/no heartbeat from node-17\.cluster \(pid 4242\) for 1000 s/);
    process.env.REPRO_LOCK_STALE_SECONDS = '5000';
    try {
      expect(staleReason(file)).toBeUndefined();
    } finally {
      delete process.env.REPRO_LOCK_STALE_SECONDS;
    }
    const held = tryLock(file, 'x');
    expect(held).toBeDefined();
    held!.release();
  });
});

function record(runId: string, seed: number, acc: number, startedAt = '2026-11-23T00:00:00Z'): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
    package: 'demo',
    runId,
    seed,
    scale: 'cpu',
    dataset: 'fashion-mnist',
    model: 'lenet',
    config: { epochs: 2 },
    overrides: {},
    history: [{ epoch: 1, acc }],
    metrics: { acc },
    backend: { name: 'wasm', detail: 'wasm simd, 1 thread', tfjsVersion: '4.22.0' },
    commit: 'abc1234',
    startedAt,
    wallSeconds: 1,
    complete: true,
  };
}

it('merging records of several folders: duplicates that agree are one record, disagreeing ones an error naming both files', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-merge-'));
  const w = (name: string, recs: RunRecord[]) => {
    for (const r of recs) writeRunRecord(path.join(base, name, 'runs'), r);
    return path.join(base, name);
  };
  const a = w('w0', [record('a', 1, 80), record('b', 1, 70)]);
  const b = w('w1', [record('a', 1, 80, '2026-11-24T00:00:00Z'), record('c', 1, 60)]); // same outcome, another start time
  const merged = mergeRunRecords([a, path.join(b, 'runs')], 'demo');
  expect(merged.map((r) => `${r.runId}.${r.seed}`)).toEqual(['a.1', 'b.1', 'c.1']);
  const c = w('w2', [record('a', 1, 81)]);
  expect(() => mergeRunRecords([a, c], 'demo')).toThrow(
    new RegExp(
      `two records of demo cpu:a:seed1 disagree: ${path.join(a, 'runs', 'demo', 'cpu', 'a.seed1.json').replace(/[.]/g, '\\.')} and ${path.join(c, 'runs', 'demo', 'cpu', 'a.seed1.json').replace(/[.]/g, '\\.')}`,
    ),
  );
  expect(() => mergeRunRecords([path.join(base, 'nope')], 'demo')).toThrow(/--records: .*nope does not exist/);
});
