/**
 * Training checkpoints: every weight of every model (trainable or not: BN running statistics,
 * noise masks), every optimizer's state, and the loop's own state (epoch, step, history), in one
 * binary file plus a JSON index, written as one unit:
 *   1. the binary goes, atomically, to a new file named by its content (`checkpoint.<sha256>.bin`),
 *      so it never replaces the binary the current index names;
 *   2. the index (checkpoint.json, naming that file and its SHA-256) replaces the old one atomically:
 *      this rename is the commit;
 *   3. binaries no index names are removed.
 * A run killed at any instant leaves the old checkpoint (index and its binary) or the new one, never
 * a mix; the loader checks the binary's length and SHA-256 against the index before using a byte.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };
import { readFileInside, writeFileAtomic, writeJsonAtomic } from '@repro/runtime';
import { Optimizer } from './optim';

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  globalStep: number;
  history: Array<Record<string, number>>;
  /** Identifies the configuration; resuming with another one is refused. */
  configKey: string;
  extra?: Record<string, unknown>;
}

interface TensorEntry {
  group: string;
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  length: number;
}
interface CheckpointIndex extends CheckpointState {
  version: 1;
  /** The binary, a file name inside the checkpoint folder. */
  file: string;
  /** Its length and SHA-256 (hex); absent in checkpoints written before they were content-named. */
  bytes?: number;
  sha256?: string;
  tensors: TensorEntry[];
}

const INDEX = 'checkpoint.json';
/** What an index may name as its binary: a plain file name in the folder, nothing that climbs out. */
const DATA_NAME = /^checkpoint(\.[0-9a-f]{64})?\.bin$/;

/** The file operations that write a checkpoint of `data` described by `index`, in order. */
function writeSteps(
  dir: string,
  data: Buffer,
  index: Omit<CheckpointIndex, 'file' | 'bytes' | 'sha256'>,
): Array<() => void> {
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const file = `checkpoint.${sha256}.bin`;
  return [
    () => fs.mkdirSync(dir, { recursive: true }),
    () => writeFileAtomic(path.join(dir, file), data),
    () => writeJsonAtomic(path.join(dir, INDEX), { ...index, file, bytes: data.length, sha256 }),
    () => {
      for (const name of fs.readdirSync(dir))
        if (name !== file && DATA_NAME.test(name)) fs.rmSync(path.join(dir, name), { force: true });
    },
  ];
}

export async function saveCheckpoint(
  dir: string,
  models: tf.LayersModel[],
  optimizers: Optimizer[],
  state: CheckpointState,
  /** Variables outside any model that the run needs to resume exactly (memory banks, running constants). */
  variables: tf.Variable[] = [],
): Promise<void> {
  for (const step of await checkpointSteps(dir, models, optimizers, state, variables)) step();
}

/**
 * saveCheckpoint as its steps, in order, each one whole file operation (saveCheckpoint runs them all);
 * for tests that stop after any step, as a SIGKILL would, and check what is left. Not exported by the package.
 */
export async function checkpointSteps(
  dir: string,
  models: tf.LayersModel[],
  optimizers: Optimizer[],
  state: CheckpointState,
  variables: tf.Variable[] = [],
): Promise<Array<() => void>> {
  const groups: Array<[string, NamedTensor[]]> = [];
  models.forEach((m, i) =>
    groups.push([`model${i}`, m.weights.map((w, k) => ({ name: `${k}:${w.name}`, tensor: w.read() }))]),
  );
  if (variables.length) groups.push(['state', variables.map((v, k) => ({ name: `${k}:${v.name}`, tensor: v }))]);
  for (let i = 0; i < optimizers.length; i++) groups.push([`optimizer${i}`, await optimizers[i].getWeights()]);
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [group, tensors] of groups) {
    for (const { name, tensor } of tensors) {
      const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
      const data = await tensor.data();
      const buf = Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
      entries.push({ group, name, shape: tensor.shape, dtype, offset, length: buf.length });
      chunks.push(buf);
      offset += buf.length;
    }
  }
  for (const [group, tensors] of groups) if (group.startsWith('optimizer')) tf.dispose(tensors.map((t) => t.tensor));
  return writeSteps(dir, Buffer.concat(chunks), { version: 1, tensors: entries, ...state });
}

/** The index: a regular file of `dir` of bounded size (it holds the history and one entry per tensor). */
function readIndex(dir: string): CheckpointIndex {
  const text = readFileInside(dir, INDEX, { what: `${dir}: checkpoint index`, maxBytes: 256 * 2 ** 20 });
  const index = JSON.parse(text.toString('utf8')) as CheckpointIndex | null;
  if (typeof index !== 'object' || index === null || Array.isArray(index)) throw new Error('not a JSON object');
  return index;
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, INDEX));
}

/** The configuration key a checkpoint was written with (undefined: none, or an unreadable index). */
export function checkpointConfigKey(dir: string): string | undefined {
  try {
    return readIndex(dir).configKey;
  } catch {
    return undefined;
  }
}

/** Restores models and optimizers from `dir`; returns the loop state. Errors name the problem. */
export async function loadCheckpoint(
  dir: string,
  models: tf.LayersModel[],
  optimizers: Optimizer[],
  configKey: string,
  variables: tf.Variable[] = [],
): Promise<CheckpointState> {
  const indexPath = path.join(dir, INDEX);
  if (!fs.existsSync(indexPath)) throw new Error(`${indexPath}: no checkpoint to resume from`);
  let index: CheckpointIndex;
  try {
    index = readIndex(dir);
  } catch (err) {
    throw new Error(`${indexPath}: corrupt checkpoint index (${(err as Error).message})`, { cause: err });
  }
  if (index.configKey !== configKey) {
    throw new Error(
      `${indexPath}: written by a different configuration (${index.configKey} vs ${configKey}); remove it or drop --resume`,
    );
  }
  // the index may come from elsewhere (a copied run folder): it names a file of this folder or nothing
  if (typeof index.file !== 'string' || !DATA_NAME.test(index.file))
    throw new Error(
      `${indexPath}: corrupt checkpoint index (its binary 'file' must be checkpoint[.<sha256>].bin in the same folder)`,
    );
  if (!Array.isArray(index.tensors)) throw new Error(`${indexPath}: corrupt checkpoint index (no tensor list)`);
  for (const t of index.tensors) {
    const dimsOk = Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    const count = dimsOk ? t.shape.reduce((a, b) => a * b, 1) : NaN;
    if (
      !Number.isSafeInteger(t.offset) ||
      t.offset < 0 ||
      !Number.isSafeInteger(count) ||
      count < 0 ||
      t.length !== 4 * count ||
      (t.dtype !== 'float32' && t.dtype !== 'int32')
    )
      throw new Error(
        `${indexPath}: corrupt checkpoint index (tensor ${String(t.name)}: shape, dtype, offset or length invalid)`,
      );
  }
  const dataPath = path.join(dir, index.file);
  const stat = fs.existsSync(dataPath) ? fs.lstatSync(dataPath) : undefined;
  if (!stat?.isFile()) throw new Error(`${dataPath}: the checkpoint's binary is missing (or not a regular file)`);
  const total = index.tensors.reduce((a, t) => Math.max(a, t.offset + t.length), 0);
  const expected = index.bytes ?? total;
  if (stat.size !== expected && !(index.bytes === undefined && stat.size >= total))
    throw new Error(`${dataPath}: checkpoint data has ${stat.size} bytes, its index says ${expected}`);
  // read without following a link, a FIFO never blocks, at most the bytes the index gives
  const data = readFileInside(dir, index.file, { what: `${indexPath}: checkpoint data file`, maxBytes: expected });
  if (index.sha256 !== undefined && crypto.createHash('sha256').update(data).digest('hex') !== index.sha256)
    throw new Error(
      `${dataPath}: checkpoint data does not match its index (SHA-256 differs); remove the folder or drop --resume`,
    );
  if (data.length < total) throw new Error(`${dataPath}: truncated checkpoint data (${data.length} of ${total} bytes)`);
  const read = (t: TensorEntry) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset + t.offset, t.length).slice();
    const arr = t.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return tf.tensor(arr, t.shape, t.dtype);
  };
  models.forEach((m, i) => {
    const entries = index.tensors.filter((t) => t.group === `model${i}`);
    if (entries.length !== m.weights.length) {
      throw new Error(`${indexPath}: model ${i} has ${m.weights.length} weights, the checkpoint ${entries.length}`);
    }
    m.weights.forEach((w, k) => {
      const t = read(entries[k]);
      if (t.shape.join() !== w.shape.join())
        throw new Error(
          `${indexPath}: weight ${w.name} is [${w.shape.join(', ')}] but the checkpoint has [${t.shape.join(', ')}]`,
        );
      w.write(t);
      t.dispose();
    });
  });
  const stateEntries = index.tensors.filter((t) => t.group === 'state');
  if (stateEntries.length !== variables.length)
    throw new Error(
      `${indexPath}: the run keeps ${variables.length} state variables, the checkpoint ${stateEntries.length}`,
    );
  variables.forEach((v, k) => {
    const t = read(stateEntries[k]);
    if (t.shape.join() !== v.shape.join())
      throw new Error(
        `${indexPath}: state ${v.name} is [${v.shape.join(', ')}] but the checkpoint has [${t.shape.join(', ')}]`,
      );
    v.assign(t);
    t.dispose();
  });
  for (let i = 0; i < optimizers.length; i++) {
    const named = index.tensors
      .filter((t) => t.group === `optimizer${i}`)
      .map((t) => ({ name: t.name, tensor: read(t) }));
    await optimizers[i].setWeights(named);
    tf.dispose(named.map((t) => t.tensor));
  }
  return {
    epoch: index.epoch,
    globalStep: index.globalStep,
    history: index.history,
    configKey: index.configKey,
    extra: index.extra,
  };
}
