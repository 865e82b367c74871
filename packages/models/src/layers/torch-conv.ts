/**
 * A 2-D convolution with PyTorch's explicit symmetric zero padding (nn.Conv2d(..., padding=p)), as one
 * convolution with explicit padding: output size floor((H + 2p − k)/s) + 1. The same numbers as a
 * ZeroPadding2D layer followed by a 'valid' Conv2D, without the Pad op forward and the Slice of its
 * gradient backward. Its weights are Conv2D's: `<name>/kernel` [k, k, Cin, Cout] (HWIO), `<name>/bias`.
 * Every plain (ungrouped) convolution of the model zoo is one (`conv` in ../blocks.ts): at stride > 1
 * tf's 'same' differs from PyTorch's padding (tf pads only bottom/right), and at stride 1 it is the
 * same convolution as a Conv2D layer's, bit for bit.
 *
 * Without a bias it runs `tf.conv2d`, whose gradient is computed per input only where it is asked
 * for: a gradient with respect to the input alone (attacks, Grad-CAM) computes no filter gradient,
 * and training computes no input gradient for the first layer. `tf.fused.conv2d` (Conv2D layers,
 * and here with a bias) computes the input, filter and bias gradients whenever any is needed.
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface TorchConv2DArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  /** zero padding on every side */
  padding: number;
  useBias?: boolean;
  kernelInitializer: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

export class TorchConv2D extends tf.layers.Layer {
  static className = 'TorchConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: TorchConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.padding) || args.padding < 0)
      throw new Error(`TorchConv2D: padding must be a non-negative integer, got ${args.padding}`);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding;
    this.useBias = args.useBias ?? false;
    this.kernelInitializer = args.kernelInitializer;
    this.biasInitializer = args.biasInitializer ?? tf.initializers.zeros();
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = s[3];
    if (cin == null) throw new Error(`${this.name}: the channel (last) dimension must be known`);
    // kernel then bias, as Conv2D creates them (the seeded initialisers give the same values)
    this.kernel = this.addWeight(
      'kernel',
      [this.kernelSize, this.kernelSize, cin, this.filters],
      'float32',
      this.kernelInitializer,
    );
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', this.biasInitializer);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const o = (d: number | null) =>
      d == null ? null : Math.floor((d + 2 * this.padding - this.kernelSize) / this.strides) + 1;
    return [s[0]!, o(s[1]), o(s[2]), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const p = this.padding;
      const filter = this.kernel!.read() as tf.Tensor4D;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ];
      if (!this.bias) return tf.conv2d(x, filter, this.strides, pad);
      return tf.fused.conv2d({ x, filter, strides: this.strides, pad, bias: this.bias.read() });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      useBias: this.useBias,
    };
  }
}
tf.serialization.registerClass(TorchConv2D);
