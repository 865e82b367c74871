/**
 * Loading a saved model for use (eval, transfer, mine, compare): `loadModel` plus the checks every
 * such command needs, in one place. The model's topology must match its weights (a mismatch names
 * the model.json and the first mismatching weight with both shapes), every weight must be finite (a
 * diverged or corrupt checkpoint is refused, naming the folder and the weight), and, when asked, the
 * model must take the images it is given.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from './io';
import { disposeModel } from './distill';

/** The model.json a `loadModel` argument names (a folder holding it, or the file itself). */
export function modelJsonPath(dir: string): string {
  return fs.existsSync(dir) && fs.statSync(dir).isFile() ? dir : path.join(dir, 'model.json');
}

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

/**
 * Throws if a weight of `model` holds NaN or ±Infinity: `source` (the file or folder it came from),
 * the first such weight, its shape, the first bad value and index, and how many values are bad.
 */
export function assertFiniteWeights(model: tf.LayersModel, source: string): void {
  let first: { name: string; shape: number[]; index: number; value: number } | undefined;
  let bad = 0;
  for (const w of model.weights) {
    if (w.dtype !== 'float32') continue;
    const v = w.read().dataSync();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        bad++;
        first ??= { name: w.originalName, shape: w.shape as number[], index: i, value: v[i] };
      }
    }
  }
  if (first)
    throw new Error(
      `${source}: weight ${first.name} ${shapeText(first.shape)} holds ${first.value} at index ${first.index} ` +
        `(${bad} non-finite value${bad === 1 ? '' : 's'} in the model): a diverged or corrupt model; refusing to use it`,
    );
}

interface ModelJson {
  weightsManifest?: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
}

class WeightShapeMismatch extends Error {}

/**
 * Why tfjs could not put the weights of `dir` into its topology, from tfjs's error: the weight the
 * topology has no variable for, the variables left unset, or (loading again with the variables'
 * write reporting its own name) the first weight whose shape differs, with both shapes. Undefined
 * when the error is something else. For error messages only.
 */
export async function describeWeightMismatch(dir: string, err: Error): Promise<string | undefined> {
  const jsonPath = modelJsonPath(dir);
  let specs: tf.io.WeightsManifestEntry[] = [];
  try {
    specs = ((JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelJson).weightsManifest ?? []).flatMap(
      (g) => g.weights,
    );
  } catch {
    // loadModel reports an unreadable model.json itself
  }
  const extra = /Provided weight data has no target variable: (\S+)/.exec(err.message);
  if (extra) {
    const spec = specs.find((x) => x.name === extra[1]);
    return `the weights hold ${extra[1]}${spec ? ` ${shapeText(spec.shape)}` : ''}, which no layer of the topology has`;
  }
  const unset = /(\d+) of (\d+) weights are not set: (.*)/.exec(err.message);
  if (unset)
    return `${unset[1]} of the topology's ${unset[2]} weights have no data in the weights, the first ${unset[3].split(',')[0]}`;
  if (!/^Shape mismatch/.test(err.message)) return undefined;
  // tfjs's message has the two shapes but not the weight: load again, the write naming its variable
  const proto = tf.LayerVariable.prototype as unknown as { write: (this: tf.LayerVariable, v: tf.Tensor) => unknown };
  const write = proto.write;
  proto.write = function (this: tf.LayerVariable, v: tf.Tensor) {
    if (this.shape.join() !== v.shape.join())
      throw new WeightShapeMismatch(
        `weight ${this.originalName} is ${shapeText(this.shape)} in the topology but ${shapeText(v.shape)} in the weights`,
      );
    return write.call(this, v);
  };
  try {
    disposeModel(await loadModel(dir));
  } catch (e) {
    if (e instanceof WeightShapeMismatch) return e.message;
  } finally {
    proto.write = write;
  }
  return undefined;
}

export interface CheckedLoadOptions {
  /** The images the model will see, [h, w, c]: a model that takes another shape is refused. */
  inputShape?: readonly number[];
  /** What those images are, for the message (e.g. 'fashion-mnist test'). */
  data?: string;
  /** The classes the model is evaluated on: a classifier with another output count is refused. */
  numClasses?: number;
}

/**
 * `loadModel(dir)` for use: a topology that does not match its weights fails naming the model.json
 * and the first mismatching weight (layer, both shapes); NaN or Inf weights are refused (see
 * `assertFiniteWeights`); with `inputShape` (`numClasses`), a model that takes other images (has
 * another output count) is refused. The model is disposed when a check fails.
 */
export async function loadCheckedModel(dir: string, o: CheckedLoadOptions = {}): Promise<tf.LayersModel> {
  const jsonPath = modelJsonPath(dir);
  const root = path.dirname(jsonPath);
  let model: tf.LayersModel;
  try {
    model = await loadModel(dir);
  } catch (err) {
    const message = (err as Error).message;
    // loadModel's own errors name the file; tfjs's (shape mismatch, unknown variable) do not
    if (message.includes(root)) throw err;
    const why = await describeWeightMismatch(dir, err as Error);
    throw new Error(
      why
        ? `${jsonPath}: the topology does not match the weights (a model of another architecture?): ${why}`
        : `${jsonPath}: cannot load the model: ${message}`,
      { cause: err },
    );
  }
  try {
    assertFiniteWeights(model, root);
    if (o.inputShape) {
      const takes = model.inputs[0].shape.slice(1);
      if (takes.join() !== o.inputShape.join())
        throw new Error(
          `${root}: the model takes ${shapeText(takes)} inputs but the ${o.data ?? 'given'} images are ${shapeText(o.inputShape)}`,
        );
    }
    if (o.numClasses !== undefined) {
      const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1];
      if (outputs !== o.numClasses)
        throw new Error(
          `${root}: the model has ${outputs} outputs but the ${o.data ?? 'given'} data has ${o.numClasses} classes`,
        );
    }
  } catch (err) {
    disposeModel(model);
    throw err;
  }
  return model;
}
