/**
 * Training checkpoints: every weight of every model (trainable or not: BN running statistics,
 * noise masks), every optimizer's state, and the loop's own state (epoch, step, history), in one
 * binary file plus a JSON index. The binary is written first and the JSON last, each atomically, so
 * a checkpoint.json on disk always describes a complete checkpoint; a killed run resumes from it.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };
import { writeFileAtomic, writeJsonAtomic } from '@repro/runtime';
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
  file: string;
  tensors: TensorEntry[];
}

const INDEX = 'checkpoint.json';
const DATA = 'checkpoint.bin';

export async function saveCheckpoint(
  dir: string,
  models: tf.LayersModel[],
  optimizers: Optimizer[],
  state: CheckpointState,
  /** Variables outside any model that the run needs to resume exactly (memory banks, running constants). */
  variables: tf.Variable[] = [],
): Promise<void> {
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
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, DATA), Buffer.concat(chunks));
  const index: CheckpointIndex = { version: 1, file: DATA, tensors: entries, ...state };
  writeJsonAtomic(path.join(dir, INDEX), index);
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, INDEX));
}

/** The configuration key a checkpoint was written with (undefined: none, or an unreadable index). */
export function checkpointConfigKey(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, INDEX), 'utf8')) as CheckpointIndex).configKey;
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
    index = JSON.parse(fs.readFileSync(indexPath, 'utf8')) as CheckpointIndex;
  } catch (err) {
    throw new Error(`${indexPath}: corrupt checkpoint index (${(err as Error).message})`, { cause: err });
  }
  if (index.configKey !== configKey) {
    throw new Error(
      `${indexPath}: written by a different configuration (${index.configKey} vs ${configKey}); remove it or drop --resume`,
    );
  }
  const dataPath = path.join(dir, index.file);
  const data = fs.readFileSync(dataPath);
  const total = index.tensors.reduce((a, t) => Math.max(a, t.offset + t.length), 0);
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
