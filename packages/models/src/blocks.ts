/**
 * Building blocks for the functional-API architectures, with PyTorch semantics where they differ
 * from Keras (explicit symmetric padding, BatchNorm, default initialisations) and seeded weights.
 */
import * as tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.zeros>;
import { TorchBatchNorm } from './layers/torch-batch-norm';
import { TorchMaxPool } from './layers/torch-pool';
import { TorchConv2D } from './layers/torch-conv';
import { SeededDropout } from './layers/seeded-dropout';

export type Sym = tf.SymbolicTensor;

/** Hands out distinct seeds to the layers of one model. */
export class SeedSequence {
  private k = 0;
  constructor(readonly seed: number) {}
  next(): number {
    this.k++;
    return (Math.imul(this.seed + 1, 1000003) + this.k * 7919) >>> 0;
  }
}

export type ConvInit = 'pnn' | 'kaiming-fan-out' | 'torch-default';

function convInitializer(init: ConvInit, k: number, cin: number, out: number, seed: number): Initializer {
  switch (init) {
    case 'pnn': // Klachko utils.weights_init: N(0, sqrt(2/(k·k·out)))
    case 'kaiming-fan-out':
      return tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / (k * k * out)), seed });
    case 'torch-default': {
      // kaiming_uniform(a=√5): U(±1/sqrt(fan_in))
      const b = 1 / Math.sqrt(k * k * cin);
      return tf.initializers.randomUniform({ minval: -b, maxval: b, seed });
    }
  }
}

export interface ConvArgs {
  filters: number;
  kernel: number;
  stride?: number;
  /** Symmetric zero padding (PyTorch `padding`). */
  pad?: number;
  bias?: boolean;
  groups?: number;
  init?: ConvInit;
  name?: string;
}

export function conv(x: Sym, seeds: SeedSequence, a: ConvArgs): Sym {
  const cin = x.shape[3]!;
  const pad = a.pad ?? 0;
  const stride = a.stride ?? 1;
  const groups = a.groups ?? 1;
  const biasInitializer = () =>
    tf.initializers.randomUniform({
      minval: -1 / Math.sqrt(a.kernel * a.kernel * cin),
      maxval: 1 / Math.sqrt(a.kernel * a.kernel * cin),
      seed: seeds.next(),
    });
  if (groups === 1) {
    // one convolution with explicit padding (no Pad op forward, no Slice backward; gradients per
    // input only where asked for: see TorchConv2D)
    return new TorchConv2D({
      filters: a.filters,
      kernelSize: a.kernel,
      strides: stride,
      padding: pad,
      useBias: a.bias ?? false,
      kernelInitializer: convInitializer(a.init ?? 'pnn', a.kernel, cin, a.filters, seeds.next()),
      biasInitializer: biasInitializer(),
      name: a.name,
    }).apply(x) as Sym;
  }
  // grouped and depthwise convolutions are tfjs-layers': stride 1 with pad (k−1)/2 is tf's 'same'
  // exactly; otherwise a ZeroPadding2D (tf's 'same' at stride 2 pads only bottom/right, PyTorch both sides)
  const same = stride === 1 && pad > 0 && 2 * pad === a.kernel - 1;
  const xp = pad > 0 && !same ? (tf.layers.zeroPadding2d({ padding: pad }).apply(x) as Sym) : x;
  const padding = same ? 'same' : 'valid';
  if (groups === cin && a.filters % cin === 0) {
    return tf.layers
      .depthwiseConv2d({
        kernelSize: a.kernel,
        depthMultiplier: a.filters / cin,
        strides: stride,
        padding,
        useBias: a.bias ?? false,
        depthwiseInitializer: convInitializer(a.init ?? 'pnn', a.kernel, 1, a.filters, seeds.next()),
        name: a.name,
      })
      .apply(xp) as Sym;
  }
  // general grouped convolution: split channels, convolve each group, concatenate
  if (cin % groups !== 0 || a.filters % groups !== 0)
    throw new Error(`grouped conv: ${cin} in / ${a.filters} out channels not divisible by ${groups} groups`);
  const per = cin / groups;
  const outs: Sym[] = [];
  for (let g = 0; g < groups; g++) {
    const part = new SliceChannels({ start: g * per, size: per }).apply(xp) as Sym;
    outs.push(
      tf.layers
        .conv2d({
          filters: a.filters / groups,
          kernelSize: a.kernel,
          strides: stride,
          padding,
          useBias: a.bias ?? false,
          kernelInitializer: convInitializer(a.init ?? 'pnn', a.kernel, per, a.filters, seeds.next()),
        })
        .apply(part) as Sym,
    );
  }
  return tf.layers.concatenate({ axis: -1 }).apply(outs) as Sym;
}

/** Channels [start, start + size) of an NHWC tensor (for grouped convolutions). */
export class SliceChannels extends tf.layers.Layer {
  static className = 'SliceChannels';
  readonly start: number;
  readonly size: number;
  constructor(args: { start: number; size: number; name?: string }) {
    super(args);
    this.start = args.start;
    this.size = args.size;
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(s[0]) ? s[0] : s) as tf.Shape;
    return [...shape.slice(0, -1), this.size];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.slice(
      x,
      [...new Array<number>(x.rank - 1).fill(0), this.start],
      [...new Array<number>(x.rank - 1).fill(-1), this.size],
    );
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), start: this.start, size: this.size };
  }
}
tf.serialization.registerClass(SliceChannels);

export function bn(x: Sym, name?: string): Sym {
  return new TorchBatchNorm({ name }).apply(x) as Sym;
}

export function relu(x: Sym, name?: string): Sym {
  return tf.layers.reLU({ name }).apply(x) as Sym;
}

export function add(a: Sym, b: Sym): Sym {
  return tf.layers.add().apply([a, b]) as Sym;
}

export function maxPool(x: Sym, size: number, stride = size, pad = 0, name?: string): Sym {
  return new TorchMaxPool({ poolSize: size, strides: stride, padding: pad, name }).apply(x) as Sym;
}

export function avgPool(x: Sym, size: number, stride = size): Sym {
  return tf.layers.averagePooling2d({ poolSize: size, strides: stride, padding: 'valid' }).apply(x) as Sym;
}

export function globalAvgPool(x: Sym): Sym {
  return tf.layers.globalAveragePooling2d({}).apply(x) as Sym;
}

export function flatten(x: Sym): Sym {
  return tf.layers.flatten().apply(x) as Sym;
}

export function dropout(x: Sym, rate: number, seeds: SeedSequence): Sym {
  return new SeededDropout({ rate, seed: seeds.next() }).apply(x) as Sym;
}

/** nn.Linear with PyTorch's default init: weights and bias U(±1/sqrt(fan_in)). */
export function dense(x: Sym, units: number, seeds: SeedSequence, name?: string): Sym {
  const fanIn = x.shape[x.shape.length - 1]!;
  const b = 1 / Math.sqrt(fanIn);
  return tf.layers
    .dense({
      units,
      name,
      kernelInitializer: tf.initializers.randomUniform({ minval: -b, maxval: b, seed: seeds.next() }),
      biasInitializer: tf.initializers.randomUniform({ minval: -b, maxval: b, seed: seeds.next() }),
    })
    .apply(x) as Sym;
}
