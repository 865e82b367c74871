/**
 * A checkpoint is one unit: stopped after any of its write steps (as a SIGKILL would stop it), the
 * folder holds the old checkpoint or the new one, whole, never new weights under the old index; an
 * index that names a file outside its folder, or a binary that does not match it, is refused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { Optimizer, loadCheckpoint, saveCheckpoint, trainableVariables } from '../src';
import { checkpointSteps } from '../src/checkpoint';

beforeAll(async () => {
  await initBackend('wasm');
});

function net(seed: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  return m;
}

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

async function stepOnce(m: tf.LayersModel, opt: Optimizer): Promise<void> {
  const vars = trainableVariables(m);
  const x = tf.ones([2, 4]);
  opt.step(vars, () => tf.sum(tf.square(m.apply(x) as tf.Tensor)));
  x.dispose();
  await Promise.resolve();
}

const copyDir = (from: string, to: string) => fs.cpSync(from, to, { recursive: true });

it('stopped after every write step, the folder holds the old or the new checkpoint, whole', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-ckpt-steps-'));
  const m = net(1);
  const opt = new Optimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9 });
  await stepOnce(m, opt);
  const old = path.join(base, 'old');
  await saveCheckpoint(old, [m], [opt], { epoch: 1, globalStep: 1, history: [{ epoch: 1 }], configKey: 'k' });
  const oldWeights = weightsOf(m);
  await stepOnce(m, opt);
  const newWeights = weightsOf(m);
  expect(newWeights).not.toEqual(oldWeights);

  const probe = net(2);
  const probeOpt = new Optimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9 });
  const state = { epoch: 2, globalStep: 2, history: [{ epoch: 1 }, { epoch: 2 }], configKey: 'k' };
  const nSteps = (await checkpointSteps(path.join(base, 'count'), [m], [opt], state)).length;
  expect(nSteps).toBeGreaterThanOrEqual(3);
  const seen = new Set<number>();
  for (let k = 0; k <= nSteps; k++) {
    const dir = path.join(base, `stop${k}`);
    copyDir(old, dir);
    const steps = await checkpointSteps(dir, [m], [opt], state);
    for (const step of steps.slice(0, k)) step();
    const restored = await loadCheckpoint(dir, [probe], [probeOpt], 'k');
    seen.add(restored.epoch);
    expect(weightsOf(probe)).toEqual(restored.epoch === 1 ? oldWeights : newWeights);
    expect(restored.history).toHaveLength(restored.epoch);
  }
  expect([...seen].sort()).toEqual([1, 2]); // both outcomes occur, nothing else
  // after the last step one binary is left, the one the index names
  const done = path.join(base, `stop${nSteps}`);
  const bins = fs.readdirSync(done).filter((f) => f.endsWith('.bin'));
  expect(bins).toEqual([
    (JSON.parse(fs.readFileSync(path.join(done, 'checkpoint.json'), 'utf8')) as { file: string }).file,
  ]);
});

describe('a checkpoint index from elsewhere is checked before a byte is used', () => {
  let dir: string;
  const probe = () => net(5);
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-ckpt-bad-'));
    await saveCheckpoint(path.join(dir, 'good'), [net(4)], [], {
      epoch: 1,
      globalStep: 3,
      history: [],
      configKey: 'k',
    });
  });
  const tamper = (name: string, edit: (index: Record<string, unknown>, folder: string) => void) => {
    const folder = path.join(dir, name);
    copyDir(path.join(dir, 'good'), folder);
    const file = path.join(folder, 'checkpoint.json');
    const index = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(index, folder);
    fs.writeFileSync(file, JSON.stringify(index));
    return folder;
  };

  it.each([
    ['a path out of the folder', '../good/x.bin'],
    ['an absolute path', '/etc/passwd'],
    ['a file that is not a checkpoint binary', 'checkpoint.json'],
  ])('its binary named as %s: refused', async (_what, file) => {
    const folder = tamper(`file-${file.replace(/\W/g, '_')}`, (ix) => (ix.file = file));
    await expect(loadCheckpoint(folder, [probe()], [], 'k')).rejects.toThrow(
      /corrupt checkpoint index .*binary 'file'/,
    );
  });

  it('a binary whose bytes differ from the index: refused, naming the file', async () => {
    const folder = tamper('flipped', (ix, f) => {
      const bin = path.join(f, ix.file as string);
      const bytes = fs.readFileSync(bin);
      bytes[0] ^= 1;
      fs.writeFileSync(bin, bytes);
    });
    await expect(loadCheckpoint(folder, [probe()], [], 'k')).rejects.toThrow(/does not match its index \(SHA-256/);
  });

  it('a binary of another length, a FIFO or a directory in its place: refused', async () => {
    const longer = tamper('longer', (ix, f) => fs.appendFileSync(path.join(f, ix.file as string), Buffer.alloc(4)));
    await expect(loadCheckpoint(longer, [probe()], [], 'k')).rejects.toThrow(/has \d+ bytes, its index says \d+/);
    const asDir = tamper('dir', (ix, f) => {
      fs.rmSync(path.join(f, ix.file as string));
      fs.mkdirSync(path.join(f, ix.file as string));
    });
    await expect(loadCheckpoint(asDir, [probe()], [], 'k')).rejects.toThrow(/missing \(or not a regular file\)/);
    const fifo = tamper('fifo', (ix, f) => {
      fs.rmSync(path.join(f, ix.file as string));
      execFileSync('mkfifo', [path.join(f, ix.file as string)]);
    });
    await expect(loadCheckpoint(fifo, [probe()], [], 'k')).rejects.toThrow(/missing \(or not a regular file\)/);
  });

  it('tensor entries with impossible shapes or offsets: refused', async () => {
    const folder = tamper('shape', (ix) => {
      (ix.tensors as Array<{ shape: number[] }>)[0].shape = [-1, -4];
    });
    await expect(loadCheckpoint(folder, [probe()], [], 'k')).rejects.toThrow(/shape, dtype, offset or length invalid/);
  });
});
