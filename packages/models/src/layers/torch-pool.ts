/**
 * Max pooling with PyTorch's explicit symmetric padding (nn.MaxPool2d(k, stride, padding)): the input
 * is padded with −∞ on every side, then pooled 'valid'. tf's 'same' padding puts the extra row at the
 * bottom only, which shifts the windows (porting note).
 */
import * as tf from '@tensorflow/tfjs';

export interface TorchMaxPoolArgs {
  poolSize: number;
  strides?: number;
  padding?: number;
  name?: string;
}

export class TorchMaxPool extends tf.layers.Layer {
  static className = 'TorchMaxPool';
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: number;

  constructor(args: TorchMaxPoolArgs) {
    super(args);
    this.poolSize = args.poolSize;
    this.strides = args.strides ?? args.poolSize;
    this.padding = args.padding ?? 0;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const o = (d: number | null) => (d == null ? null : Math.floor((d + 2 * this.padding - this.poolSize) / this.strides) + 1);
    return [s[0]!, o(s[1]!), o(s[2]!), s[3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const p = this.padding;
      const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], -3.4e38) : x;
      return tf.maxPool(xp, this.poolSize, this.strides, 'valid');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
tf.serialization.registerClass(TorchMaxPool);
