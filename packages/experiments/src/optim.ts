/**
 * Optimizers as the reference code uses them (PyTorch): SGD with momentum and Nesterov, and Adam,
 * with weight decay ADDED TO THE GRADIENT (g ← g + wd·θ, torch.optim's `weight_decay`, i.e. L2, not
 * AdamW's decoupled decay), applied to every trainable variable as the references do.
 * tfjs's momentum update (accum = m·accum + g; θ −= lr·(g + m·accum) with Nesterov) is PyTorch's.
 * Adam uses PyTorch's eps 1e-8 (tfjs's default is 1e-7).
 */
import * as tf from '@tensorflow/tfjs';
import { sgdMomentumKernelActive, sgdMomentumUpdate } from '@repro/runtime';

type NamedTensor = { name: string; tensor: tf.Tensor };

const ADAM_POWER_1 = 'repro/adam/beta1_power';
const ADAM_POWER_2 = 'repro/adam/beta2_power';

export type OptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { kind: 'adam'; lr: number; betas?: [number, number]; eps?: number; weightDecay?: number };

export class Optimizer {
  readonly config: OptimizerConfig;
  private readonly inner: tf.Optimizer;
  private lr: number;
  private wd: number;

  constructor(config: OptimizerConfig) {
    this.config = config;
    this.lr = config.lr;
    this.wd = config.weightDecay ?? 0;
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

  get weightDecay(): number {
    return this.wd;
  }

  /** Changes the L2 weight decay from the next step on (dt-tradeoff's CTC: ×2 in stage 1, reset in stage 2). */
  setWeightDecay(wd: number): void {
    if (!(wd >= 0)) throw new Error(`optimizer: weight decay must be >= 0, got ${wd}`);
    this.wd = wd;
  }

  /**
   * One step on `vars`: computes the loss and its gradients, adds weight decay, applies the update.
   * @returns the loss value.
   */
  step(vars: tf.Variable[], lossFn: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    try {
      this.applyGradients(vars, grads);
      return value.dataSync()[0];
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  }

  /**
   * The update of `vars` from gradients computed elsewhere (`grads` by variable name, as
   * tf.variableGrads gives them; variables without a gradient are left alone): weight decay added,
   * then the optimizer's rule. The caller keeps and disposes `grads`.
   */
  applyGradients(vars: tf.Variable[], grads: tf.NamedTensorMap): void {
    const wd = this.wd;
    if (this.fusedMomentumStep(vars, grads, wd)) return;
    const named: tf.NamedTensorMap = {};
    for (const v of vars) {
      const g = grads[v.name];
      if (!g) continue;
      named[v.name] = wd > 0 ? tf.tidy(() => tf.add(g, tf.mul(v, wd))) : g;
    }
    this.inner.applyGradients(named);
    if (wd > 0) tf.dispose(Object.values(named));
  }

  /**
   * SGD with momentum as one native kernel per variable (runtime's sgdMomentumUpdate), where it is
   * registered: the same float32 numbers as tfjs's applyGradients below, bit for bit, with one kernel
   * call instead of 6-8 per variable. The state stays tfjs MomentumOptimizer's own (its accumulators,
   * created in its order and named as it names them, and its step counter), so checkpoints are
   * unchanged. Returns false (nothing done) where the kernel is absent or tfjs's internals differ.
   */
  private fusedMomentumStep(vars: tf.Variable[], grads: tf.NamedTensorMap, wd: number): boolean {
    if (this.config.kind !== 'sgd' || !(this.inner instanceof tf.MomentumOptimizer)) return false;
    const inner = this.inner as unknown as {
      accumulations?: Array<{ originalName: string; variable: tf.Variable } | undefined>;
      incrementIterations?: () => void;
    };
    if (!Array.isArray(inner.accumulations) || typeof inner.incrementIterations !== 'function') return false;
    const params = {
      lr: this.lr,
      momentum: this.config.momentum ?? 0,
      nesterov: this.config.nesterov ?? false,
      weightDecay: wd,
    };
    const withGrad = vars.filter((v) => grads[v.name]);
    if (withGrad.length === 0 || !sgdMomentumKernelActive()) return false;
    for (let i = 0; i < withGrad.length; i++) {
      const v = withGrad[i];
      if (inner.accumulations[i] === undefined) {
        inner.accumulations[i] = {
          originalName: `${v.name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(v).variable(false)),
        };
      }
      const accum = inner.accumulations[i]!.variable;
      const out = sgdMomentumUpdate(v, accum, grads[v.name], params);
      if (!out) {
        // refused (not float32, or shapes differ): tfjs's path takes the whole step, this accumulator included
        if (i === 0) return false;
        throw new Error(`optimizer: the fused momentum kernel refused variable ${v.name} after running on others`);
      }
      accum.assign(out[1]);
      v.assign(out[0]);
      tf.dispose(out);
    }
    inner.incrementIterations();
    return true;
  }

  /**
   * Optimizer state for checkpoints: tfjs's own (step counter, moments) and, for Adam, the running
   * bias-correction powers β₁ᵗ, β₂ᵗ. tfjs's `setWeights` recomputes those as `pow(β, t + 1)`, which in
   * float32 is not the product an uninterrupted run has accumulated step by step (β₂ᵗ at t = 750:
   * 0.47172192 vs 0.47172171), so a resumed run drifted from an uninterrupted one. They are saved and
   * restored exactly here. The caller disposes the returned tensors.
   */
  async getWeights(): Promise<NamedTensor[]> {
    const weights = await this.inner.getWeights();
    const adam = this.adamPowers();
    const all = adam
      ? [...weights, { name: ADAM_POWER_1, tensor: adam.accBeta1 }, { name: ADAM_POWER_2, tensor: adam.accBeta2 }]
      : weights;
    // the caller owns what it gets: clones of the state variables, and tfjs's fresh step-counter scalar
    return all.map((w) => (w.name === 'iter' ? w : { name: w.name, tensor: tf.clone(w.tensor) }));
  }

  async setWeights(weights: NamedTensor[]): Promise<void> {
    const powers = weights.filter((w) => w.name === ADAM_POWER_1 || w.name === ADAM_POWER_2);
    await this.inner.setWeights(weights.filter((w) => !powers.includes(w)));
    const adam = this.adamPowers();
    if (!adam) return;
    for (const p of powers) (p.name === ADAM_POWER_1 ? adam.accBeta1 : adam.accBeta2).assign(p.tensor);
  }

  /** tfjs AdamOptimizer's β₁ᵗ/β₂ᵗ variables (undefined for other optimizers). */
  private adamPowers(): { accBeta1: tf.Variable; accBeta2: tf.Variable } | undefined {
    if (this.config.kind !== 'adam') return undefined;
    const inner = this.inner as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
    if (!inner.accBeta1 || !inner.accBeta2)
      throw new Error(
        'optimizer: tfjs AdamOptimizer no longer has accBeta1/accBeta2; checkpoints cannot restore it exactly',
      );
    return { accBeta1: inner.accBeta1, accBeta2: inner.accBeta2 };
  }

  dispose(): void {
    this.inner.dispose();
    // tfjs MomentumOptimizer.dispose frees its momentum scalar and accumulators but not the
    // learning-rate scalar `c` its SGD base class keeps: one tensor leaked per optimizer
    if (this.inner instanceof tf.MomentumOptimizer) {
      const c = (this.inner as unknown as { c?: tf.Tensor }).c;
      if (c && !c.isDisposed) c.dispose();
    }
  }
}

/**
 * One step of several optimizers on one loss (a student with SGD and its generator with Adam, as DPK
 * trains them): the gradients of every group's variables in one backward pass, then each optimizer
 * updates its own group. @returns the loss value.
 */
export function jointStep(groups: Array<{ opt: Optimizer; vars: tf.Variable[] }>, lossFn: () => tf.Scalar): number {
  const all = groups.flatMap((g) => g.vars);
  if (new Set(all).size !== all.length) throw new Error('jointStep: a variable belongs to two groups');
  const { value, grads } = tf.variableGrads(lossFn, all);
  try {
    for (const g of groups) g.opt.applyGradients(g.vars, grads);
    return value.dataSync()[0];
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** The trainable variables of models (LayersModel.trainableWeights are LayerVariables). */
export function trainableVariables(...models: tf.LayersModel[]): tf.Variable[] {
  return models.flatMap((m) => m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
}
