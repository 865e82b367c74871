/**
 * The dt-tradeoff-ctc CLI end to end at smoke scale (into a temporary --out, never results/):
 * reproduce, the table's claim rows and plots, no leaked tensors, a CTC job killed in stage 2
 * resumed to the numbers of the uninterrupted job, and the errors of `transfer` and `mine`: bad flags
 * fail at parse time naming the flag, a checkpoint with NaN weights or of another architecture fails
 * naming it, and nothing is written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { parse } from 'csv-parse/sync';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { mine } from '@repro/core-metrics';
import { createModel, disposeModel, saveModel } from '@repro/models';
import type { RunRecord } from '@repro/experiments';
import { GAUSSIAN_CASES, checkpointSequence, runMine, runTransfer } from '../src';

const CLI = path.join(__dirname, '..', 'src', 'cli.ts');
const ROOT = path.join(__dirname, '..', '..', '..');

function cli(args: string[]) {
  return spawnSync('npx', ['tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 200_000,
    // one job at a time: the resume test compares with these records, and OpenBLAS sums differ with its thread count
    env: { ...process.env, CI: 'true', REPRO_JOBS: '1' },
  });
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-'));
const rec = (id: string, dir = out) =>
  JSON.parse(
    fs.readFileSync(path.join(dir, 'runs', 'dt-tradeoff-ctc', 'smoke', `${id}.seed1.json`), 'utf8'),
  ) as RunRecord;
const ckpts = (id: string, dir = out) =>
  path.join(dir, 'runs', 'dt-tradeoff-ctc', 'smoke', 'checkpoints', `${id}.seed1`, 'ckpt');

beforeAll(async () => {
  await initBackend('wasm');
});

describe('reproduce --scale smoke', () => {
  let rows: Array<Record<string, string>>;
  beforeAll(() => {
    const r = cli(['reproduce', '--scale', 'smoke', '--backend', 'wasm', '--out', out]);
    expect(r.stderr).toMatch(/reproduce finished/);
    expect(r.status).toBe(0);
    rows = parse<Record<string, string>>(fs.readFileSync(path.join(out, 'dt-tradeoff-ctc.csv'), 'utf8'), {
      columns: true,
    });
  }, 240_000);

  it('writes every claim, the paper-scale rows as missing with their commands, and the MINE check', () => {
    const claims = rows.filter((r) => r.table === 'claims');
    const cpu = claims.filter((r) => r.scale === 'smoke').map((r) => r.row);
    expect(cpu.sort()).toEqual([
      '1-discriminability-rises',
      '2a-transfer-peaks-then-declines-repo-probe',
      '2b-transfer-peaks-then-declines-strict-probe',
      '3a-ixt-falls-late',
      '3b-ity-source-holds',
      '4a-ctc-raises-transfer-repo-probe',
      '4b-ctc-raises-transfer-strict-probe',
    ]);
    const paper = claims.filter((r) => r.row.startsWith('paper-'));
    expect(paper).toHaveLength(7);
    for (const p of paper) {
      expect(p.status).toBe('missing');
      expect(p.note).toMatch(/run with: npx nx run dt-tradeoff-ctc:reproduce -- --scale paper --data-dir/);
    }
    // smoke runs the first two Gaussian cases; the others are rows without a value
    const gauss = rows.filter((r) => r.table === 'mine-gaussian' && r.scale === 'smoke');
    expect(gauss).toHaveLength(7);
    expect(
      gauss
        .filter((r) => r.reproduced !== '')
        .map((r) => r.row)
        .sort(),
    ).toEqual(['d1-rho0.5', 'd1-rho0.9']);
    // no number is typed from the paper: nothing has a published value
    expect(rows.every((r) => r.published === '')).toBe(true);
    // every claim is data: the cpu claims at smoke (a pipeline check, no verdict) with their per-seed
    // values, the paper-scale ones missing, and the Gaussian estimator checks (no value where not run)
    const json = JSON.parse(fs.readFileSync(path.join(out, 'dt-tradeoff-ctc.claims.json'), 'utf8')) as {
      claims: Array<{
        id: string;
        scale: string | null;
        verdict: string;
        kind: string;
        method: string | null;
        perSeed: unknown[];
      }>;
    };
    const ids = cpu.sort();
    expect(json.claims.map((c) => [c.id, c.scale, c.verdict])).toEqual([
      ...ids.map((id) => [id, 'smoke', 'smoke']),
      ...ids.map((id) => [`paper-${id}`, null, 'missing']),
      ...GAUSSIAN_CASES.map((g) => [g.name, 'smoke', 'smoke']),
    ]);
    const byId = (id: string) => json.claims.find((c) => c.id === id)!;
    expect(byId('4a-ctc-raises-transfer-repo-probe').method).toBe('paired-t');
    expect(byId('4a-ctc-raises-transfer-repo-probe').perSeed).toHaveLength(1);
    expect(byId('1-discriminability-rises').method).toBe('student-t');
    expect(json.claims.filter((c) => c.kind === 'estimator-check').map((c) => c.id)).toEqual(
      GAUSSIAN_CASES.map((g) => g.name),
    );
    expect(byId('d1-rho0.5').perSeed).toHaveLength(1);
    expect(byId('d5-rho0.5').perSeed).toHaveLength(0);
  });

  it('records every checkpoint analysis, leaks no tensors, and draws the figures', () => {
    const v = rec('cpu-vanilla');
    expect(v.tensors!.atEnd).toBe(v.tensors!.atStart);
    const a = v.extra!.checkpoints as Array<{
      epoch: number;
      probe: Record<string, { curvePct: number[] }>;
      mine?: object;
    }>;
    expect(a.map((x) => x.epoch)).toEqual([0, 2, 4]);
    expect(a.every((x) => x.probe.repo.curvePct.length === 2 && x.probe.strict.curvePct.length === 2)).toBe(true);
    expect(a.every((x) => x.mine !== undefined)).toBe(true);
    const c = rec('cpu-ctc');
    expect(c.tensors!.atEnd).toBe(c.tensors!.atStart);
    expect(c.history).toHaveLength(5);
    // stage 1 (epochs 1-3): CE + a·instance discrimination; stage 2 (4-5): CE + b·NCE
    expect(c.history[0].trainInstance).toBeGreaterThan(0);
    expect(c.history[0].trainNce).toBeUndefined();
    expect(c.history[4].trainNce).toBeGreaterThan(0);
    for (const f of checkpointSequence(ckpts('cpu-vanilla'), 0, 2))
      expect(fs.existsSync(path.join(f.dir, 'weights.bin'))).toBe(true);
    const plots = path.join(out, 'plots', 'dt-tradeoff-ctc', 'smoke');
    for (const f of [
      'cpu-vanilla-accuracy-by-epoch.svg',
      'cpu-vanilla-information-plane.png',
      'cpu-vanilla-mine-xt-training-curves.seed1.svg',
      'vanilla-vs-ctc-transfer.png',
    ])
      expect(fs.existsSync(path.join(plots, f))).toBe(true);
  });

  it('transfer and mine over a checkpoint folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-transfer-'));
    const rowsT = await runTransfer({
      ckptPath: ckpts('cpu-vanilla'),
      targetDataset: 'fashion-mnist',
      numClasses: '10',
      startEpoch: '0',
      skip: '2',
      epochs: '1',
      limit: '200',
      dataDir: path.join(ROOT, 'test', 'fixtures', 'fashion-mnist'),
      out: dir,
      backend: 'wasm',
    });
    expect(rowsT.map((r) => `${r.epoch} ${r.protocol}`)).toEqual([
      '0 repo',
      '0 strict',
      '2 repo',
      '2 strict',
      '4 repo',
      '4 strict',
    ]);
    expect(fs.readFileSync(path.join(dir, 'transfer.csv'), 'utf8').split('\n')[0]).toBe(
      'epoch,protocol,reportedPct,bestPct,bestEpoch,lastPct',
    );
    const rowsM = await runMine({
      ckptPath: ckpts('cpu-vanilla'),
      mode: 'ty',
      dataset: 'fashion-mnist',
      iterNum: '20',
      hidden: '8',
      batchSize: '20',
      startEpoch: '2',
      skip: '2',
      dataDir: path.join(ROOT, 'test', 'fixtures', 'fashion-mnist'),
      out: dir,
      backend: 'wasm',
    });
    expect(rowsM.map((r) => r.epoch)).toEqual([2, 4]);
    expect(fs.existsSync(path.join(dir, 'mine-ty.csv'))).toBe(true);
  }, 60_000);

  it('bad input: a missing or truncated checkpoint, a class count that differs, MINE rows that differ or NaN', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-bad-'));
    const folder = path.join(dir, 'ckpt');
    fs.cpSync(ckpts('cpu-vanilla'), folder, { recursive: true });
    const res = path.join(dir, 'res');
    const base = {
      ckptPath: folder,
      targetDataset: 'fashion-mnist',
      numClasses: '10',
      startEpoch: '0',
      skip: '2',
      epochs: '1',
      limit: '100',
      dataDir: path.join(ROOT, 'test', 'fixtures', 'fashion-mnist'),
      out: res,
      backend: 'wasm',
    };
    await expect(runTransfer({ ...base, numClasses: '5' })).rejects.toThrow(
      /--num-classes 5: fashion-mnist has 10 classes/,
    );
    await expect(runTransfer({ ...base, targetDataset: 'svhn' })).rejects.toThrow(
      /--target-dataset 'svhn': unknown dataset/,
    );
    // truncated weights of the epoch-2 checkpoint
    const w = path.join(folder, 'ckpt_epoch_2', 'weights.bin');
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 100));
    await expect(runTransfer(base)).rejects.toThrow(/ckpt_epoch_2: weight shards hold 100 bytes, model.json describes/);
    // a gap in the sequence
    fs.rmSync(path.join(folder, 'ckpt_epoch_2'), { recursive: true });
    await expect(runTransfer(base)).rejects.toThrow(/ckpt_epoch_2: missing checkpoint \(the folder has epochs up to 4/);
    await expect(runMine({ ...base, mode: 'ty', dataset: 'fashion-mnist' })).rejects.toThrow(
      /ckpt_epoch_2: missing checkpoint/,
    );
    expect(fs.existsSync(res)).toBe(false);
    const x = tf.zeros<tf.Rank.R2>([10, 3]);
    const y = tf.zeros<tf.Rank.R2>([9, 2]);
    const z = tf.tensor2d([[NaN, 0], ...Array.from({ length: 9 }, () => [0, 0])]);
    expect(() => mine(x, y)).toThrow(/x has 10 rows but y has 9/);
    expect(() => mine(x, z)).toThrow(/y contains NaN at row 0, column 0/);
    tf.dispose([x, y, z]);
  }, 60_000);
});

describe('train-ctc with the README flags', () => {
  it('trains both stages and keeps the checkpoints', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-script-'));
    const fixture = path.join(ROOT, 'test', 'fixtures', 'fashion-mnist');
    const r = cli([
      'train-ctc',
      '--epochs',
      '2',
      '--dataset',
      'fashion-mnist',
      '--model',
      'plaincnn',
      '--momentum',
      '0.9',
      '--learning_rate',
      '0.05',
      '--batch_size',
      '64',
      '--weight_decay',
      '0.0005',
      '--weight_decay_coef',
      '2.0',
      '--stage_two_epoch',
      '1',
      '-a',
      '0.5',
      '-b',
      '1.0',
      '--instance_t',
      '0.10',
      '--instance_m',
      '0.9',
      '--nce_t',
      '0.10',
      '--nce_m',
      '0.9',
      '--nce_k',
      '16',
      '--update_memory_bank',
      '--save_freq',
      '1',
      '--note',
      'ctc',
      '--data-dir',
      fixture,
      '--out',
      dir,
      '--backend',
      'wasm',
    ]);
    expect(r.stderr).toMatch(/train_ctc: custom-ctc-ctc seed 1: source test accuracy/);
    expect(r.status).toBe(0);
    const c = JSON.parse(
      fs.readFileSync(path.join(dir, 'runs', 'dt-tradeoff-ctc', 'cpu', 'custom-ctc-ctc.seed1.json'), 'utf8'),
    ) as RunRecord;
    expect((c.config as { ctc: { stageTwoEpoch: number; updateMemoryBank: boolean } }).ctc).toMatchObject({
      stageTwoEpoch: 1,
      updateMemoryBank: true,
    });
    expect(c.history[1].trainNce).toBeGreaterThan(0);
    const folder = path.join(dir, 'runs', 'dt-tradeoff-ctc', 'cpu', 'checkpoints', 'custom-ctc-ctc.seed1', 'ckpt');
    expect(checkpointSequence(folder, 0, 1).map((x) => x.epoch)).toEqual([0, 1, 2]);
    const bad = cli([
      'train-ctc',
      '--dataset',
      'fashion-mnist',
      '--epochs',
      '2',
      '--stage_two_epoch',
      '2',
      '--out',
      dir,
    ]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--stage_two_epoch 2 must be below --epochs 2/);
  }, 120_000);
});

describe('resume', () => {
  it('a CTC job killed in stage 2 resumes to the numbers of the uninterrupted job', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-resume-'));
    const args = ['tsx', CLI, 'train', '--scale', 'smoke', '--backend', 'wasm', '--run', 'cpu-ctc', '--out', dir];
    await new Promise<void>((resolve) => {
      const child = spawn('npx', args, { cwd: ROOT, env: { ...process.env, CI: 'true' } });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/cpu-ctc seed 1 epoch 4\/5/.test(err)) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(fs.existsSync(path.join(dir, 'runs', 'dt-tradeoff-ctc', 'smoke', 'cpu-ctc.seed1.json'))).toBe(false);
    const r = cli(['train', '--scale', 'smoke', '--backend', 'wasm', '--run', 'cpu-ctc', '--out', dir, '--resume']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/resumed from/);
    const a = rec('cpu-ctc');
    const b = rec('cpu-ctc', dir);
    expect(b.history).toEqual(a.history);
    const strip = (x: RunRecord) =>
      (x.extra!.checkpoints as Array<Record<string, unknown>>).map(({ seconds: _s, ...rest }) => rest);
    expect(strip(b)).toEqual(strip(a));
    for (const k of ['sourceTestAccPct', 'probeRepoPct', 'probeStrictPct']) expect(b.metrics[k]).toBe(a.metrics[k]);
  }, 120_000);
});

describe('bad input at the command line: a clear error naming the problem, exit 1, nothing written', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-flags-'));
  const fixture = path.join(ROOT, 'test', 'fixtures', 'fashion-mnist');
  /** A folder with one tiny checkpoint, ckpt_epoch_2 (a plaincnn for Fashion-MNIST). */
  const folder = (name: string) => path.join(dir, name);
  const ckpt = (name: string) => path.join(folder(name), 'ckpt_epoch_2');
  const res = path.join(dir, 'res');
  const transfer = (name: string, ...extra: string[]) =>
    cli([
      'transfer',
      '--ckpt-path',
      folder(name),
      '--target-dataset',
      'fashion-mnist',
      '--data-dir',
      fixture,
      '--limit',
      '100',
      '--epochs',
      '1',
      '--out',
      res,
      '--backend',
      'wasm',
      ...extra,
    ]);
  const mineCli = (...extra: string[]) =>
    cli([
      'mine',
      '--ckpt-path',
      folder('good'),
      '--mode',
      'ty',
      '--dataset',
      'fashion-mnist',
      '--data-dir',
      fixture,
      '--examples',
      '100',
      '--iter-num',
      '2',
      '--out',
      res,
      '--backend',
      'wasm',
      ...extra,
    ]);

  beforeAll(async () => {
    const m = createModel('plaincnn', { inputShape: [28, 28, 1], numClasses: 2, seed: 1, depth: 6, nfilters: 4 });
    await saveModel(m, ckpt('good'));
    disposeModel(m);
    // NaN in the first convolution's kernel
    fs.cpSync(folder('good'), folder('nan'), { recursive: true });
    const bin = path.join(ckpt('nan'), 'weights.bin');
    const bytes = fs.readFileSync(bin);
    new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)[3] = NaN;
    fs.writeFileSync(bin, bytes);
    // another architecture's topology (a 10-way head) over these weights
    fs.cpSync(folder('good'), folder('arch'), { recursive: true });
    const file = path.join(ckpt('arch'), 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      modelTopology: { config: { layers: Array<{ name: string; config: { units?: number } }> } };
    };
    json.modelTopology.config.layers.find((l) => l.name === 'logits')!.config.units = 10;
    fs.writeFileSync(file, JSON.stringify(json));
  });

  afterEach(() => {
    expect(fs.existsSync(res)).toBe(false);
  });

  it('transfer refuses a checkpoint with NaN weights, naming it, instead of reporting a probe accuracy', () => {
    const r = transfer('nan');
    expect(r.stderr).toMatch(
      new RegExp(`${ckpt('nan')}: weight \\S+/kernel \\[3, 3, 1, 4\\] holds NaN at index 3 .*refusing to use it`),
    );
    expect(r.stderr).not.toMatch(/probe \d/);
    expect(r.status).toBe(1);
  });

  it('an architecture mismatch names the checkpoint file and the first mismatching weight with both shapes', () => {
    const r = transfer('arch');
    expect(r.stderr).toContain(
      `${path.join(ckpt('arch'), 'model.json')}: the topology does not match the weights (a model of another architecture?): weight logits/kernel is [16, 10] in the topology but [16, 2] in the weights`,
    );
    expect(r.status).toBe(1);
  });

  it.each([
    [
      'transfer --epochs 0',
      () => transfer('good', '--epochs', '0'),
      "--epochs: expected an integer from 1 to 10000, got '0'",
    ],
    [
      'transfer --batch-size 1e9',
      () => transfer('good', '--batch-size', '1e9'),
      "--batch-size: expected an integer from 1 to 65536, got '1e9'",
    ],
    [
      'transfer --lr Infinity',
      () => transfer('good', '--lr', 'Infinity'),
      "--lr: expected a finite number > 0, got 'Infinity'",
    ],
    [
      'mine --iter-num 0',
      () => mineCli('--iter-num', '0'),
      "--iter-num: expected an integer from 1 to 1000000, got '0'",
    ],
    [
      'mine --iter_num 0',
      () => mineCli('--iter_num', '0'),
      "--iter_num: expected an integer from 1 to 1000000, got '0'",
    ],
    ['mine --hidden 1e9', () => mineCli('--hidden', '1e9'), "--hidden: expected an integer from 1 to 8192, got '1e9'"],
    [
      'train-vanilla --save_freq 0',
      () =>
        cli(['train-vanilla', '--dataset', 'fashion-mnist', '--data-dir', fixture, '--save_freq', '0', '--out', res]),
      "--save_freq: expected an integer from 1 to 10000, got '0'",
    ],
    [
      'train-ctc --nce_m 2',
      () => cli(['train-ctc', '--dataset', 'fashion-mnist', '--data-dir', fixture, '--nce_m', '2', '--out', res]),
      "--nce_m: expected a number in [0, 1], got '2'",
    ],
    [
      'train --seeds 1,1',
      () => cli(['train', '--scale', 'smoke', '--run', 'cpu-vanilla', '--seeds', '1,1', '--out', res]),
      "--seeds: seed 1 is given twice in '1,1'",
    ],
  ])('%s fails at parse time naming the flag and the value', (_what, run, message) => {
    const r = run();
    expect(r.stderr).toBe(`dt-tradeoff-ctc: ${message}\n`);
    expect(r.status).toBe(1);
  });
});
