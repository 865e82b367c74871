/**
 * Neural mutual-information estimators: MINE (Belghazi et al. 2018, the Donsker–Varadhan bound with
 * the moving-average-corrected gradient, as DTennant/dt-tradeoff mine.py uses it) and InfoNCE
 * (van den Oord et al. 2018) with a separable critic. Both train a small network with Adam on a
 * training split, report the value on a held-out split, and say whether the optimisation plateaued:
 * the reference code has no such check, and an unconverged MINE silently under-reports.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';
import { checkRows } from './validate';
import { rescaleExponent, timesPow2, type Window } from './magnitude';

export interface NeuralMiOptions {
  /** Hidden width of the statistics network / critic (default 64; dt-tradeoff uses 1024). */
  hidden?: number;
  /** Hidden layers (default 3, as mine.py). */
  layers?: number;
  /** Examples per iteration (default 500). */
  batchSize?: number;
  /** Adam learning rate (default 1e-4 for MINE, as mine.py; 1e-3 for InfoNCE). */
  learningRate?: number;
  /** Training iterations (default 5000 for MINE, 1000 for InfoNCE). */
  iterations?: number;
  /** Fraction of the examples held out for the reported held-out value (default 0.2). */
  heldOutFraction?: number;
  /** Moving-average rate of the MINE gradient correction (default 0.01). */
  maRate?: number;
  /** Window (iterations) of the smoothed training estimate (default: min(500, iterations/5)). */
  window?: number;
  seed?: number;
  /** Called every `progressEvery` iterations with (iteration, current windowed estimate). */
  onProgress?: (iteration: number, estimate: number) => void;
  progressEvery?: number;
}

/**
 * How far to trust a neural MI estimate, from two explicit rules (`neuralMiVerdict`):
 * - 'overfitting': the training-window value exceeds the held-out value by more than
 *   max(0.05 nats, 10% of the estimate): the network has learnt its training pairs, and the training
 *   value (what mine.py reports) over-states the MI;
 * - 'still-changing': the windowed training value has not reached a plateau (`plateau`);
 * - 'converged': neither.
 */
export type ConvergenceVerdict = 'converged' | 'still-changing' | 'overfitting';

/** The overfitting rule's allowance: max(OVERFIT_MIN_NATS, OVERFIT_FRACTION · |estimate|). */
export const OVERFIT_MIN_NATS = 0.05;
export const OVERFIT_FRACTION = 0.1;

export interface NeuralMiResult {
  /** Mean training-batch bound over the last `window` iterations (nats): what mine.py reports. */
  estimate: number;
  /** The bound of the final network on the held-out split (nats). */
  heldOut: number;
  /** Training-batch bound per iteration (nats). */
  history: number[];
  /**
   * 'overfitting' when overfitGap > max(0.05 nats, 10% of the estimate); else 'converged' when the
   * mean over the last 10% of iterations differs from the mean over the 10% before them by at most
   * max(1% of the estimate, 2 standard errors); else 'still-changing'.
   */
  verdict: ConvergenceVerdict;
  /** The plateau test alone (true: the windowed training value has stopped moving). */
  plateaued: boolean;
  /** estimate − heldOut: a large positive gap means the network overfits the training split. */
  overfitGap: number;
  iterations: number;
}

export interface InfoNceResult extends NeuralMiResult {
  /** log(batchSize): InfoNCE can never exceed it, whatever the true MI. */
  cap: number;
  /** True when the estimate is within 0.05 nats of the cap (then it says only "MI ≥ cap"). */
  atCap: boolean;
}

function mlp(inputDim: number, hidden: number, layers: number, outDim: number, rng: Rng, name: string): tf.Sequential {
  const model = tf.sequential({ name });
  for (let l = 0; l < layers; l++) {
    model.add(
      tf.layers.dense({
        units: hidden,
        activation: 'relu',
        ...(l === 0 ? { inputShape: [inputDim] } : {}),
        // mine.py: hidden weights N(0, 0.02), zero bias; the output layer keeps its default init
        kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: rng.seedInt() }),
        biasInitializer: 'zeros',
      }),
    );
  }
  model.add(
    tf.layers.dense({ units: outDim, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seedInt() }) }),
  );
  return model;
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
}

/** True when the last 10% of `history` and the 10% before agree within max(1% of the estimate, 2 SE). */
export function plateau(history: number[], estimate: number): boolean {
  const k = Math.max(2, Math.floor(history.length / 10));
  const last = history.slice(-k);
  const before = history.slice(-2 * k, -k);
  if (before.length < 2) return false;
  const ml = mean(last);
  const mb = mean(before);
  const varOf = (a: number[], m: number) => a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1);
  const se = Math.sqrt(varOf(last, ml) / last.length + varOf(before, mb) / before.length);
  return Math.abs(ml - mb) <= Math.max(0.01 * Math.abs(estimate), 2 * se);
}

/** The verdict of an estimate from its plateau test and its train-minus-held-out gap (see ConvergenceVerdict). */
export function neuralMiVerdict(plateaued: boolean, estimate: number, overfitGap: number): ConvergenceVerdict {
  if (overfitGap > Math.max(OVERFIT_MIN_NATS, OVERFIT_FRACTION * Math.abs(estimate))) return 'overfitting';
  return plateaued ? 'converged' : 'still-changing';
}

/**
 * Draws of k distinct indices out of 0..n-1: a partial Fisher–Yates shuffle of one persistent
 * permutation, O(k) per draw (a fresh permutation of n per draw is O(n): 3 per MINE iteration).
 */
class IndexSampler {
  private readonly pool: Int32Array;
  constructor(
    private readonly rng: Rng,
    n: number,
  ) {
    this.pool = new Int32Array(n);
    for (let i = 0; i < n; i++) this.pool[i] = i;
  }
  drawIndices(k: number): Int32Array {
    const p = this.pool;
    const n = p.length;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.rng.next() * (n - i));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p.slice(0, k);
  }
  draw(k: number): tf.Tensor1D {
    return tf.tensor1d(this.drawIndices(k), 'int32');
  }
}

/**
 * The statistics network's input for one iteration, [joint rows; marginal rows] of [x, y], assembled
 * on the JavaScript side by row copies: the same values as gathering and concatenating tensors, and
 * 6 gathers + 3 concatenations fewer per iteration (the wasm gather of 500 × 3072 floats is ~30 ms).
 */
function pairRows(
  x: Float32Array,
  y: Float32Array,
  p: number,
  q: number,
  rows: Array<[Int32Array, Int32Array]>,
): tf.Tensor2D {
  const width = p + q;
  const n = rows.reduce((a, [ix]) => a + ix.length, 0);
  const out = new Float32Array(n * width);
  let r = 0;
  for (const [ix, iy] of rows)
    for (let k = 0; k < ix.length; k++, r++) {
      out.set(x.subarray(ix[k] * p, ix[k] * p + p), r * width);
      out.set(y.subarray(iy[k] * q, iy[k] * q + q), r * width + p);
    }
  return tf.tensor2d(out, [n, width]);
}

function finish(fn: string, history: number[], window: number, heldOut: number, iterations: number): NeuralMiResult {
  const finite = history.filter(Number.isFinite);
  // an empty mean would report 0 nats: a network that diverged is an error, not an estimate
  if (finite.length === 0 || !Number.isFinite(heldOut))
    throw new Error(
      `${fn}: the bound is non-finite (${finite.length} of ${history.length} training iterations finite, held-out value ${heldOut}): ` +
        `the network diverged (float32 overflow); lower learningRate`,
    );
  const estimate = mean(finite.slice(-window));
  const plateaued = plateau(finite, estimate);
  const overfitGap = estimate - heldOut;
  return {
    estimate,
    heldOut,
    history,
    verdict: neuralMiVerdict(plateaued, estimate, overfitGap),
    plateaued,
    overfitGap,
    iterations,
  };
}

/** The windowed training value every `every` iterations: the estimate's training curve, small enough to store. */
export function windowedCurve(history: number[], window: number, every: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let it = every; it <= history.length; it += every) {
    const w = history.slice(Math.max(0, it - window), it).filter(Number.isFinite);
    out.push([it, mean(w)]);
  }
  return out;
}

interface Split {
  xTrain: tf.Tensor2D;
  yTrain: tf.Tensor2D;
  xHeld: tf.Tensor2D;
  yHeld: tf.Tensor2D;
  nTrain: number;
  nHeld: number;
}

/**
 * The inputs' magnitude window, on the largest |entry| (the network sees raw values). MI is invariant
 * under scaling each variable, the network is not: its N(0, 0.02) and Glorot initialisations and
 * Adam's step sizes are made for inputs of order 1, and at large magnitudes e^T overflows float32.
 * Inputs within [2^-10, 2^10] are used as given (today's estimates do not move); outside, each is scaled
 * by a power of two to a largest |entry| in [1, 2). Inside the window the estimate still depends on the
 * scale (see the README); standardise inputs of unusual scale before estimating.
 */
const MI_WINDOW: Window = { lo: -10, hi: 10, raw: true };

/** The split of x and y, each scaled by a power of two first when its magnitude is outside MI_WINDOW. */
function rescaledSplit(x: tf.Tensor2D, y: tf.Tensor2D, fraction: number, rng: Rng): Split {
  const xs = timesPow2(x, rescaleExponent(x, MI_WINDOW));
  const ys = timesPow2(y, rescaleExponent(y, MI_WINDOW));
  try {
    return split(xs, ys, fraction, rng);
  } finally {
    if (xs !== x) xs.dispose();
    if (ys !== y) ys.dispose();
  }
}

type IntegerOption = 'hidden' | 'layers' | 'batchSize' | 'iterations' | 'window' | 'progressEvery' | 'embedding';

const KNOWN_OPTIONS = new Set([
  'hidden',
  'layers',
  'batchSize',
  'learningRate',
  'iterations',
  'heldOutFraction',
  'maRate',
  'window',
  'seed',
  'onProgress',
  'progressEvery',
  'embedding',
]);

/**
 * Rejects options that would make a silent nonsense estimate (0 iterations report 0 nats), and names
 * it does not know: a misspelt option (`lr` for `learningRate`) would otherwise leave its default in force.
 */
function checkOptions(fn: string, opts: NeuralMiOptions & { embedding?: number }): void {
  for (const k of Object.keys(opts))
    if (!KNOWN_OPTIONS.has(k) && (opts as Record<string, unknown>)[k] !== undefined)
      throw new Error(`${fn}: unknown option '${k}' (options: ${[...KNOWN_OPTIONS].join(', ')})`);
  const minimum: Record<IntegerOption, number> = {
    hidden: 1,
    layers: 1,
    batchSize: 2, // a DV or InfoNCE bound of one pair says nothing (InfoNCE's cap log 1 = 0)
    iterations: 1,
    window: 1,
    progressEvery: 1,
    embedding: 1,
  };
  for (const [name, min] of Object.entries(minimum) as Array<[IntegerOption, number]>) {
    const v = opts[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= min))
      throw new Error(`${fn}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  const { learningRate, heldOutFraction, maRate } = opts;
  if (learningRate !== undefined && !(Number.isFinite(learningRate) && learningRate > 0))
    throw new Error(`${fn}: learningRate must be a finite number > 0, got ${learningRate}`);
  if (heldOutFraction !== undefined && !(heldOutFraction > 0 && heldOutFraction < 1))
    throw new Error(`${fn}: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  if (maRate !== undefined && !(maRate > 0 && maRate <= 1))
    throw new Error(`${fn}: maRate must be in (0, 1], got ${maRate}`);
  if (opts.seed !== undefined && !Number.isFinite(opts.seed))
    throw new Error(`${fn}: seed must be a finite number, got ${opts.seed}`);
}

function split(x: tf.Tensor2D, y: tf.Tensor2D, fraction: number, rng: Rng): Split {
  const n = x.shape[0];
  const nHeld = Math.max(2, Math.floor(n * fraction));
  const nTrain = n - nHeld;
  if (nTrain < 2) throw new Error(`n = ${n} examples leave no training split at heldOutFraction ${fraction}`);
  const perm = rng.permutation(n);
  return tf.tidy(() => {
    const tr = tf.tensor1d(perm.slice(0, nTrain), 'int32');
    const he = tf.tensor1d(perm.slice(nTrain), 'int32');
    return {
      xTrain: tf.gather(x, tr),
      yTrain: tf.gather(y, tr),
      xHeld: tf.gather(x, he),
      yHeld: tf.gather(y, he),
      nTrain,
      nHeld,
    };
  });
}

/** DV bound mean(T(joint)) − log mean(exp(T(marginal))), in nats (log-sum-exp for stability). */
function dvBound(tJoint: tf.Tensor, tMarg: tf.Tensor): tf.Scalar {
  const m = tMarg.shape[0];
  return tf.sub<tf.Scalar>(tf.mean(tJoint), tf.sub(tf.logSumExp(tMarg), Math.log(m)));
}

/**
 * MINE estimate of I(x; y) in nats. x [n, p], y [n, q] (rows are paired samples). The statistics
 * network T(x, y) is an MLP on [x, y]; each iteration draws a joint batch and a marginal batch (x and y
 * indexed independently), and ascends the DV bound with the gradient corrected by a moving average of
 * mean(e^T) (rate `maRate`, detached), as in mine.py. Returns numbers, not tensors.
 * Caveats: a lower bound, biased low when the network or the training is too small (see `verdict`)
 * and high when it overfits a small sample (see `overfitGap`); compare estimates only at equal settings.
 */
export function mine(x: tf.Tensor2D, y: tf.Tensor2D, opts: NeuralMiOptions = {}): NeuralMiResult {
  checkRows('mine', { x, y }, 4);
  checkOptions('mine', opts);
  const rng = new Rng(opts.seed ?? 0);
  const iterations = opts.iterations ?? 5000;
  const maRate = opts.maRate ?? 0.01;
  const s = rescaledSplit(x, y, opts.heldOutFraction ?? 0.2, rng.fork('split'));
  const batch = Math.min(opts.batchSize ?? 500, s.nTrain);
  const net = mlp(x.shape[1] + y.shape[1], opts.hidden ?? 64, opts.layers ?? 3, 1, rng.fork('init'), 'mine_statistics');
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-4);
  const sample = new IndexSampler(rng.fork('batches'), s.nTrain);
  const history: number[] = [];
  let ma = 1.0;
  const [p, q] = [x.shape[1], y.shape[1]];
  const xData = s.xTrain.dataSync() as Float32Array;
  const yData = s.yTrain.dataSync() as Float32Array;
  try {
    for (let it = 0; it < iterations; it++) {
      const joint = sample.drawIndices(batch);
      const mx = sample.drawIndices(batch);
      const my = sample.drawIndices(batch);
      // one forward pass over [joint; marginal] rows
      const inp = pairRows(xData, yData, p, q, [
        [joint, joint],
        [mx, my],
      ]);
      let stats: Float32Array | undefined;
      const cost = optimizer.minimize(() => {
        const t = net.apply(inp) as tf.Tensor2D;
        const tJ = tf.slice(t, [0, 0], [batch, 1]);
        const tM = tf.slice(t, [batch, 0], [batch, 1]);
        const et = tf.mean(tf.exp(tM));
        stats = tf.stack([dvBound(tJ, tM), et]).dataSync() as Float32Array;
        const maNext = (1 - maRate) * ma + maRate * stats[1];
        // ∇ of −(mean T_joint − mean e^T_marg / ma): the bias-corrected DV gradient
        return tf.neg(tf.sub(tf.mean(tJ), tf.div(et, maNext))) as tf.Scalar;
      }, true);
      const bound = stats![0];
      const meanEt = stats![1];
      cost?.dispose();
      inp.dispose();
      if (Number.isFinite(bound) && Number.isFinite(meanEt)) {
        ma = (1 - maRate) * ma + maRate * meanEt;
        history.push(bound);
      } else {
        history.push(NaN);
      }
      if (opts.onProgress && (it + 1) % (opts.progressEvery ?? 500) === 0) {
        opts.onProgress(it + 1, mean(history.slice(-Math.min(500, history.length)).filter(Number.isFinite)));
      }
    }
    const window = opts.window ?? Math.max(1, Math.min(500, Math.floor(iterations / 5)));
    const heldOut = tf.tidy(() => {
      // joint = held-out pairs; marginal = y shuffled several times against x
      const tJ = net.apply(tf.concat([s.xHeld, s.yHeld], 1)) as tf.Tensor;
      const margs: tf.Tensor[] = [];
      const shuf = rng.fork('heldout');
      for (let r = 0; r < 10; r++) {
        const p = tf.tensor1d(shuf.permutation(s.nHeld), 'int32');
        margs.push(net.apply(tf.concat([s.xHeld, tf.gather(s.yHeld, p)], 1)) as tf.Tensor);
      }
      return dvBound(tJ, tf.concat(margs, 0)).dataSync()[0];
    });
    return finish('mine', history, window, heldOut, iterations);
  } finally {
    net.dispose();
    optimizer.dispose();
    tf.dispose([s.xTrain, s.yTrain, s.xHeld, s.yHeld]);
  }
}

/** InfoNCE bound mean_i [S_ii − logsumexp_j S_ij] + log N for scores S = g(x) h(y)ᵀ [N, N]. */
function infoNceBound(gx: tf.Tensor2D, hy: tf.Tensor2D): tf.Scalar {
  const n = gx.shape[0];
  const scores = tf.matMul(gx, hy, false, true); // [N, N]
  const diag = tf.sum(tf.mul(gx, hy), 1); // the positive pairs S_ii
  return tf.add<tf.Scalar>(tf.mean(tf.sub(diag, tf.logSumExp(scores, 1))), Math.log(n));
}

/**
 * InfoNCE estimate of I(x; y) in nats with a separable critic g(x)ᵀh(y) (two MLPs, p→hidden→64 and
 * q→hidden→64; default hidden 128), trained with Adam on batches of N = batchSize pairs.
 * The bound can never exceed log N (`cap`); `atCap` says when the estimate is pinned there.
 */
export function infoNce(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: NeuralMiOptions & { embedding?: number } = {},
): InfoNceResult {
  checkRows('infoNce', { x, y }, 4);
  checkOptions('infoNce', opts);
  const rng = new Rng(opts.seed ?? 0);
  const iterations = opts.iterations ?? 1000;
  const s = rescaledSplit(x, y, opts.heldOutFraction ?? 0.2, rng.fork('split'));
  const batch = Math.min(opts.batchSize ?? 500, s.nTrain);
  const hidden = opts.hidden ?? 128;
  const emb = opts.embedding ?? 64;
  const g = mlp(x.shape[1], hidden, opts.layers ?? 1, emb, rng.fork('g'), 'infonce_g');
  const h = mlp(y.shape[1], hidden, opts.layers ?? 1, emb, rng.fork('h'), 'infonce_h');
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-3);
  const sample = new IndexSampler(rng.fork('batches'), s.nTrain);
  const history: number[] = [];
  const bound = (xb: tf.Tensor, yb: tf.Tensor) => infoNceBound(g.apply(xb) as tf.Tensor2D, h.apply(yb) as tf.Tensor2D);
  try {
    for (let it = 0; it < iterations; it++) {
      const idx = sample.draw(batch);
      let value = NaN;
      const cost = optimizer.minimize(() => {
        const b = bound(tf.gather(s.xTrain, idx), tf.gather(s.yTrain, idx));
        value = b.dataSync()[0]!;
        return tf.neg<tf.Scalar>(b);
      }, true);
      cost?.dispose();
      idx.dispose();
      history.push(value);
      if (opts.onProgress && (it + 1) % (opts.progressEvery ?? 200) === 0) {
        opts.onProgress(it + 1, mean(history.slice(-200).filter(Number.isFinite)));
      }
    }
    const window = opts.window ?? Math.max(1, Math.min(200, Math.floor(iterations / 5)));
    // held-out value on batches of the same size N (the bound depends on N)
    const heldN = Math.min(batch, s.nHeld);
    const heldOut = tf.tidy(() => {
      const reps = Math.max(1, Math.floor(s.nHeld / heldN));
      const perm = rng.fork('heldout').permutation(s.nHeld);
      let acc = 0;
      for (let r = 0; r < reps; r++) {
        const p = tf.tensor1d(perm.slice(r * heldN, (r + 1) * heldN), 'int32');
        acc += bound(tf.gather(s.xHeld, p), tf.gather(s.yHeld, p)).dataSync()[0];
      }
      return acc / reps;
    });
    const cap = Math.log(batch);
    const r = finish('infoNce', history, window, heldOut, iterations);
    return { ...r, cap, atCap: r.estimate > cap - 0.05 };
  } finally {
    g.dispose();
    h.dispose();
    optimizer.dispose();
    tf.dispose([s.xTrain, s.yTrain, s.xHeld, s.yHeld]);
  }
}

export interface MiSeedSpread {
  seeds: number[];
  results: NeuralMiResult[];
  /** Mean and sample standard deviation over seeds of the training-window estimate and of the held-out value. */
  estimate: { mean: number; sd: number; min: number; max: number };
  heldOut: { mean: number; sd: number; min: number; max: number };
  /** The verdicts of every seed ('converged' only when all are). */
  verdict: ConvergenceVerdict;
}

function spread(v: number[]): { mean: number; sd: number; min: number; max: number } {
  const m = mean(v);
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)) : NaN;
  return { mean: m, sd, min: Math.min(...v), max: Math.max(...v) };
}

/**
 * The seed-to-seed spread of an estimator: `estimator` (mine or infoNce) run once per seed on the same
 * data and settings (the seed drives the network's initialisation, the split and the batches). Their
 * spread is the estimate's optimisation noise: a difference between two checkpoints smaller than it is
 * not a finding. The verdict is the worst over seeds (overfitting > still-changing > converged).
 */
export function miOverSeeds(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  seeds: number[],
  opts: NeuralMiOptions = {},
  estimator: (x: tf.Tensor2D, y: tf.Tensor2D, o: NeuralMiOptions) => NeuralMiResult = mine,
): MiSeedSpread {
  if (seeds.length < 1) throw new Error('miOverSeeds: give at least one seed');
  const results = seeds.map((seed) => estimator(x, y, { ...opts, seed }));
  const verdicts = results.map((r) => r.verdict);
  return {
    seeds,
    results,
    estimate: spread(results.map((r) => r.estimate)),
    heldOut: spread(results.map((r) => r.heldOut)),
    verdict: verdicts.includes('overfitting')
      ? 'overfitting'
      : verdicts.includes('still-changing')
        ? 'still-changing'
        : 'converged',
  };
}
