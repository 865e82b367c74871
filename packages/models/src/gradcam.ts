/**
 * Grad-CAM (Selvaraju et al., ICCV 2017): the class-discriminative heat map of a convolutional layer.
 * With A the layer's activation [n, h, w, k] and y_c the logit of class c, the channel weights are
 * α_k = mean over (h, w) of ∂y_c/∂A_k and the map is ReLU(Σ_k α_k A_k), bilinearly resized to the input
 * and scaled to [0, 1] per image (an all-zero map stays 0).
 *
 * The part of the network after `layer` must be a chain (each layer fed by the one before), as it is
 * for every registered model's 'features_conv' tap (pool → features → logits); a branching graph is
 * an error naming the layer.
 */
import * as tf from '@tensorflow/tfjs';
import { featureModel, layerNames } from './features';

export interface GradCamOptions {
  /** The convolutional layer whose activation is explained (e.g. 'features_conv'). */
  layer: string;
  /** The class explained, for every image (default: each image's predicted class). */
  classIndex?: number;
}

/** The layers after `layer` up to the output, in forward order; throws when the graph branches. */
function chainAfter(model: tf.LayersModel, layer: string): tf.layers.Layer[] {
  const chain: tf.layers.Layer[] = [];
  let current = model.outputLayers[0];
  while (current.name !== layer) {
    chain.unshift(current);
    const inbound = current.inboundNodes.flatMap((n) => n.inboundLayers);
    if (inbound.length !== 1)
      throw new Error(
        `gradCam: the network after '${layer}' is not a chain (layer '${current.name}' has ${inbound.length} inputs); choose a later layer`,
      );
    current = inbound[0];
  }
  return chain;
}

/**
 * @param model returns logits. @param x a batch [n, H, W, C].
 * @returns heat maps [n, H, W] in [0, 1], a new tensor owned by the caller (nothing else is left behind).
 */
export function gradCam(model: tf.LayersModel, x: tf.Tensor4D, opts: GradCamOptions): tf.Tensor3D {
  if (!layerNames(model).includes(opts.layer))
    throw new Error(`gradCam: unknown layer '${opts.layer}'; valid names: ${layerNames(model).join(', ')}`);
  if (x.rank !== 4) throw new Error(`gradCam: x must be a batch [n, H, W, C], got shape [${x.shape.join(', ')}]`);
  const tap = featureModel(model, [opts.layer]);
  const chain = chainAfter(model, opts.layer);
  const numClasses = model.outputs[0].shape.at(-1)!;
  if (
    opts.classIndex !== undefined &&
    !(Number.isInteger(opts.classIndex) && opts.classIndex >= 0 && opts.classIndex < numClasses)
  )
    throw new Error(`gradCam: classIndex must be an integer in [0, ${numClasses - 1}], got ${opts.classIndex}`);
  return tf.tidy(() => {
    const [a, logits] = tap.apply(x, { training: false }) as tf.Tensor[];
    if (a.rank !== 4)
      throw new Error(`gradCam: layer '${opts.layer}' gives shape [${a.shape.join(', ')}], not a [n, h, w, k] map`);
    const cls = opts.classIndex ?? null;
    const target = cls === null ? tf.argMax(logits, 1) : tf.fill([x.shape[0]], cls, 'int32');
    const mask = tf.oneHot(target, numClasses);
    const head = (act: tf.Tensor) =>
      tf.sum(
        tf.mul(
          chain.reduce((t, l) => l.apply(t, { training: false }) as tf.Tensor, act),
          mask,
        ),
      );
    const g = tf.grad(head)(a);
    const alpha = tf.mean(g, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(alpha, a), 3, true)) as tf.Tensor4D;
    const up = tf.squeeze<tf.Tensor3D>(tf.image.resizeBilinear(cam, [x.shape[1], x.shape[2]]), [3]);
    const max = tf.max(up, [1, 2], true);
    return tf.div(up, tf.maximum(max, 1e-12));
  });
}
