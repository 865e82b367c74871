/**
 * A reproduction as independent jobs, simulated on this machine at smoke scale: --list, three shards
 * into three folders merged by `table --records` (byte-identical to the unsharded table), and two
 * workers sharing one --out (disjoint runs, the set complete). The SIGKILL-and-take-over case is in
 * cli.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';

const CLI = path.join(__dirname, '..', 'src', 'cli.ts');
const ROOT = path.join(__dirname, '..', '..', '..');
// one job at a time per worker: every child then has the same OpenBLAS thread count, so records of
// sharded and unsharded runs are bit-identical
const ENV = { ...process.env, CI: 'true', REPRO_JOBS: '1' };

function cli(args: string[], env: NodeJS.ProcessEnv = ENV) {
  return spawnSync('npx', ['tsx', CLI, ...args], { cwd: ROOT, encoding: 'utf8', env });
}

function cliAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', CLI, ...args], { cwd: ROOT, env: ENV });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

interface Listed {
  id: string;
  runId: string;
  seed: number;
  cost: number;
  command: string;
}
const listed = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Listed);
const smoke = ['--scale', 'smoke', '--backend', 'wasm'];
const trainedRuns = (stderr: string) => [...stderr.matchAll(/(cpu-[\w-]+) seed 1 epoch 2\/2/g)].map((m) => m[1]).sort();

it('--list, three shards merged by table --records, and two workers on one --out', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dist-'));
  const plain = path.join(base, 'plain');

  // --list: the jobs an unsharded reproduce trains, with their commands and costs
  const list = cli(['reproduce', '--list', ...smoke, '--out', plain]);
  expect(list.status).toBe(0);
  const jobs = listed(list.stdout);
  expect(jobs.map((j) => j.id)).toEqual(
    ['cpu-a-3x3', 'cpu-am-3x3-matched', 'cpu-b-1x1-nonoise', 'cpu-c-pnn-nm1', 'cpu-d-pnn-nm4'].map(
      (r) => `pnn-perturb:smoke:${r}:seed1`,
    ),
  );
  expect(jobs[0].command).toBe(
    `npx nx run pnn-perturb:cli -- train --run cpu-a-3x3 --seeds 1 --scale smoke --out ${plain} --backend wasm --resume`,
  );
  expect(jobs.find((j) => j.runId === 'cpu-d-pnn-nm4')!.cost).toBeGreaterThan(jobs[0].cost);

  const r = cli(['reproduce', ...smoke, '--out', plain]);
  expect(r.status).toBe(0);
  expect(trainedRuns(r.stderr)).toEqual(jobs.map((j) => j.runId).sort());
  expect(listed(cli(['reproduce', '--list', ...smoke, '--out', plain]).stdout)).toEqual([]); // nothing left

  // three shards, three processes, three folders: together every job once
  const shardDirs = [0, 1, 2].map((i) => path.join(base, `shard${i}`));
  const shardLists = shardDirs.map((d, i) =>
    listed(cli(['reproduce', '--list', ...smoke, '--shard', `${i}/3`, '--out', d]).stdout),
  );
  expect(
    shardLists
      .flat()
      .map((j) => j.id)
      .sort(),
  ).toEqual(jobs.map((j) => j.id).sort());
  const shards = await Promise.all(
    shardDirs.map((d, i) => cliAsync(['reproduce', ...smoke, '--shard', `${i}/3`, '--out', d])),
  );
  for (const s of shards) expect(s.status).toBe(0);
  expect(shards.flatMap((s) => trainedRuns(s.stderr)).sort()).toEqual(jobs.map((j) => j.runId).sort());
  const merged = path.join(base, 'merged');
  const t = cli(['table', '--scale', 'smoke', '--records', ...shardDirs, '--out', merged]);
  expect(t.status).toBe(0);
  expect(fs.readFileSync(path.join(merged, 'pnn-perturb.csv'), 'utf8')).toBe(
    fs.readFileSync(path.join(plain, 'pnn-perturb.csv'), 'utf8'),
  );

  // a disagreeing duplicate is refused, naming both files
  const rec = path.join(shardDirs[0], 'runs', 'pnn-perturb', 'smoke');
  const first = fs.readdirSync(rec).find((f) => f.endsWith('.json'))!;
  const other = path.join(base, 'other', 'runs', 'pnn-perturb', 'smoke');
  fs.mkdirSync(other, { recursive: true });
  const changed = JSON.parse(fs.readFileSync(path.join(rec, first), 'utf8')) as { metrics: Record<string, number> };
  changed.metrics.bestTrueAccPct += 1;
  fs.writeFileSync(path.join(other, first), JSON.stringify(changed));
  const bad = cli([
    'table',
    '--scale',
    'smoke',
    '--records',
    shardDirs[0],
    path.join(base, 'other'),
    '--out',
    path.join(base, 'bad'),
  ]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain(`disagree: ${path.join(rec, first)} and ${path.join(other, first)}`);
  expect(fs.existsSync(path.join(base, 'bad', 'pnn-perturb.csv'))).toBe(false);

  // two workers started at once on one shared --out train disjoint runs and complete the set
  const shared = path.join(base, 'shared');
  const [w1, w2] = await Promise.all([
    cliAsync(['reproduce', ...smoke, '--out', shared]),
    cliAsync(['reproduce', ...smoke, '--out', shared]),
  ]);
  expect(w1.status).toBe(0);
  expect(w2.status).toBe(0);
  const a = trainedRuns(w1.stderr);
  const b = trainedRuns(w2.stderr);
  expect([...a, ...b].sort()).toEqual(jobs.map((j) => j.runId).sort());
  expect(a.filter((x) => b.includes(x))).toEqual([]);
  expect(fs.readdirSync(path.join(shared, 'runs', 'pnn-perturb', 'smoke', 'locks'))).toEqual([]); // all released
  expect(fs.readFileSync(path.join(shared, 'pnn-perturb.csv'), 'utf8')).toBe(
    fs.readFileSync(path.join(plain, 'pnn-perturb.csv'), 'utf8'),
  );
}, 300_000);
