/** Features of a saved model on a dataset: the named layer's activation, flattened per example. */
import * as tf from '@tensorflow/tfjs';
import { BatchOptions, ImageDataset, batches } from '@repro/datasets';
import { featureModel, loadCheckedModel } from '@repro/models';
import type { FeatureMatrix } from './compare';

/** Flattened activations of `layer` for every example of `ds` (inference mode, batches of 250). */
export function datasetFeatures(
  model: tf.LayersModel,
  layer: string,
  ds: ImageDataset,
  norm: BatchOptions['normalize'],
): { data: Float32Array; cols: number } {
  const tap = featureModel(model, [layer]);
  const chunks: Float32Array[] = [];
  let cols = 0;
  for (const b of batches(ds, { batchSize: 250, normalize: norm })) {
    try {
      chunks.push(
        tf.tidy(() => {
          const t = (tap.predict(b.x) as tf.Tensor[])[0];
          cols = t.size / b.x.shape[0];
          return t.dataSync() as Float32Array;
        }),
      );
    } finally {
      tf.dispose([b.x, b.y]);
    }
  }
  const data = new Float32Array(ds.size * cols);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  return { data, cols };
}

/** Loads the model in `dir` and returns its `layer` features on `ds` as a FeatureMatrix. */
export async function modelFeatures(
  dir: string,
  layer: string,
  ds: ImageDataset,
  norm: BatchOptions['normalize'],
): Promise<FeatureMatrix> {
  // refuses a model with NaN or Inf weights, a topology that does not match its weights, or other inputs
  const model = await loadCheckedModel(dir, { inputShape: ds.shape, data: ds.name });
  try {
    const { data, cols } = datasetFeatures(model, layer, ds, norm);
    return { data, rows: ds.size, cols, name: `${dir} '${layer}'` };
  } finally {
    model.dispose();
  }
}
