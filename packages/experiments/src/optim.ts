/**
 * Optimizers as the reference code uses them (PyTorch): SGD with momentum and Nesterov, and Adam,
 * with weight decay ADDED TO THE GRADIENT (g ← g + wd·θ, torch.optim's `weight_decay`, i.e. L2, not
 * AdamW's decoupled decay), applied to every trainable variable as the references do.
 * tfjs's momentum update (accum = m·accum + g; θ −= lr·(g + m·accum) with Nesterov) is PyTorch's.
 * Adam uses PyTorch's eps 1e-8 (tfjs's default is 1e-7).
 */
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };

export type OptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { kind: 'adam'; lr: number; betas?: [number, number]; eps?: number; weightDecay?: number };

export class Optimizer {
  readonly config: OptimizerConfig;
  private readonly inner: tf.Optimizer;
  private lr: number;

  constructor(config: OptimizerConfig) {
    this.config = config;
    this.lr = config.lr;
    if (!(config.lr > 0)) throw new Error(`optimizer: lr must be > 0, got ${config.lr}`);
    if (config.kind === 'sgd') {
      const m = config.momentum ?? 0;
      this.inner = m > 0 ? tf.train.momentum(config.lr, m, config.nesterov ?? false) : tf.train.sgd(config.lr);
    } else if (config.kind === 'adam') {
      const [b1, b2] = config.betas ?? [0.9, 0.999];
      this.inner = tf.train.adam(config.lr, b1, b2, config.eps ?? 1e-8);
    } else {
      throw new Error(`optimizer: unknown kind '${(config as { kind: string }).kind}'; valid: sgd, adam`);
    }
  }

  get learningRate(): number {
    return this.lr;
  }

  setLearningRate(lr: number): void {
    this.lr = lr;
    const inner = this.inner as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
    if (inner.setLearningRate) inner.setLearningRate(lr);
    else inner.learningRate = lr;
  }

  /**
   * One step on `vars`: computes the loss and its gradients, adds weight decay, applies the update.
   * `lossFn` may compute extra scalars and hand them out through `aux` (read inside lossFn only).
   * @returns the loss value.
   */
  step(vars: tf.Variable[], lossFn: () => tf.Scalar): number {
    const wd = this.config.weightDecay ?? 0;
    const { value, grads } = tf.variableGrads(lossFn, vars);
    try {
      const named: tf.NamedTensorMap = {};
      for (const v of vars) {
        const g = grads[v.name];
        if (!g) continue;
        named[v.name] = wd > 0 ? tf.tidy(() => tf.add(g, tf.mul(v, wd))) : g;
      }
      this.inner.applyGradients(named);
      if (wd > 0) tf.dispose(Object.values(named));
      return value.dataSync()[0]!;
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  }

  /** Optimizer state (step counter, moments) for checkpoints. */
  async getWeights(): Promise<NamedTensor[]> {
    return this.inner.getWeights();
  }

  async setWeights(weights: NamedTensor[]): Promise<void> {
    await this.inner.setWeights(weights);
  }

  dispose(): void {
    this.inner.dispose();
  }
}

/** The trainable variables of models (LayersModel.trainableWeights are LayerVariables). */
export function trainableVariables(...models: tf.LayersModel[]): tf.Variable[] {
  return models.flatMap((m) => m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
}
