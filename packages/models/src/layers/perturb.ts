/**
 * The perturbation layer of Perturbative Neural Networks (Juefei-Xu et al., CVPR 2018), with every
 * flag of Klachko's re-examination code (michaelklachko/pnn.pytorch@08865db models.py L15-101).
 *
 * filterSize 0 (perturbation), NHWC:
 *   y = x[..., None] + level·noise          noise [H, W, Cn, nmasks], Cn = C (uniqueMasks) or 1
 *   y = relu(y) if useAct
 *   y = reshape(y, [B, H, W, C·nmasks])      perturbed channel index = c·nmasks + m (as torch's view)
 *   y = conv1x1(y) + bias                     groups = C when nmasks > 1, else 1
 *   y = relu(BN(y));  if mixMaps: y = relu(BN(conv1x1(y) + bias2))
 * The masks are one weight shared by every image, drawn once U(−1, 1) (or N(0, 1)) and trainable only
 * with trainMasks; they are built for a fixed H×W.
 * filterSize 1/3/5/7: a plain convolution → BN → ReLU and no noise, with the reference's quirks
 * (porting notes): fs 1 has a bias and no padding; fs 3 and fs 5 pad 1 and have no bias (so fs 5
 * shrinks each map by 2 px); fs 7 forces stride 2 with pad 3, no bias.
 * Grouped 1×1 convolution (tfjs has none): a batched matmul per group, [C, N, nmasks] × [C, nmasks, out/C].
 * BatchNorm has PyTorch semantics (TorchBatchNorm). Conv kernels init N(0, sqrt(2/(k·k·out))) as
 * the reference's utils.weights_init; biases U(±1/sqrt(fan_in)) as PyTorch's default.
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;
import { addBatchNormWeights, BatchNormVars, torchBatchNorm } from './torch-batch-norm';

export interface PerturbLayerArgs {
  /** Output channels. */
  filters: number;
  /** 0: perturbation; 1, 3, 5, 7: a plain convolution (no noise). */
  filterSize?: 0 | 1 | 3 | 5 | 7;
  nmasks?: number;
  /** Noise amplitude: masks are level·U(−1,1) (or level·N(0,1)). The reference default is 0.5. */
  level?: number;
  noiseType?: 'uniform' | 'normal';
  uniqueMasks?: boolean;
  trainMasks?: boolean;
  mixMaps?: boolean;
  /** ReLU after adding the noise (the reference applies it in every layer but the first). */
  useAct?: boolean;
  /** Seed of the noise masks and the initial weights. */
  seed?: number;
  name?: string;
}

type LV = tf.LayerVariable;

export class PerturbLayer extends tf.layers.Layer {
  static className = 'PerturbLayer';
  readonly filters: number;
  readonly filterSize: 0 | 1 | 3 | 5 | 7;
  readonly nmasks: number;
  readonly level: number;
  readonly noiseType: 'uniform' | 'normal';
  readonly uniqueMasks: boolean;
  readonly trainMasks: boolean;
  readonly mixMaps: boolean;
  readonly useAct: boolean;
  readonly seed: number;
  private noise?: LV;
  private kernel!: LV;
  private bias?: LV;
  private kernel2?: LV;
  private bias2?: LV;
  private bn!: BatchNormVars;
  private bn2?: BatchNormVars;
  private inChannels = 0;

  constructor(args: PerturbLayerArgs) {
    super(args);
    this.filters = args.filters;
    this.filterSize = args.filterSize ?? 0;
    this.nmasks = args.nmasks ?? 1;
    this.level = args.level ?? 0.5;
    this.noiseType = args.noiseType ?? 'uniform';
    this.uniqueMasks = args.uniqueMasks ?? true;
    this.trainMasks = args.trainMasks ?? false;
    this.mixMaps = args.mixMaps ?? false;
    this.useAct = args.useAct ?? false;
    this.seed = args.seed ?? 0;
    if (![0, 1, 3, 5, 7].includes(this.filterSize))
      throw new Error(`PerturbLayer: filterSize must be 0, 1, 3, 5 or 7, got ${this.filterSize}`);
    if (!Number.isInteger(this.nmasks) || this.nmasks < 1)
      throw new Error(`PerturbLayer: nmasks must be a positive integer, got ${this.nmasks}`);
  }

  private get groups(): number {
    return this.filterSize === 0 && this.nmasks > 1 ? this.inChannels : 1;
  }

  private convInit(k: number, out: number, salt: number): Initializer {
    return tf.initializers.randomNormal({
      mean: 0,
      stddev: Math.sqrt(2 / (k * k * out)),
      seed: this.seed * 7919 + salt,
    });
  }

  private biasInit(fanIn: number, salt: number): Initializer {
    const b = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -b, maxval: b, seed: this.seed * 7919 + salt });
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [, h, w, c] = shape;
    if (h == null || w == null || c == null)
      throw new Error(`${this.name}: input height, width and channels must be known, got [${shape.join(', ')}]`);
    this.inChannels = c;
    const out = this.filters;
    if (this.filterSize === 0) {
      if (this.nmasks > 1 && out % c !== 0) {
        throw new Error(
          `${this.name}: grouped 1x1 conv needs filters (${out}) divisible by input channels (${c}) when nmasks > 1`,
        );
      }
      const cn = this.uniqueMasks ? c : 1;
      const noiseInit =
        this.noiseType === 'uniform'
          ? tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: this.seed * 7919 + 1 })
          : tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: this.seed * 7919 + 1 });
      this.noise = this.addWeight('noise', [h, w, cn, this.nmasks], 'float32', noiseInit, undefined, this.trainMasks);
      const inPerGroup = (c * this.nmasks) / this.groups;
      this.kernel = this.addWeight('kernel', [1, 1, inPerGroup, out], 'float32', this.convInit(1, out, 2));
      this.bias = this.addWeight('bias', [out], 'float32', this.biasInit(inPerGroup, 3));
      if (this.mixMaps) {
        this.kernel2 = this.addWeight('kernel2', [1, 1, out, out], 'float32', this.convInit(1, out, 4));
        this.bias2 = this.addWeight('bias2', [out], 'float32', this.biasInit(out, 5));
      }
    } else {
      const k = this.filterSize;
      this.kernel = this.addWeight('kernel', [k, k, c, out], 'float32', this.convInit(k, out, 2));
      if (k === 1) this.bias = this.addWeight('bias', [out], 'float32', this.biasInit(c, 3));
    }
    const add = (n: string, sh: number[], init: Initializer, tr: boolean) =>
      this.addWeight(n, sh, 'float32', init, undefined, tr);
    this.bn = addBatchNormWeights(add, 'bn_', out);
    if (this.mixMaps && this.filterSize === 0) this.bn2 = addBatchNormWeights(add, 'bn2_', out);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [b, h, w] = shape;
    if (this.filterSize === 0 || this.filterSize === 1) return [b!, h!, w!, this.filters];
    if (this.filterSize === 7)
      return [
        b!,
        h == null ? null : Math.floor((h + 6 - 7) / 2) + 1,
        w == null ? null : Math.floor((w + 6 - 7) / 2) + 1,
        this.filters,
      ];
    const k = this.filterSize;
    return [b!, h == null ? null : h + 2 - k + 1, w == null ? null : w + 2 - k + 1, this.filters];
  }

  /** The 1×1 convolution of the perturbed maps p [B, H, W, C, M]; grouped when nmasks > 1. */
  private conv1x1Perturbed(p: tf.Tensor5D): tf.Tensor4D {
    const [b, h, w, c, m] = p.shape;
    const out = this.filters;
    const kernel = this.kernel.read();
    if (this.groups === 1) {
      const flat = tf.reshape(p, [b * h * w, c * m]);
      return tf.reshape(tf.matMul(flat, tf.reshape(kernel, [c * m, out])), [b, h, w, out]);
    }
    const k = out / c;
    const pg = tf.transpose(tf.reshape(p, [b * h * w, c, m]), [1, 0, 2]); // [C, N, M]
    const wg = tf.transpose(tf.reshape(kernel, [m, c, k]), [1, 0, 2]); // [C, M, k]: output o = c·k + j
    const y = tf.matMul(pg, wg); // [C, N, k]
    return tf.reshape(tf.transpose(y, [1, 0, 2]), [b, h, w, out]);
  }

  /** The perturbed maps [B, H, W, C·nmasks] (after the optional ReLU); exposed for tests. */
  perturbed(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const noise = this.noise!.read(); // [H, W, Cn, M]
      if (noise.shape[0] !== h || noise.shape[1] !== w) {
        throw new Error(`${this.name}: masks were built for ${noise.shape[0]}x${noise.shape[1]} inputs, got ${h}x${w}`);
      }
      let y: tf.Tensor = tf.add(tf.expandDims(x, 4), tf.mul(noise, this.level)); // [B, H, W, C, M]
      if (this.useAct) y = tf.relu(y);
      return tf.reshape(y, [b, h, w, c * this.nmasks]);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      let y: tf.Tensor4D;
      if (this.filterSize === 0) {
        const [b, h, w, c] = x.shape;
        const p = tf.reshape<tf.Rank.R5>(this.perturbed(x), [b, h, w, c, this.nmasks]);
        y = tf.add(this.conv1x1Perturbed(p), this.bias!.read());
      } else {
        const k = this.filterSize;
        const pad = k === 1 ? 0 : k === 7 ? 3 : 1;
        const stride = k === 7 ? 2 : 1;
        // explicit symmetric padding inside the convolution (the same numbers as Pad + 'valid', without the Pad op)
        y = tf.conv2d(x, this.kernel.read() as tf.Tensor4D, stride, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ]);
        if (this.bias) y = tf.add(y, this.bias.read());
      }
      const training = Boolean(kwargs.training);
      y = tf.relu(torchBatchNorm(y, this.bn, training)) as tf.Tensor4D;
      if (this.bn2) {
        y = tf.add(tf.conv2d(y, this.kernel2!.read() as tf.Tensor4D, 1, 'valid'), this.bias2!.read());
        y = tf.relu(torchBatchNorm(y, this.bn2, training)) as tf.Tensor4D;
      }
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      filterSize: this.filterSize,
      nmasks: this.nmasks,
      level: this.level,
      noiseType: this.noiseType,
      uniqueMasks: this.uniqueMasks,
      trainMasks: this.trainMasks,
      mixMaps: this.mixMaps,
      useAct: this.useAct,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(PerturbLayer);
