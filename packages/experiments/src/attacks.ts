/**
 * Adversarial examples with cleverhans' semantics (cleverhans/torch/attacks/fast_gradient_method.py
 * and projected_gradient_descent.py): untargeted; without `y` the labels are the model's own
 * predictions on the clean batch; the loss is the mean cross-entropy on the logits; no clipping
 * unless clipMin/clipMax are given; ε in the units of `x` (normalised inputs in the papers' code).
 *
 * - FGM: x + ε·sign(∇x L) (L∞) or x + ε·∇x L / ‖∇x L‖₂ per example (L2, ‖·‖² floored at 1e-12).
 * - PGD: start at x + uniform(−ε, ε) (randomStart, the default) projected to the ε-ball, then `steps`
 *   FGM steps of size `stepSize` with the clean labels, each followed by the projection back to the
 *   ε-ball around x (L∞: clamp to ±ε; L2: scale by min(1, ε/‖η‖₂)) and the optional clipping.
 *
 * `model` returns logits and runs in inference mode (BatchNorm running statistics, no dropout).
 * Both return a new tensor owned by the caller and leave no other tensor behind.
 */
import * as tf from '@tensorflow/tfjs';

export interface AttackOptions {
  norm?: 'inf' | 2;
  /** True labels [n]; default: the model's predictions on x. */
  y?: tf.Tensor1D;
  clipMin?: number;
  clipMax?: number;
}

export interface PgdOptions extends AttackOptions {
  stepSize: number;
  steps: number;
  /** Start from a uniform point of the ε-ball (default true, as cleverhans' rand_init). */
  randomStart?: boolean;
  /** Seed of the random start. */
  seed?: number;
}

const AVOID_ZERO_DIV = 1e-12;

function checkAttack(fn: string, model: tf.LayersModel, x: tf.Tensor, eps: number, opts: AttackOptions): void {
  if (!(model instanceof tf.LayersModel)) throw new Error(`${fn}: model must be a tf.LayersModel that returns logits`);
  if (!(x instanceof tf.Tensor) || x.rank < 2 || x.shape[0] === 0) {
    throw new Error(
      `${fn}: x must be a non-empty batch [n, ...], got ${x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}`,
    );
  }
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`${fn}: eps must be a finite number >= 0, got ${eps}`);
  const norm = opts.norm ?? 'inf';
  if (norm !== 'inf' && norm !== 2) throw new Error(`${fn}: unknown norm '${String(norm)}'; valid: 'inf', 2`);
  if (opts.y !== undefined && (opts.y.rank !== 1 || opts.y.shape[0] !== x.shape[0])) {
    throw new Error(`${fn}: y must be [${x.shape[0]}] (one label per example), got shape [${opts.y.shape.join(', ')}]`);
  }
  for (const k of ['clipMin', 'clipMax'] as const) {
    const v = opts[k];
    if (v !== undefined && !Number.isFinite(v)) throw new Error(`${fn}: ${k} must be a finite number, got ${v}`);
  }
  if (opts.clipMin !== undefined && opts.clipMax !== undefined && opts.clipMin > opts.clipMax) {
    throw new Error(`${fn}: clipMin ${opts.clipMin} > clipMax ${opts.clipMax}`);
  }
  const finite = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0] === 1);
  if (!finite) throw new Error(`${fn}: x contains NaN or Infinity`);
}

function classCount(model: tf.LayersModel): number {
  const c = model.outputs[0]?.shape.at(-1);
  if (typeof c !== 'number' || c < 2)
    throw new Error(
      `attack: the model's output must be [n, classes] logits, got [${model.outputs[0]?.shape.join(', ')}]`,
    );
  return c;
}

function logits(model: tf.LayersModel, x: tf.Tensor): tf.Tensor2D {
  return model.apply(x, { training: false }) as tf.Tensor2D;
}

/** Labels: opts.y as int32, or the model's predictions on x. */
function labels(model: tf.LayersModel, x: tf.Tensor, y?: tf.Tensor1D): tf.Tensor1D {
  return y ? tf.cast(y, 'int32') : tf.argMax(logits(model, x), 1);
}

/** Sum over every axis but the batch axis, kept for broadcasting. */
function perExampleSum(t: tf.Tensor): tf.Tensor {
  return tf.sum(
    t,
    Array.from({ length: t.rank - 1 }, (_, i) => i + 1),
    true,
  );
}

function clip(x: tf.Tensor, opts: AttackOptions): tf.Tensor {
  if (opts.clipMin === undefined && opts.clipMax === undefined) return x;
  return tf.clipByValue(x, opts.clipMin ?? -Infinity, opts.clipMax ?? Infinity);
}

/** One FGM step from x with fixed labels y (inside a tidy). */
function fgmStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, eps: number, opts: AttackOptions): tf.Tensor {
  const numClasses = classCount(model);
  const g = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits(model, xx)))(x);
  const direction =
    (opts.norm ?? 'inf') === 'inf'
      ? tf.sign(g)
      : tf.div(g, tf.sqrt(tf.maximum(perExampleSum(tf.square(g)), AVOID_ZERO_DIV)));
  return clip(tf.add(x, tf.mul(direction, eps)), opts);
}

/** Projects η onto the ε-ball of the norm. */
function projectEta(eta: tf.Tensor, eps: number, norm: 'inf' | 2): tf.Tensor {
  if (norm === 'inf') return tf.clipByValue(eta, -eps, eps);
  const n = tf.sqrt(tf.maximum(perExampleSum(tf.square(eta)), AVOID_ZERO_DIV));
  return tf.mul(eta, tf.minimum(1, tf.div(eps, n)));
}

/** Fast gradient method (Goodfellow et al. 2015; cleverhans `fast_gradient_method`). */
export function fgm(model: tf.LayersModel, x: tf.Tensor, eps: number, opts: AttackOptions = {}): tf.Tensor {
  checkAttack('fgm', model, x, eps, opts);
  return tf.tidy(() => fgmStep(model, x, labels(model, x, opts.y), eps, opts));
}

/** Projected gradient descent (Madry et al. 2018; cleverhans `projected_gradient_descent`). */
export function pgd(model: tf.LayersModel, x: tf.Tensor, eps: number, opts: PgdOptions): tf.Tensor {
  checkAttack('pgd', model, x, eps, opts);
  if (!Number.isInteger(opts.steps) || opts.steps < 0)
    throw new Error(`pgd: steps must be an integer >= 0, got ${opts.steps}`);
  if (!Number.isFinite(opts.stepSize) || opts.stepSize < 0)
    throw new Error(`pgd: stepSize must be a finite number >= 0, got ${opts.stepSize}`);
  const norm = opts.norm ?? 'inf';
  const y = tf.tidy(() => labels(model, x, opts.y));
  let adv = tf.tidy(() => {
    const eta =
      (opts.randomStart ?? true) ? tf.randomUniform(x.shape, -eps, eps, 'float32', opts.seed) : tf.zerosLike(x);
    return clip(tf.add(x, projectEta(eta, eps, norm)), opts);
  });
  try {
    for (let i = 0; i < opts.steps; i++) {
      const next = tf.tidy(() => {
        const stepped = fgmStep(model, adv, y, opts.stepSize, opts);
        return clip(tf.add(x, projectEta(tf.sub(stepped, x), eps, norm)), opts);
      });
      adv.dispose();
      adv = next;
    }
    return adv;
  } catch (err) {
    adv.dispose(); // a step that threw leaves no tensor behind
    throw err;
  } finally {
    y.dispose();
  }
}
