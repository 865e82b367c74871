/**
 * Save and load models in TensorFlow.js's file format (a folder with model.json and binary weight
 * shards, as tfjs-node's `file://` handler and tensorflowjs_converter write it), on any backend:
 * the `file://` handler exists only in tfjs-node. Files are written atomically (temp + rename), the
 * weights before model.json, so a folder with a model.json is always complete.
 * Custom layers (PerturbLayer, TorchBatchNorm, …) are registered classes and load back.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@repro/runtime';

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

/**
 * Loads a tfjs Layers model from a folder (model.json + weight shards): one saved by `saveModel`, or a
 * user's model converted from Keras/PyTorch with tensorflowjs_converter (how pretrained weights come in).
 * Errors name the file and what is wrong.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const jsonPath = fs.existsSync(dir) && fs.statSync(dir).isFile() ? dir : path.join(dir, 'model.json');
  const root = path.dirname(jsonPath);
  if (!fs.existsSync(jsonPath))
    throw new Error(`${jsonPath}: no model.json (expected a folder written by saveModel or tensorflowjs_converter)`);
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`${jsonPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!json.modelTopology)
    throw new Error(`${jsonPath}: no modelTopology (is it a Layers model? graph models are not supported)`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = path.join(root, p);
      if (!fs.existsSync(file)) throw new Error(`${file}: weight shard listed in ${jsonPath} is missing`);
      buffers.push(fs.readFileSync(file));
    }
  }
  const weightData = Buffer.concat(buffers);
  const expected = specs.reduce(
    (acc, s) => acc + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'float32' || s.dtype === 'int32' ? 4 : 1),
    0,
  );
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
