/**
 * Max pooling with PyTorch's explicit symmetric padding (nn.MaxPool2d(k, stride, padding)): padding on
 * every side that never wins the max, output size floor((H + 2p − k)/s) + 1. tf's 'same' padding puts
 * the extra row at the bottom only, which shifts the windows (porting note).
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
    const o = (d: number | null) =>
      d == null ? null : Math.floor((d + 2 * this.padding - this.poolSize) / this.strides) + 1;
    return [s[0]!, o(s[1]), o(s[2]), s[3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      // a numeric pad is explicit symmetric padding that never wins the max (checked bit-identical
      // to padding with −3.4e38 and pooling 'valid', forward and gradient, without the Pad and Slice)
      return this.padding > 0
        ? tf.maxPool(x, this.poolSize, this.strides, this.padding, 'floor')
        : tf.maxPool(x, this.poolSize, this.strides, 'valid');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
tf.serialization.registerClass(TorchMaxPool);
