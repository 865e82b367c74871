/**
 * Dropout whose masks are reproducible and resume-safe: the mask of a call is drawn from a seed
 * derived from the layer's seed and the global training step (`setRandomStep`), not from
 * Math.random (tf.layers.dropout without a seed) nor from one fixed seed (tf.layers.dropout with a
 * seed repeats the same mask at every step). Inverted dropout, as PyTorch: kept units scaled 1/(1−rate).
 */
import * as tf from '@tensorflow/tfjs';

let randomStep = 0;

/** Sets the step that seeds every SeededDropout mask; training loops call it before each step. */
export function setRandomStep(step: number): void {
  randomStep = step;
}

export function getRandomStep(): number {
  return randomStep;
}

export interface SeededDropoutArgs {
  rate: number;
  seed?: number;
  name?: string;
}

export class SeededDropout extends tf.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  readonly seed: number;

  constructor(args: SeededDropoutArgs) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`SeededDropout: rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.seed = args.seed ?? 0;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.rate === 0) return tf.clone(x);
    return tf.tidy(() => {
      // one seed per (layer, step); within a step the same layer is called once
      const seed = (Math.imul(this.seed + 1, 2654435761) ^ Math.imul(randomStep + 1, 40503)) >>> 0;
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.rate), 'float32');
      return tf.div(tf.mul(x, keep), 1 - this.rate);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);
