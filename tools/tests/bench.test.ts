/** The benchmark runs end to end on tiny sizes (speed itself is measured by running it, not here). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

it('bench --quick writes a CSV with our timings', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-')), 'bench.csv');
  const r = spawnSync('npx', ['tsx', path.join(__dirname, '..', 'bench', 'bench.ts'), '--quick', '--out', out], {
    encoding: 'utf8',
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, REPRO_BACKEND: 'wasm' },
  });
  expect(r.stderr).toContain('[bench] wrote');
  expect(r.status).toBe(0);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  expect(lines[0]).toBe(
    'workload,impl,seconds,per_second,unit,peer_impl,peer_seconds,peer_per_second,speed_ratio,backend,commit,date,ratio_min,ratio_max,rounds',
  );
  expect(lines.length).toBe(13); // W1, W2 (train and infer each), W3, W4, W5, W6, W7, W7a, W8a and W8b
  expect(lines[1]).toMatch(/^W1 lenet3x3-nf32 28x28x1 b64,repro-train,[0-9.e-]+,[0-9.e-]+,images\/s,/);
  expect(lines[5]).toMatch(/^W3 dcor2 n=200 512x10,repro-dcor2,[0-9.e-]+,/);
  expect(lines[7]).toMatch(/^W5 diverge-step convnet16 b128,repro-train,[0-9.e-]+,/);
  expect(lines[8]).toMatch(/^W6 pgd2 convnet16 b128,repro-attack,[0-9.e-]+,/);
  expect(lines[9]).toMatch(/^W7 compare resnet18-vs-resnet34 8x8 layers n=64 b64,repro-compareModels,[0-9.e-]+,/);
  expect(lines[10]).toMatch(/^W7a forward passes only/);
  expect(lines[11]).toMatch(/^W8a MINE iteration hidden 16 batch 500 in 8\+8,repro-mine-train,[0-9.e-]+,/);
  expect(lines[12]).toMatch(/^W8b CTC stage-2 step plaincnn6-nf16 28x28x1 b16 K=8 n=200,repro-ctc-train,[0-9.e-]+,/);
  expect(r.stdout).toMatch(/speed ratio ours\/peer/);
});

it('bench rejects an unknown workload', () => {
  const r = spawnSync(
    'npx',
    ['tsx', path.join(__dirname, '..', 'bench', 'bench.ts'), '--quick', '--only', 'W9', '--out', '/dev/null'],
    {
      encoding: 'utf8',
      cwd: path.join(__dirname, '..', '..'),
    },
  );
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/unknown workload 'W9'; available: W1, W2, W3, W4, W5, W6, W7, W8/);
});
