/**
 * Save and load models in TensorFlow.js's file format (a folder with model.json and binary weight
 * shards, as tfjs-node's `file://` handler and tensorflowjs_converter write it), on any backend:
 * the `file://` handler exists only in tfjs-node. Files are written atomically (temp + rename), the
 * weights before model.json, so a folder with a model.json is always complete.
 * Custom layers (PerturbLayer, TorchBatchNorm, …) are registered classes and load back.
 */
import * as buffer from 'buffer';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readFileInside, writeFileAtomic } from '@repro/runtime';

const WEIGHTS_FILE = 'weights.bin';

/** Writes `model` to `dir`/model.json + `dir`/weights.bin. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  // the handler writes synchronously (atomic files) and hands tfjs a resolved promise
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      const data = artifacts.weightData;
      const bytes =
        data === undefined
          ? new Uint8Array(0)
          : Array.isArray(data)
            ? Buffer.concat(data.map((b) => Buffer.from(b)))
            : new Uint8Array(data);
      writeFileAtomic(path.join(dir, WEIGHTS_FILE), bytes);
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
      return Promise.resolve({
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON' as const,
          weightDataBytes: bytes.length,
        },
      });
    }),
  );
}

interface ModelJson {
  modelTopology?: object;
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format?: string;
}

/** A model.json larger than this is refused (the topology of a ResNeXt is a few hundred kB). */
const MODEL_JSON_MAX_BYTES = 64 * 2 ** 20;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The weight groups of a parsed model.json, checked entry by entry; errors name the entry. */
function manifestGroups(
  jsonPath: string,
  json: ModelJson,
): Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> {
  const manifest: unknown = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new Error(`${jsonPath}: weightsManifest is not a list`);
  return manifest.map((group: unknown, g) => {
    const at = `${jsonPath}: weightsManifest[${g}]`;
    if (!isRecord(group)) throw new Error(`${at} is not an object with paths and weights`);
    const { paths, weights } = group;
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string'))
      throw new Error(`${at}.paths is not a list of file names`);
    if (!Array.isArray(weights)) throw new Error(`${at}.weights is not a list`);
    weights.forEach((w: unknown, k) => {
      const shape = isRecord(w) ? w.shape : undefined;
      if (
        !isRecord(w) ||
        typeof w.name !== 'string' ||
        typeof w.dtype !== 'string' ||
        !Array.isArray(shape) ||
        shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)
      )
        throw new Error(`${at}.weights[${k}] is not a weight entry (name, dtype, a shape of non-negative integers)`);
    });
    return { paths: paths as string[], weights: weights as tf.io.WeightsManifestEntry[] };
  });
}

/**
 * Loads a tfjs Layers model from a folder (model.json + weight shards): one saved by `saveModel`, or a
 * user's model converted from Keras/PyTorch with tensorflowjs_converter (how pretrained weights come in).
 * Errors name the file and what is wrong.
 *
 * A model folder may come from someone else (`compare` is for shared models): model.json and every
 * weight shard must be regular files inside the folder (no absolute paths, `..` or symbolic links out
 * of it; no FIFOs, devices or folders), and no more bytes are read than model.json describes. A refusal
 * names the manifest entry and says nothing about the file it points at.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const jsonPath = fs.existsSync(dir) && fs.statSync(dir).isFile() ? dir : path.join(dir, 'model.json');
  const root = path.dirname(jsonPath);
  if (!fs.lstatSync(jsonPath, { throwIfNoEntry: false }))
    throw new Error(`${jsonPath}: no model.json (expected a folder written by saveModel or tensorflowjs_converter)`);
  const text = readFileInside(root, path.basename(jsonPath), {
    what: `${root}: model file`,
    maxBytes: MODEL_JSON_MAX_BYTES,
  }).toString('utf8');
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch (err) {
    throw new Error(`${jsonPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!isRecord(json)) throw new Error(`${jsonPath}: not a model.json (expected a JSON object)`);
  if (!json.modelTopology)
    throw new Error(`${jsonPath}: no modelTopology (is it a Layers model? graph models are not supported)`);
  const groups = manifestGroups(jsonPath, json);
  const specs = groups.flatMap((g) => g.weights);
  const expected = specs.reduce(
    (acc, s) => acc + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'float32' || s.dtype === 'int32' ? 4 : 1),
    0,
  );
  if (!Number.isSafeInteger(expected) || expected > buffer.constants.MAX_LENGTH)
    throw new Error(`${jsonPath}: the weights describe ${expected} bytes, more than a model can hold`);
  const buffers: Buffer[] = [];
  let read = 0;
  groups.forEach((group, g) =>
    group.paths.forEach((p, i) => {
      const shard = readFileInside(root, p, {
        what: `${jsonPath}: weight shard weightsManifest[${g}].paths[${i}]`,
        maxBytes: expected - read,
        limit: `model.json describes ${expected} bytes of weights${read ? `, ${read} of them in the shards before it` : ''}`,
      });
      buffers.push(shard);
      read += shard.length;
    }),
  );
  const weightData = Buffer.concat(buffers);
  if (weightData.length !== expected) {
    throw new Error(
      `${root}: weight shards hold ${weightData.length} bytes, model.json describes ${expected} (truncated or mismatched files)`,
    );
  }
  const ab = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: ab }),
  );
}
