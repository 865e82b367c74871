/**
 * The cka-maskfeat CLI end to end at smoke scale (into a temporary --out, never results/): reproduce,
 * the table's rows and plots, a killed job resumed to the same numbers, and `compare` on two saved
 * models with its errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { parse } from 'csv-parse/sync';
import { initBackend } from '@repro/runtime';
import { createModel, disposeModel, saveModel } from '@repro/models';
import type { RunRecord } from '@repro/experiments';
import { runCompare } from '../src';

const CLI = path.join(__dirname, '..', 'src', 'cli.ts');
const ROOT = path.join(__dirname, '..', '..', '..');

function cli(args: string[]) {
  return spawnSync('npx', ['tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 200_000,
    env: { ...process.env, CI: 'true', REPRO_JOBS: '1' },
  });
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cka-'));
const rec = (id: string, dir = out) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'cka-maskfeat', 'smoke', `${id}.seed1.json`), 'utf8')) as RunRecord;

describe('reproduce --scale smoke', () => {
  let rows: Array<Record<string, string>>;
  beforeAll(() => {
    const r = cli(['reproduce', '--scale', 'smoke', '--backend', 'wasm', '--out', out]);
    expect(r.stderr).toMatch(/reproduce finished/);
    expect(r.status).toBe(0);
    rows = parse<Record<string, string>>(fs.readFileSync(path.join(out, 'cka-maskfeat.csv'), 'utf8'), {
      columns: true,
    });
  }, 240_000);

  it('writes the published rows with their citations and every claim', () => {
    const paper = rows.filter((r) => r.scale === 'paper');
    expect(paper.filter((r) => r.table === 'ickd-cifar100')).toHaveLength(35);
    const r56 = paper.find((r) => r.table === 'ickd-cifar100' && r.row === 'resnet56 -> resnet20 KD')!;
    expect(r56).toMatchObject({ published: '70.66', status: 'missing' });
    expect(r56.note).toMatch(/train --scale paper --run paper-cifar100-resnet56-resnet20/);
    const wrn = paper.find((r) => r.row === 'WRN-40-2 -> WRN-16-2 KD')!;
    expect(wrn.status).toBe('not-reproducible-here');
    const bar = paper.find((r) => r.table === 'dpk-capacity-gap' && r.row === 'DPK from a 10-layer teacher')!;
    expect(bar).toMatchObject({ published: '45.8', status: 'not-reproducible-here' });
    expect(bar.note).toMatch(/APPROXIMATE/);
    expect(paper.filter((r) => r.table === 'mgd-imagenet')).toHaveLength(4);
    const claims = rows.filter((r) => r.table === 'claims');
    expect(claims.map((r) => r.row).sort()).toEqual([
      '1-dpk-cka-above-vanilla',
      '1-ickd-cka-above-vanilla',
      '1-mgd-cka-above-vanilla',
      '2-dpk-above-kd',
      '2-kd-above-vanilla',
      '3-mask-ratio-falls',
      '4a-kd-gain-rises',
      '4b-kd-gain-falls',
      '4c-dpk-gain-keeps-rising',
    ]);
    expect(claims.every((r) => r.status === 'smoke' && r.reproduced !== '')).toBe(true);
    // the claims as data: one object per claim, smoke (a pipeline check, no verdict), its per-seed values
    const json = JSON.parse(fs.readFileSync(path.join(out, 'cka-maskfeat.claims.json'), 'utf8')) as {
      claims: Array<{ id: string; scale: string; verdict: string; method: string; perSeed: unknown[] }>;
    };
    expect(json.claims.map((c) => c.id).sort()).toEqual(claims.map((r) => r.row).sort());
    expect(json.claims.every((c) => c.scale === 'smoke' && c.verdict === 'smoke' && c.perSeed.length === 1)).toBe(true);
    expect(json.claims.find((c) => c.id === '3-mask-ratio-falls')!.method).toBe('student-t');
    expect(json.claims.filter((c) => c.method === 'paired-t')).toHaveLength(8);
  });

  it('records what the claims and plots read, leaks no tensors, and draws the figures', () => {
    const m = rec('cpu-methods');
    expect(m.tensors!.atEnd).toBe(m.tensors!.atStart);
    for (const k of ['vanillaCka_stage3', 'dpkCka_stage3', 'mgdCka_stage3', 'ickdCka_stage3', 'kdTestAccPct'])
      expect(Number.isFinite(m.metrics[k])).toBe(true);
    expect(m.history).toHaveLength(2);
    expect(m.history[1].dpk_stage3_maskRatio).toBeGreaterThanOrEqual(0.1);
    const trace = (m.extra!.dpkTrace as { rows: unknown[][] }).rows;
    // 2 epochs x 5 batches of 64 (the 300-image fixture) x 2 stages
    expect(trace.length).toBe(20);
    const comps = m.extra!.comparisons as Record<string, { matrix: number[][] }>;
    expect(Object.keys(comps).sort()).toEqual(['two-architectures', 'two-datasets', 'two-depths', 'two-widths']);
    const c = rec('cpu-capacity');
    expect(c.tensors!.atEnd).toBe(c.tensors!.atStart);
    const plots = path.join(out, 'plots', 'cka-maskfeat', 'smoke');
    for (const f of [
      'cpu-methods-accuracy.png',
      'cpu-methods-dpk-maskRatio.svg',
      'cpu-methods-comparisons.seed1/two-datasets.png',
      'cpu-methods-comparisons.seed1/two-datasets.json',
      'cpu-methods-heatmaps.seed1/dpk-vs-teacher.png',
      'cpu-methods-per-minibatch.seed1/dpk-vs-teacher.png',
      'cpu-capacity-gain-by-teacher-depth.png',
    ])
      expect(fs.existsSync(path.join(plots, f))).toBe(true);
  });

  it("eval prints the saved models' test accuracy, and says to train first where there are none", () => {
    const ok = cli(['eval', '--scale', 'smoke', '--run', 'cpu-methods', '--out', out]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(
      /cpu-methods seed 1: test accuracy teacher0 \d+\.\d\d%, vanilla \d+\.\d\d%.*\(100 images\)/,
    );
    const none = cli(['eval', '--scale', 'smoke', '--run', 'cpu-methods', '--out', path.join(out, 'nothing')]);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/no saved model at .*final-teacher0; train it first/);
  }, 60_000);

  it('a job killed during its students resumes to the numbers of the uninterrupted job', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cka-resume-'));
    const args = ['tsx', CLI, 'train', '--scale', 'smoke', '--backend', 'wasm', '--run', 'cpu-methods', '--out', dir];
    await new Promise<void>((resolve) => {
      const child = spawn('npx', args, { cwd: ROOT, env: { ...process.env, CI: 'true' } });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/students epoch 1\/2/.test(err)) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    expect(fs.existsSync(path.join(dir, 'runs', 'cka-maskfeat', 'smoke', 'cpu-methods.seed1.json'))).toBe(false);
    const r = cli(['train', '--scale', 'smoke', '--backend', 'wasm', '--run', 'cpu-methods', '--out', dir, '--resume']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/resumed from/);
    const a = rec('cpu-methods');
    const b = rec('cpu-methods', dir);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.history).toEqual(a.history);
    expect(b.extra!.dpkTrace).toEqual(a.extra!.dpkTrace);
  }, 240_000);

  describe('compare', () => {
    const models = path.join(out, 'runs', 'cka-maskfeat', 'smoke', 'checkpoints');
    const teacher = () => path.join(models, 'cpu-methods.seed1', 'final-teacher0');
    const student = () => path.join(models, 'cpu-methods.seed1', 'final-dpk');

    it('writes JSON (torch_cka export fields), CSV and the heatmap for two saved models', () => {
      const dest = path.join(out, 'cmp');
      const r = cli([
        'compare',
        '--model-a',
        student(),
        '--model-b',
        teacher(),
        '--layers-a',
        'stage1,stage3,logits',
        '--layers-b',
        'stage2,stage3',
        '--data',
        'fashion-mnist:test',
        '--data-dir',
        path.join(ROOT, 'test', 'fixtures', 'fashion-mnist'),
        '--batch-size',
        '25',
        '--out',
        dest,
      ]);
      expect(r.status).toBe(0);
      const j = JSON.parse(fs.readFileSync(path.join(dest, 'cka.json'), 'utf8')) as Record<string, unknown>;
      expect(j.model1_layers).toEqual(['stage1', 'stage3', 'logits']);
      expect(j.model2_layers).toEqual(['stage2', 'stage3']);
      expect((j.CKA as number[][]).length).toBe(3);
      expect(j.batches).toBe(4);
      for (const f of ['cka.csv', 'cka.png', 'cka.svg']) expect(fs.existsSync(path.join(dest, f))).toBe(true);
    }, 60_000);

    it.each([
      [{ layersA: 'nope' }, /no layer 'nope'[\s\S]*stage1/],
      [{ batchSize: '3' }, /at least 4/],
      [{ dataB: 'fashion-mnist:train' }, /length|examples/],
      [{ data: 'mnist:test' }, /unknown dataset 'mnist'/],
    ])(
      'fails clearly with %j and writes nothing',
      async (extra, message) => {
        const dest = path.join(out, `bad-${Object.values(extra).join('')}`);
        await expect(
          runCompare({
            modelA: student(),
            modelB: teacher(),
            dataDir: path.join(ROOT, 'test', 'fixtures', 'fashion-mnist'),
            out: dest,
            backend: 'wasm',
            ...extra,
          }),
        ).rejects.toThrow(message);
        expect(fs.existsSync(dest)).toBe(false);
      },
      60_000,
    );

    it('names a model folder without model.json', async () => {
      await expect(runCompare({ modelA: out, modelB: teacher(), out: path.join(out, 'x') })).rejects.toThrow(
        /--model-a .*no model\.json/,
      );
      expect(fs.existsSync(path.join(out, 'x'))).toBe(false);
    });
  });
});

describe('compare refuses bad models and flags before computing anything', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cka-bad-'));
  const fixture = path.join(ROOT, 'test', 'fixtures', 'fashion-mnist');
  const good = path.join(dir, 'good');
  const nan = path.join(dir, 'nan');
  const dest = path.join(dir, 'dest');

  beforeAll(async () => {
    await initBackend('wasm');
    const m = createModel('plaincnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1, depth: 6, nfilters: 4 });
    await saveModel(m, good);
    disposeModel(m);
    fs.cpSync(good, nan, { recursive: true });
    const bin = path.join(nan, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)[5] = NaN;
    fs.writeFileSync(bin, bytes);
  });

  afterEach(() => {
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('a model with NaN weights is named', async () => {
    await expect(
      runCompare({ modelA: good, modelB: nan, dataDir: fixture, limit: '50', out: dest, backend: 'wasm' }),
    ).rejects.toThrow(new RegExp(`^${nan}: weight \\S+ \\[3, 3, 1, 4\\] holds NaN at index 5 .*refusing to use it`));
  });

  it('an --out that is a file fails before the comparison', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    await expect(
      runCompare({ modelA: good, modelB: good, dataDir: fixture, limit: '50', out: file, backend: 'wasm' }),
    ).rejects.toThrow(`--out ${file}: exists and is not a folder`);
  });

  it('an absurd --batch-size fails at parse time naming the flag', () => {
    const r = cli([
      'compare',
      '--model-a',
      good,
      '--model-b',
      good,
      '--data-dir',
      fixture,
      '--batch-size',
      '1e9',
      '--out',
      dest,
    ]);
    expect(r.stderr).toBe("cka-maskfeat: --batch-size: expected an integer from 1 to 65536, got '1e9'\n");
    expect(r.status).toBe(1);
  });
});
