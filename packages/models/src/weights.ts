import * as tf from '@tensorflow/tfjs';

/**
 * A layer's weights by their short names ('kernel', 'bias', 'bn_gamma', 'noise', …): the last path
 * component without the '_N' suffix tfjs adds to keep global names unique. For loading weights
 * converted from a PyTorch state dict into one layer.
 */
export function layerWeightMap(layer: tf.layers.Layer): Map<string, tf.LayerVariable> {
  return new Map(layer.weights.map((w) => [w.name.split('/').pop()!.replace(/_\d+$/, ''), w]));
}
