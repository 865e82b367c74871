/**
 * Files the user did not write: run records from other workers (`table --records`), checkpoint
 * indexes and job locks in a shared folder, names in records that become file names. A field that
 * would put a file outside the output folder, a FIFO, a link out of the folder, a folder without
 * records: each is a clear error naming the file and field, and nothing is written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import type { CompareResult } from '@repro/models';
import { initBackend, writeFileAtomic } from '@repro/runtime';
import {
  CommonOptions,
  Optimizer,
  PaperRun,
  RUN_RECORD_SCHEMA,
  RunRecord,
  definePaper,
  loadCheckpoint,
  mergeRunRecords,
  readRunRecords,
  runCli,
  saveCheckpoint,
  staleReason,
  writeCkaFiles,
  writeRunRecord,
} from '../src';

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-untrusted-'));
});

function record(runId: string, seed = 1): RunRecord {
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
    history: [{ epoch: 1, acc: 80 }],
    metrics: { acc: 80 },
    backend: { name: 'wasm', detail: 'wasm simd, 1 thread', tfjsVersion: '4.22.0' },
    commit: 'abc1234',
    startedAt: '2026-11-23T00:00:00Z',
    wallSeconds: 1,
    complete: true,
  };
}

/** Writes `rec` as JSON to <dir>/runs/demo/cpu/<name> (as another worker, or an attacker, would). */
function plant(dir: string, rec: unknown, name = 'x.seed1.json'): string {
  const file = path.join(dir, 'runs', 'demo', 'cpu', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(rec));
  return file;
}

/** A paper package whose plots name files after run ids, as the real ones do. */
function demoPaper() {
  return definePaper<PaperRun>({
    name: 'demo',
    description: 'a demo paper',
    runs: [{ id: 'a', row: 'A', description: 'a run', scale: 'cpu', seeds: [1] }],
    published: [],
    claims: [],
    resolve: () => ({}),
    trainRun: () => Promise.reject(new Error('no training in this test')),
    evalRun: () => Promise.resolve(''),
    plots: (records, dir) => {
      for (const r of records) writeFileAtomic(path.join(dir, r.scale, `${r.runId}.seed${r.seed}.txt`), 'plot');
      return Promise.resolve();
    },
    cli: __filename,
    root: base,
  });
}

const tableOptions = (out: string, records: string[]): CommonOptions => ({
  scale: 'cpu',
  out,
  records,
  resume: false,
  fresh: false,
  list: false,
});

/** Every file under `dir` (relative), or [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

describe('table --records', () => {
  it('a record whose runId climbs out of the output folder is refused and nothing is written', async () => {
    const workers = path.join(base, 'worker');
    writeRunRecord(path.join(workers, 'runs'), record('a'));
    const file = plant(workers, record('../../../../escape/pwned'));
    const out = path.join(base, 'out');
    await expect(demoPaper().table(tableOptions(out, [workers]))).rejects.toThrow(
      `${file}: run record field 'runId' "../../../../escape/pwned" is not a safe id`,
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.join(base, 'escape'))).toBe(false);
    expect(filesUnder(base).sort()).toEqual(['worker/runs/demo/cpu/a.seed1.json', 'worker/runs/demo/cpu/x.seed1.json']);
  });

  it('the CLI exits 1 with the message on such a record', async () => {
    const workers = path.join(base, 'worker');
    plant(workers, record('../x'));
    const out = path.join(base, 'out');
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runCli(demoPaper().program, ['node', 'demo', 'table', '--records', workers, '--out', out]);
      expect(exit).toHaveBeenCalledWith(1);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(
        /run record field 'runId' "\.\.\/x" is not a safe id/,
      );
    } finally {
      exit.mockRestore();
      err.mockRestore();
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a folder without records is an error naming it, and nothing is written', async () => {
    const empty = path.join(base, 'empty');
    fs.mkdirSync(path.join(empty, 'runs', 'demo', 'cpu'), { recursive: true });
    const out = path.join(base, 'out');
    await expect(demoPaper().table(tableOptions(out, [empty]))).rejects.toThrow(
      `--records: ${empty} holds no run records of demo`,
    );
    expect(fs.existsSync(out)).toBe(false);
    // one empty folder among good ones is an error too (a mistyped folder)
    const good = path.join(base, 'good');
    writeRunRecord(path.join(good, 'runs'), record('a'));
    expect(() => mergeRunRecords([good, empty], 'demo')).toThrow(/--records: .*empty holds no run records of demo/);
  });

  it('a plot that fails half-way leaves no table and no plots', async () => {
    const workers = path.join(base, 'worker');
    writeRunRecord(path.join(workers, 'runs'), record('a'));
    writeRunRecord(path.join(workers, 'runs'), record('b'));
    const paper = definePaper<PaperRun>({
      name: 'demo',
      description: 'a demo paper',
      runs: [],
      published: [],
      claims: [],
      resolve: () => ({}),
      trainRun: () => Promise.reject(new Error('no training')),
      evalRun: () => Promise.resolve(''),
      plots: (records, dir) => {
        writeFileAtomic(path.join(dir, 'cpu', 'first.txt'), 'plot');
        return Promise.reject(new Error('the second plot failed'));
      },
      cli: __filename,
      root: base,
    });
    const out = path.join(base, 'out');
    await expect(paper.table(tableOptions(out, [workers]))).rejects.toThrow('the second plot failed');
    expect(filesUnder(out)).toEqual([]);
    expect(fs.existsSync(out)).toBe(false);
  });

  it.each([
    ['package', { package: '../demo' }, /run record field 'package' "\.\.\/demo" is not a safe id/],
    ['package', { package: 'other' }, /run record field 'package' is 'other', but the file is in the folder of demo/],
    ['scale', { scale: 'paper' }, /run record field 'scale' is 'paper', but the file is in the folder cpu/],
    ['scale', { scale: '../..' }, /unknown scale '\.\.\/\.\.'/],
    ['seed', { seed: -1 }, /run record field 'seed' is -1, not a non-negative integer/],
    ['seed', { seed: 1.5 }, /run record field 'seed' is 1\.5/],
    ['runId', { runId: '' }, /run record field 'runId' "" is not a safe id/],
    ['runId', { runId: '/etc/x' }, /run record field 'runId' "\/etc\/x" is not a safe id/],
    ['metrics', { metrics: null }, /lacks seed, history or metrics/],
    ['backend', { backend: null }, /run record field 'backend' is missing/],
  ])('a record with a bad %s is refused naming the file and field (%j)', (_field, change, message) => {
    const dir = path.join(base, 'w');
    const file = plant(dir, { ...record('a'), ...change });
    expect(() => readRunRecords(path.join(dir, 'runs'), 'demo')).toThrow(message);
    expect(() => readRunRecords(path.join(dir, 'runs'), 'demo')).toThrow(file);
  });

  it('a FIFO named as a record is refused without blocking', () => {
    const dir = path.join(base, 'w');
    const fifo = path.join(dir, 'runs', 'demo', 'cpu', 'a.seed1.json');
    fs.mkdirSync(path.dirname(fifo), { recursive: true });
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // lets a reader blocked on the FIFO go after 2 s (then this test fails instead of hanging)
    const writer = spawn('sh', ['-c', `sleep 2; printf x > '${fifo}'`], { stdio: 'ignore' });
    try {
      expect(() => mergeRunRecords([dir], 'demo')).toThrow(
        `${path.join(dir, 'runs')}: run record "demo/cpu/a.seed1.json" is not a regular file`,
      );
    } finally {
      writer.kill('SIGKILL');
    }
  }, 20_000);

  it('a record that is a link out of the folder is refused without disclosing its target', () => {
    const dir = path.join(base, 'w');
    const secret = path.join(base, 'secret.txt');
    fs.writeFileSync(secret, 'root:x:0:0:secret');
    const link = path.join(dir, 'runs', 'demo', 'cpu', 'a.seed1.json');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(secret, link);
    let msg = '';
    try {
      mergeRunRecords([dir], 'demo');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/run record "demo\/cpu\/a\.seed1\.json" does not resolve to a file inside/);
    expect(msg).not.toMatch(/root|secret/);
    // a scale folder that is a link out of the records folder is not even listed
    fs.rmSync(path.join(dir, 'runs', 'demo', 'cpu'), { recursive: true });
    fs.mkdirSync(path.join(base, 'elsewhere'));
    fs.writeFileSync(path.join(base, 'elsewhere', 'private-name.json'), '{}');
    fs.symlinkSync(path.join(base, 'elsewhere'), path.join(dir, 'runs', 'demo', 'cpu'));
    expect(() => mergeRunRecords([dir], 'demo')).toThrow(
      /records folder "demo\/cpu" does not resolve to a file inside/,
    );
    expect(() => mergeRunRecords([dir], 'demo')).not.toThrow(/private-name/);
  });

  it('writing a record refuses fields that would leave the folder', () => {
    const dir = path.join(base, 'runs');
    expect(() => writeRunRecord(dir, record('../../x'))).toThrow(
      /run record field runId "\.\.\/\.\.\/x" is not a safe id/,
    );
    expect(() => writeRunRecord(dir, { ...record('a'), package: '..' })).toThrow(
      /field package "\.\." is not a safe id/,
    );
    expect(() => writeRunRecord(dir, { ...record('a'), scale: '../x' as 'cpu' })).toThrow(/field scale/);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('shared checkpoints and locks', () => {
  it('a checkpoint index whose data file lies outside its folder is refused', async () => {
    await initBackend('wasm');
    const input = tf.input({ shape: [3] });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    const opt = new Optimizer({ kind: 'sgd', lr: 0.1 });
    const dir = path.join(base, 'ckpt');
    await saveCheckpoint(dir, [model], [opt], { epoch: 1, globalStep: 1, history: [], configKey: 'k' });
    const index = path.join(dir, 'checkpoint.json');
    const j = JSON.parse(fs.readFileSync(index, 'utf8')) as { file: string };
    fs.copyFileSync(path.join(dir, j.file), path.join(base, 'outside.bin')); // valid data, outside the folder
    for (const file of ['../outside.bin', path.join(base, 'outside.bin')]) {
      fs.writeFileSync(index, JSON.stringify({ ...j, file }));
      await expect(loadCheckpoint(dir, [model], [opt], 'k')).rejects.toThrow(
        /corrupt checkpoint index \(its binary 'file' must be checkpoint\[\.<sha256>\]\.bin in the same folder\)/,
      );
    }
    model.dispose();
  });

  it('a lock that is a FIFO is an error, not a wait', () => {
    const fifo = path.join(base, 'locks', 'a.seed1.lock');
    fs.mkdirSync(path.dirname(fifo), { recursive: true });
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('sh', ['-c', `sleep 2; printf x > '${fifo}'`], { stdio: 'ignore' });
    try {
      expect(() => staleReason(fifo)).toThrow(`${fifo}: a job lock must be a regular file`);
    } finally {
      writer.kill('SIGKILL');
    }
  }, 20_000);
});

describe('names from records that become file names', () => {
  const result: CompareResult = {
    matrix: [[1]],
    layersA: ['../../x'],
    layersB: ['fc'],
    modelNames: ['a', 'b'],
    dataNames: ['d', 'd'],
    batches: 1,
    examples: 4,
    estimator: 'debiased',
    weighting: 'equal',
  };

  it('writeCkaFiles refuses a base name that climbs out of its folder, writing nothing', async () => {
    const out = path.join(base, 'plots', 'heatmaps');
    await expect(writeCkaFiles(result, out, '../../../escape-vs-teacher')).rejects.toThrow(
      /CKA file name "\.\.\/\.\.\/\.\.\/escape-vs-teacher" climbs out of/,
    );
    expect(filesUnder(base)).toEqual([]);
  });

  it('layer names are content, never file names', async () => {
    const out = path.join(base, 'cmp');
    const f = await writeCkaFiles(result, out);
    expect(filesUnder(base).sort()).toEqual(['cmp/cka.csv', 'cmp/cka.json', 'cmp/cka.png', 'cmp/cka.svg']);
    expect(fs.readFileSync(f.csv, 'utf8')).toContain('../../x');
  });
});
