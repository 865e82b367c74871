/**
 * loadModel on a hostile model folder (one someone shared, as `compare` invites): weight-shard paths
 * that climb out of the folder, absolute paths, links out of it, a FIFO, a folder, a shard larger than
 * model.json says, a model.json that is a link. Every one is refused, naming the manifest entry and
 * saying nothing about the file it points at; nothing outside the folder is read.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { loadModel, saveModel } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-model-hostile-'));
});

/** A saved two-layer model in <base>/model; returns its folder. */
async function savedModel(): Promise<string> {
  const input = tf.input({ shape: [3] });
  const out = tf.layers.dense({ units: 2, name: 'fc' }).apply(input) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  const dir = path.join(base, 'model');
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

type Manifest = { weightsManifest: Array<{ paths: string[] }> };
function setShardPath(dir: string, p: string): void {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  json.weightsManifest[0].paths = [p];
  fs.writeFileSync(file, JSON.stringify(json));
}

const entry = (dir: string) => `${path.join(dir, 'model.json')}: weight shard weightsManifest[0].paths[0]`;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** The error of loading `dir` (the test fails when it loads). */
async function loadError(dir: string): Promise<string> {
  try {
    (await loadModel(dir)).dispose();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${dir} loaded`);
}

it('a shard path that climbs out of the folder is refused, though the file there is a valid shard', async () => {
  const dir = await savedModel();
  fs.copyFileSync(path.join(dir, 'weights.bin'), path.join(base, 'outside.bin'));
  setShardPath(dir, '../outside.bin');
  const msg = await loadError(dir);
  expect(msg).toMatch(new RegExp(`^${escapeRe(entry(dir))} "\\.\\./outside\\.bin" climbs out of ${escapeRe(dir)}`));
  setShardPath(dir, 'sub/../../outside.bin');
  expect(await loadError(dir)).toMatch(/paths\[0\] "sub\/\.\.\/\.\.\/outside\.bin" climbs out of/);
});

it('an absolute shard path is refused and nothing about the file is disclosed', async () => {
  const dir = await savedModel();
  const outside = path.join(base, 'secret.bin');
  fs.writeFileSync(outside, Buffer.alloc(12345, 7));
  for (const p of [outside, '/etc/passwd']) {
    setShardPath(dir, p);
    const msg = await loadError(dir);
    expect(msg).toContain(`${entry(dir)} ${JSON.stringify(p)} is an absolute path`);
    expect(msg).not.toMatch(/\d+ bytes/);
    expect(msg).not.toContain('12345');
  }
});

it('a shard that is a symbolic link out of the folder is refused, whether or not its target exists', async () => {
  const dir = await savedModel();
  const shard = path.join(dir, 'weights.bin');
  const outside = path.join(base, 'outside.bin');
  fs.renameSync(shard, outside); // a valid shard, but outside the folder
  fs.symlinkSync(outside, shard);
  const exists = await loadError(dir);
  expect(exists).toBe(
    `${entry(dir)} "weights.bin" does not resolve to a file inside ${dir} (a symbolic link out of it, or a missing folder); only files inside it are read`,
  );
  fs.rmSync(outside);
  expect(await loadError(dir)).toBe(exists); // the same words: nothing learnt about the outside
  // a folder on the way that is a link out of the model folder
  fs.rmSync(shard);
  fs.mkdirSync(path.join(base, 'elsewhere'));
  fs.symlinkSync(path.join(base, 'elsewhere'), path.join(dir, 'sub'));
  setShardPath(dir, 'sub/weights.bin');
  expect(await loadError(dir)).toMatch(/paths\[0\] "sub\/weights\.bin" does not resolve to a file inside/);
});

it('a link that stays inside the folder is followed', async () => {
  const dir = await savedModel();
  fs.renameSync(path.join(dir, 'weights.bin'), path.join(dir, 'real.bin'));
  fs.symlinkSync('real.bin', path.join(dir, 'weights.bin'));
  const m = await loadModel(dir);
  expect(m.layers.map((l) => l.name)).toContain('fc');
  m.dispose();
});

it('a model.json that is a link out of the folder is refused', async () => {
  const dir = await savedModel();
  const other = path.join(base, 'other');
  fs.mkdirSync(other);
  fs.renameSync(path.join(dir, 'model.json'), path.join(other, 'model.json'));
  fs.symlinkSync(path.join(other, 'model.json'), path.join(dir, 'model.json'));
  expect(await loadError(dir)).toMatch(/model file "model\.json" does not resolve to a file inside/);
});

it('a FIFO as a weight shard is refused without blocking', async () => {
  const dir = await savedModel();
  const shard = path.join(dir, 'weights.bin');
  fs.rmSync(shard);
  const made = spawnSync('mkfifo', [shard]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  // a writer that lets a reader blocked on the FIFO go after 2 s, so that a loader that opens it
  // fails this test instead of hanging it; a loader that refuses it never opens it (the writer is killed)
  const writer = spawn('sh', ['-c', `sleep 2; printf x > '${shard}'`], { stdio: 'ignore' });
  try {
    const t0 = Date.now();
    expect(await loadError(dir)).toBe(
      `${entry(dir)} "weights.bin" is not a regular file (a directory, FIFO, socket or device); refused`,
    );
    expect(Date.now() - t0).toBeLessThan(1500);
  } finally {
    writer.kill('SIGKILL');
  }
}, 20_000);

it('a folder as a weight shard is refused, naming the entry', async () => {
  const dir = await savedModel();
  const shard = path.join(dir, 'weights.bin');
  fs.rmSync(shard);
  fs.mkdirSync(shard);
  expect(await loadError(dir)).toMatch(new RegExp(`^${escapeRe(entry(dir))} "weights\\.bin" is not a regular file`));
});

it('a shard larger than model.json says is refused naming the entry; one outside the folder is not looked at', async () => {
  const dir = await savedModel();
  const shard = path.join(dir, 'weights.bin');
  const size = fs.statSync(shard).size; // 3 x 2 kernel + 2 biases, float32
  expect(size).toBe(32);
  fs.appendFileSync(shard, Buffer.alloc(1000));
  expect(await loadError(dir)).toBe(
    `${entry(dir)} "weights.bin" holds 1032 bytes, more than 32 (model.json describes 32 bytes of weights)`,
  );
  const outside = path.join(base, 'big.bin');
  fs.writeFileSync(outside, Buffer.alloc(54321));
  setShardPath(dir, '../big.bin');
  const msg = await loadError(dir);
  expect(msg).toMatch(/paths\[0\] "\.\.\/big\.bin" climbs out of/);
  expect(msg).not.toContain('54321');
});

it('a missing shard names the entry', async () => {
  const dir = await savedModel();
  fs.rmSync(path.join(dir, 'weights.bin'));
  expect(await loadError(dir)).toBe(`${entry(dir)} "weights.bin" is missing (no such file in ${dir})`);
});
