/**
 * BatchNorm with PyTorch's semantics (nn.BatchNorm1d/2d), over the last axis (NHWC or [n, c]):
 * training mode normalises with the batch mean and the biased batch variance and updates
 * running = (1 − momentum)·running + momentum·batch, with the UNBIASED variance for the running
 * update; inference mode uses the running statistics. Defaults eps 1e-5, momentum 0.1.
 * Porting note: tf.layers.batchNormalization uses Keras conventions (momentum 0.99 on the old value,
 * eps 1e-3, biased variance in the running update); the papers' code is PyTorch, so this layer is used.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormRunningUpdate, batchNormTrain } from '@repro/runtime';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface TorchBatchNormArgs {
  eps?: number;
  momentum?: number;
  name?: string;
  trainable?: boolean;
}

/** The four variables of one BatchNorm. */
export interface BatchNormVars {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  runningMean: tf.LayerVariable;
  runningVar: tf.LayerVariable;
}

/** Adds a BatchNorm's variables to `layer` under `prefix` (gamma, beta, running_mean, running_var). */
export function addBatchNormWeights(
  add: (name: string, shape: number[], init: Initializer, trainable: boolean) => tf.LayerVariable,
  prefix: string,
  channels: number,
): BatchNormVars {
  return {
    gamma: add(`${prefix}gamma`, [channels], tf.initializers.ones(), true),
    beta: add(`${prefix}beta`, [channels], tf.initializers.zeros(), true),
    runningMean: add(`${prefix}running_mean`, [channels], tf.initializers.zeros(), false),
    runningVar: add(`${prefix}running_var`, [channels], tf.initializers.ones(), false),
  };
}

/**
 * PyTorch BatchNorm over the last axis. In training mode it also updates the running statistics
 * (unbiased variance). Call inside a tidy.
 */
export function torchBatchNorm(
  x: tf.Tensor,
  v: BatchNormVars,
  training: boolean,
  eps = 1e-5,
  momentum = 0.1,
): tf.Tensor {
  const gamma = v.gamma.read();
  const beta = v.beta.read();
  if (training) {
    // one fused kernel on wasm with the native addon; moments + batchNorm elsewhere
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, eps); // biased variance
    const count = x.size / x.shape[x.rank - 1];
    const [runningMean, runningVar] = batchNormRunningUpdate(
      v.runningMean.read(),
      v.runningVar.read(),
      mean,
      variance,
      count,
      momentum,
    );
    v.runningMean.write(runningMean);
    v.runningVar.write(runningVar);
    return y;
  }
  return tf.batchNorm(x, v.runningMean.read(), v.runningVar.read(), beta, gamma, eps);
}

export class TorchBatchNorm extends tf.layers.Layer {
  static className = 'TorchBatchNorm';
  readonly eps: number;
  readonly momentum: number;
  private vars!: BatchNormVars;

  constructor(args: TorchBatchNormArgs = {}) {
    super(args);
    this.eps = args.eps ?? 1e-5;
    this.momentum = args.momentum ?? 0.1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`${this.name}: the channel (last) dimension must be known`);
    this.vars = addBatchNormWeights((n, sh, init, tr) => this.addWeight(n, sh, 'float32', init, undefined, tr), '', c);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() =>
      torchBatchNorm(
        Array.isArray(inputs) ? inputs[0] : inputs,
        this.vars,
        Boolean(kwargs.training),
        this.eps,
        this.momentum,
      ),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), eps: this.eps, momentum: this.momentum };
  }
}
tf.serialization.registerClass(TorchBatchNorm);
