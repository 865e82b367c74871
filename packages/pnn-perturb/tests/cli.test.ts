/**
 * The pnn-perturb CLI end to end at smoke scale (into a temporary --out, never results/), its help,
 * and its errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import type { RunRecord } from '@repro/experiments';

const CLI = path.join(__dirname, '..', 'src', 'cli.ts');
const ROOT = path.join(__dirname, '..', '..', '..');

/** A JSON file the CLI wrote, typed by the caller. */
function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The smoke-scale flags of every reproduce here. */
const SMOKE = ['--scale', 'smoke', '--backend', 'wasm'];

function cli(args: string[]) {
  return spawnSync('npx', ['tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', REPRO_JOBS: '2' },
  });
}

it('--help lists the subcommands, the runs and the scales; each subcommand has its flags', () => {
  const h = cli(['--help']);
  expect(h.status).toBe(0);
  for (const s of ['train', 'eval', 'reproduce', 'table', 'k1-resnet18-nf44', 'cpu-c-pnn-nm1', 'smoke', 'paper'])
    expect(h.stdout).toContain(s);
  const t = cli(['train', '--help']);
  for (const f of ['--scale', '--backend', '--data-dir', '--seeds', '--out', '--resume', '--run'])
    expect(t.stdout).toContain(f);
});

it('reproduce --scale smoke writes records, the CSV, plots and README into --out', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-'));
  const r = cli(['reproduce', ...SMOKE, '--out', out]);
  expect(r.stderr).toMatch(/reproduce finished/);
  expect(r.status).toBe(0);
  const csv = fs.readFileSync(path.join(out, 'pnn-perturb.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe(
    'package,table,row,metric,published,reproduced,delta,tolerance,scale,dataset,model,epochs,seeds,status,note,backend,commit',
  );
  const statuses = csv
    .slice(1)
    .map(
      (l) =>
        l.match(
          /,(match|outside-tol|claim-holds|claim-fails|claim-inconclusive|missing|not-reproducible-here|measured|smoke),/,
        )?.[1],
    );
  expect(statuses).not.toContain(undefined);
  expect(statuses).toContain('smoke');
  expect(csv.filter((l) => l.includes(',K1,') && l.includes(',missing,'))[0]).toMatch(
    /train --scale paper --run k1-resnet18-nf44/,
  );
  // a Fashion-MNIST number never sits beside a CIFAR-10 published value: the variants have rows of their own
  expect(
    csv.filter((l) => /^pnn-perturb,(klachko-cifar10|original-pnn-cifar10),/.test(l) && !/,paper,/.test(l)),
  ).toEqual([]);
  expect(
    csv.some((l) => l.startsWith('pnn-perturb,cpu-fashion-mnist,Am bestTrueAccPct,') && l.includes(',smoke,')),
  ).toBe(true);
  // the claims as data: one object per claim, smoke (a pipeline check, no verdict), its per-seed values
  const claims = readJson<{ claims: Array<{ id: string; verdict: string; perSeed: unknown[]; scale: string }> }>(
    path.join(out, 'pnn-perturb.claims.json'),
  ).claims;
  expect(claims.map((c) => [c.id, c.scale, c.verdict])).toEqual([
    ...['A', 'Am', 'B', 'C', 'D'].map((v) => [`a-smoothed-metric-${v}`, 'smoke', 'smoke']),
    ['b-noise-adds-little', 'smoke', 'smoke'],
    ['c-3x3-beats-pnn', 'smoke', 'smoke'],
  ]);
  expect(claims.find((c) => c.id === 'b-noise-adds-little')!.perSeed).toHaveLength(1);
  const rec = readJson<RunRecord>(path.join(out, 'runs', 'pnn-perturb', 'smoke', 'cpu-c-pnn-nm1.seed1.json'));
  expect(rec.scale).toBe('smoke');
  expect(rec.dataset).toBe('fashion-mnist-fixture');
  expect(rec.backend.name).toBe('wasm');
  expect(rec.history).toHaveLength(2);
  expect(rec.metrics.bestTrueAccPct).toBeGreaterThan(0);
  // eval of the saved final model gives the record's final true accuracy
  const ev = cli(['eval', '--scale', 'smoke', '--run', 'cpu-c-pnn-nm1', '--out', out]);
  expect(ev.status).toBe(0);
  expect(ev.stdout.trim()).toBe(
    `cpu-c-pnn-nm1 seed 1: true test accuracy ${rec.metrics.finalTrueAccPct.toFixed(2)}% (100 images)`,
  );
  // every run ends with the tensor count it started with
  for (const id of ['cpu-a-3x3', 'cpu-am-3x3-matched', 'cpu-b-1x1-nonoise', 'cpu-c-pnn-nm1', 'cpu-d-pnn-nm4']) {
    const t = readJson<RunRecord>(path.join(out, 'runs', 'pnn-perturb', 'smoke', `${id}.seed1.json`)).tensors!;
    expect(t.atEnd).toBe(t.atStart);
    expect(t.atStart).toBeGreaterThanOrEqual(0);
  }
  for (const f of ['variants.png', 'variants.svg', 'cpu-a-3x3.seed1.png'])
    expect(fs.existsSync(path.join(out, 'plots', 'pnn-perturb', 'smoke', f))).toBe(true);
  expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/## pnn-perturb/);
  const wall = readJson<{ wallSeconds: number }>(path.join(out, 'runs', 'pnn-perturb', 'reproduce-smoke.json'));
  expect(wall).toMatchObject({ package: 'pnn-perturb', scale: 'smoke', runs: 5 });
  expect(wall.wallSeconds).toBeGreaterThan(0);
  // the table regenerates byte-for-byte from the records
  const before = fs.readFileSync(path.join(out, 'pnn-perturb.csv'), 'utf8');
  const plotBefore = fs.readFileSync(path.join(out, 'plots', 'pnn-perturb', 'smoke', 'variants.svg'), 'utf8');
  expect(cli(['table', '--scale', 'smoke', '--out', out]).status).toBe(0);
  expect(fs.readFileSync(path.join(out, 'pnn-perturb.csv'), 'utf8')).toBe(before);
  // a second reproduce trains nothing and rewrites identical tables and plots
  const recordBefore = fs.readFileSync(path.join(out, 'runs', 'pnn-perturb', 'smoke', 'cpu-a-3x3.seed1.json'), 'utf8');
  const again = cli(['reproduce', ...SMOKE, '--out', out]);
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/0 of 5 run\(s\) to train/);
  expect(again.stderr).toMatch(/skipping 5 finished run\(s\).*cpu-a-3x3 seed 1/);
  expect(again.stderr).not.toMatch(/epoch 1\/2/);
  expect(fs.readFileSync(path.join(out, 'runs', 'pnn-perturb', 'smoke', 'cpu-a-3x3.seed1.json'), 'utf8')).toBe(
    recordBefore,
  );
  expect(fs.readFileSync(path.join(out, 'pnn-perturb.csv'), 'utf8')).toBe(before);
  expect(fs.readFileSync(path.join(out, 'plots', 'pnn-perturb', 'smoke', 'variants.svg'), 'utf8')).toBe(plotBefore);
  // --fresh trains them all again
  const fresh = cli(['reproduce', ...SMOKE, '--out', out, '--fresh', '--run', 'cpu-b-1x1-nonoise']);
  expect(fresh.status).toBe(0);
  expect(fresh.stderr).toMatch(/1 of 1 run\(s\) to train/);
  expect(fresh.stderr).toMatch(/cpu-b-1x1-nonoise seed 1 epoch 2\/2/);
}, 180_000);

it('a reproduce killed with SIGKILL mid-run continues: finished runs skipped, the partial one resumed, the same records', async () => {
  const env = { ...process.env, CI: 'true', REPRO_JOBS: '1' };
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-kill-'));
  const args = (out: string) => [
    'tsx',
    CLI,
    'reproduce',
    ...SMOKE,
    '--out',
    out,
    '--run',
    'cpu-a-3x3,cpu-b-1x1-nonoise',
  ];
  const plain = path.join(base, 'plain');
  expect(spawnSync('npx', args(plain), { cwd: ROOT, encoding: 'utf8', env }).status).toBe(0);

  const killed = path.join(base, 'killed');
  const smoke = path.join(killed, 'runs', 'pnn-perturb', 'smoke');
  const child = spawn('npx', args(killed), { cwd: ROOT, env, detached: true, stdio: 'ignore' });
  const ckpt = path.join(smoke, 'checkpoints', 'cpu-b-1x1-nonoise.seed1', 'checkpoint.json');
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(ckpt) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  process.kill(-child.pid!, 'SIGKILL'); // the reproduce and its train child
  await new Promise((r) => setTimeout(r, 300));
  expect(fs.existsSync(path.join(smoke, 'cpu-a-3x3.seed1.json'))).toBe(true);
  expect(fs.existsSync(path.join(smoke, 'cpu-b-1x1-nonoise.seed1.json'))).toBe(false);
  expect(readJson<{ epoch: number }>(ckpt).epoch).toBe(1);
  // the killed worker's lock stays behind; the next worker takes it over by the stale-lock rule
  const lock = path.join(smoke, 'locks', 'cpu-b-1x1-nonoise.seed1.lock');
  expect(readJson<{ host: string; pid: number }>(lock).host).toBe(os.hostname());

  const again = spawnSync('npx', args(killed), { cwd: ROOT, encoding: 'utf8', env });
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/1 of 2 run\(s\) to train/);
  expect(again.stderr).toMatch(/skipping 1 finished run\(s\).*cpu-a-3x3 seed 1/);
  expect(again.stderr).toMatch(
    /taking over the lock of pnn-perturb:smoke:cpu-b-1x1-nonoise:seed1: its worker \(pid \d+ on .*\) is gone; resuming from its checkpoint/,
  );
  expect(again.stderr).toMatch(/cpu-b-1x1-nonoise seed 1: resumed from .* after epoch 1/);
  expect(fs.existsSync(lock)).toBe(false);
  for (const id of ['cpu-a-3x3', 'cpu-b-1x1-nonoise']) {
    const read = (out: string) =>
      readJson<RunRecord>(path.join(out, 'runs', 'pnn-perturb', 'smoke', `${id}.seed1.json`));
    expect(read(killed).history).toEqual(read(plain).history);
    expect(read(killed).metrics).toEqual(read(plain).metrics);
  }
}, 240_000);

it('unknown run ids, scale mismatches and missing CIFAR data fail clearly', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-'));
  const a = cli(['train', '--run', 'k9-nope', '--out', out]);
  expect(a.status).toBe(1);
  expect(a.stderr).toMatch(/unknown run id 'k9-nope'; valid run ids: k1-resnet18-nf44, /);
  const b = cli(['train', '--run', 'k1-resnet18-nf44', '--scale', 'cpu', '--out', out]);
  expect(b.status).toBe(1);
  expect(b.stderr).toMatch(/k1-resnet18-nf44 is a paper-scale run/);
  const c = cli(['train', '--run', 'k1-resnet18-nf44', '--scale', 'paper', '--out', out]);
  expect(c.status).toBe(1);
  expect(c.stderr).toMatch(/needs CIFAR-10: pass --data-dir/);
  const d = cli(['train', '--run', 'cpu-a-3x3', '--scale', 'cpu', '--data-dir', out, '--out', out]);
  expect(d.status).toBe(1);
  expect(d.stderr).toMatch(/fashion-mnist \(train\) not found; looked in/);
}, 120_000);
