/**
 * The original PNN repo's additive noise (juefeix/pnn.pytorch naiveresnet.py NoiseLayer, used by
 * Klachko's `noiseresnet18`): y = x + level·noise with one fixed U(−1, 1) mask per (pixel, channel),
 * shared by every image. The rest of that layer (ReLU → BN → 1×1 conv) is built from ordinary layers.
 * Porting note: the reference creates the mask lazily at the first forward; here it is a
 * non-trainable weight made at build time from the layer's seed.
 */
import * as tf from '@tensorflow/tfjs';

export class NoiseLayer extends tf.layers.Layer {
  static className = 'NoiseLayer';
  readonly level: number;
  readonly seed: number;
  private noise!: tf.LayerVariable;

  constructor(args: { level: number; seed?: number; name?: string }) {
    super(args);
    this.level = args.level;
    this.seed = args.seed ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [, h, w, c] = s;
    if (h == null || w == null || c == null)
      throw new Error(`${this.name}: input height, width and channels must be known`);
    this.noise = this.addWeight(
      'noise',
      [h, w, c],
      'float32',
      tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: this.seed }),
      undefined,
      false,
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.add(x, tf.mul(this.noise.read(), this.level)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), level: this.level, seed: this.seed };
  }
}
tf.serialization.registerClass(NoiseLayer);
