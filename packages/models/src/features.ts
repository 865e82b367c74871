/**
 * Feature taps: a model whose outputs are the named intermediate activations plus the logits, so
 * that DC, CKA and MINE read the same features the papers read. The registered architectures name
 * their taps 'features' (the penultimate vector, the input of the classifier), 'features_conv' (the
 * last convolutional map) and 'logits'.
 */
import * as tf from '@tensorflow/tfjs';

export function layerNames(model: tf.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

/** A model with outputs [...named activations, logits]; unknown names fail with the valid names. */
export function featureModel(model: tf.LayersModel, names: string[]): tf.LayersModel {
  const valid = layerNames(model);
  const missing = names.filter((n) => !valid.includes(n));
  if (missing.length)
    throw new Error(`featureModel: unknown layer(s) ${missing.join(', ')}; valid names: ${valid.join(', ')}`);
  const outputs = names.map((n) => model.getLayer(n).output as tf.SymbolicTensor);
  return tf.model({ inputs: model.inputs, outputs: [...outputs, model.outputs[0]], name: `${model.name}_features` });
}
