/**
 * The distance-correlation family (Székely, Rizzo & Bakirov 2007; Székely & Rizzo 2014), matched
 * against R's `energy` package (test/golden/dcor.json).
 *
 * Every quantity is an inner product of double-centred (V) or U-centred (U) distance matrices of
 * a pair of inputs. Two paths:
 * - full (n ≤ `FULL_PATH_MAX_N`, default): the n×n distance matrices, differentiable.
 * - blocked (larger n, or `method: 'blocked'`): row blocks of the distance matrices, in two passes
 *   (row sums, then centred blocks); sums are accumulated in float64 and no n×n matrix ever exists. Memory is O(blockRows · n), so
 *   n = 50,000 examples fit in well under 2 GiB. The result is a constant (not differentiable).
 *
 * Crossover: the full path holds ~4 n×n float32 matrices per input at its peak (64 MiB each at
 * n = 4096, 1 GiB each at n = 16,384): it is used up to n = 4096 and the blocked path above, where
 * its cost is the same O(n²p) but its peak memory stays ~10 · blockRows · n · 4 bytes per input.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';
import { checkRows } from './validate';
import { BOTTOM, TOP, rescaleExponent, scaleBack, timesPow2, type Window } from './magnitude';
import {
  EXACT_MAX_DIM,
  centerColumns,
  euclideanDistances,
  doubleCentre,
  ROW_NORM_FLOOR,
  normalizeRows,
  safeSqrt,
  squaredDistances,
  uCentre,
  zeroBlockDiagonal,
} from './distance';

/** Largest n for which the full n×n path is used by default. */
export const FULL_PATH_MAX_N = 4096;
/** 1 − R*² below this is treated as exact collinearity (pdcor's denominator taken as 0). */
export const COLLINEAR_EPS = 1e-5;

export interface DcorOptions {
  /** 'auto' (default): full up to FULL_PATH_MAX_N examples, blocked above. */
  method?: 'auto' | 'full' | 'blocked';
  /** Rows per block on the blocked path (default: about 8M distance entries per block). */
  blockRows?: number;
}

/**
 * The magnitude window (magnitude.ts) of one input of the distance-correlation family, n rows and p
 * columns. With c its largest centred entry, every row lies within r = c·√p of the column means:
 * distances are ≤ 2r, double- or U-centred entries ≤ 16r (U-centring at n = 4 is the worst case),
 * their products summed over the n² pairs ≤ 2^8·n²·r², and a self-term (dVar², ⟨Ã, Ã⟩/(n(n−3)))
 * ≤ 2^10·r². Overflow: the sums stay ≤ 2^TOP and a self-term ≤ 2^(TOP/2), so that the product of two
 * self-terms under the square root of dcor2 and R* does too. Underflow: a self-term is at least of
 * the order of c²/n² (one row at distance c from n − 1 coincident rows gives 4c²/n²), kept
 * ≥ 2^(BOTTOM/2) for the same product.
 */
export function dcorWindow(n: number, p: number): Window {
  const logN = Math.log2(n);
  const logRootP = Math.log2(p) / 2;
  return {
    lo: logN + BOTTOM / 4,
    hi: Math.min((TOP / 2 - 10) / 2 - logRootP, (TOP - 8) / 2 - logN - logRootP),
  };
}

/**
 * The window of rowNormalize's input, measured on its largest entry M (rows are not centred): row
 * norms² ≤ p·M² stay ≤ 2^TOP, and M ≥ 2^20 · ROW_NORM_FLOOR keeps rows down to 2^-20 of the largest
 * clear of the floor below which a row is divided by the floor instead of its norm.
 */
function rowNormalizeWindow(p: number): Window {
  return { lo: Math.log2(ROW_NORM_FLOOR) + 20, hi: TOP / 2 - Math.log2(p) / 2, raw: true };
}

interface PairStats {
  n: number;
  /** V-statistic ⟨A, B⟩ (double-centred, biased) of inputs i and j. */
  v(i: number, j: number): tf.Scalar;
  /** U-statistic ⟨Ã, B̃⟩ (U-centred, unbiased) of inputs i and j. */
  u(i: number, j: number): tf.Scalar;
}

/** Float64 inner products of the centred distance matrices, over row blocks (two passes). */
function blockedInnerProducts(xs: tf.Tensor2D[], blockRows?: number): { V: number[][]; U: number[][] } {
  const n = xs[0].shape[0];
  const k = xs.length;
  const block = Math.max(1, Math.min(n, blockRows ?? Math.floor(8_000_000 / n)));
  const V = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const U = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const centred = xs.map((x) => tf.tidy(() => centerColumns(x)));
  // per input, made once: the transposed features and the squared row norms, so that each block's
  // Gram product is a plain [size, p] × [p, n] matmul (no per-block transpose of the whole input)
  const gram = centred.map((xc) =>
    xc.shape[1] > EXACT_MAX_DIM
      ? tf.tidy(() => ({
          t: tf.transpose<tf.Tensor2D>(xc),
          sq: tf.reshape<tf.Rank.R2>(tf.sum(tf.square(xc), 1), [1, -1]),
        }))
      : undefined,
  );
  const distBlock = (i: number, start: number, size: number) => {
    const rows = tf.slice(centred[i], [start, 0], [size, -1]);
    const g = gram[i];
    const d2 = g
      ? (tf.relu(
          tf.sub(
            tf.add(tf.reshape(tf.slice(g.sq, [0, start], [1, size]), [-1, 1]), g.sq),
            tf.mul(2, tf.matMul(rows, g.t)),
          ),
        ) as tf.Tensor2D)
      : squaredDistances(rows, centred[i]);
    return safeSqrt(zeroBlockDiagonal(d2, start)) as tf.Tensor2D;
  };
  const rowSums = xs.map(() => new Float64Array(n));
  const sumRows = (m: tf.Tensor2D) => tf.sum(m, 1).dataSync() as Float32Array;
  const total = (a: Float32Array) => a.reduce((acc, v) => acc + v, 0);
  try {
    // pass 1: row sums of every distance matrix
    for (let start = 0; start < n; start += block) {
      const size = Math.min(block, n - start);
      tf.tidy(() => {
        for (let i = 0; i < k; i++) rowSums[i].set(sumRows(distBlock(i, start, size)), start);
      });
    }
    const totals = rowSums.map((r) => r.reduce((a, b) => a + b, 0));
    const rowTensors = rowSums.map((r) => tf.tensor1d(Float32Array.from(r)));
    try {
      // pass 2: centred blocks and their inner products (per-row float32 sums, float64 across rows)
      for (let start = 0; start < n; start += block) {
        const size = Math.min(block, n - start);
        tf.tidy(() => {
          const vc: tf.Tensor2D[] = [];
          const uc: tf.Tensor2D[] = [];
          for (let i = 0; i < k; i++) {
            const d = distBlock(i, start, size);
            const rows = tf.slice(rowTensors[i], [start], [size]);
            vc.push(doubleCentre(d, rows, rowTensors[i], totals[i], n));
            uc.push(uCentre(d, rows, rowTensors[i], totals[i], n, start));
          }
          for (let i = 0; i < k; i++) {
            for (let j = i; j < k; j++) {
              V[i][j] += total(sumRows(tf.mul(vc[i], vc[j])));
              U[i][j] += total(sumRows(tf.mul(uc[i], uc[j])));
            }
          }
        });
      }
    } finally {
      tf.dispose(rowTensors);
    }
  } finally {
    tf.dispose(centred);
    tf.dispose(gram.flatMap((g) => (g ? [g.t, g.sq] : [])));
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      V[i][j] = V[j][i]!;
      U[i][j] = U[j][i]!;
    }
  }
  return { V, U };
}

/**
 * Runs `body` with V/U statistics of every pair of `xs`, on the full or the blocked path.
 * Both paths form the centred matrices explicitly before taking inner products: summing products
 * of centred entries keeps far more float32 digits than the equivalent raw-sum formula
 * (S/n² − 2R/n³ + T/n⁴), which cancels terms ~n times larger than the result.
 * An input whose magnitude is outside `dcorWindow` is used scaled by a power of two 2^k; the result is
 * homogeneous of degree `degrees[i]` in input i and is multiplied back by 2^−Σ degrees[i]·k[i]
 * (`scaleBack`: an error when that leaves float32's range). Returns a new scalar owned by the caller.
 */
function withPairStats(
  fn: string,
  xs: tf.Tensor2D[],
  opts: DcorOptions,
  degrees: number[],
  body: (st: PairStats) => tf.Scalar,
): tf.Scalar {
  const n = xs[0].shape[0];
  const method = opts.method ?? 'auto';
  if (!['auto', 'full', 'blocked'].includes(method))
    throw new Error(`unknown method '${method}'; valid: auto, full, blocked`);
  const blocked = method === 'blocked' || (method === 'auto' && n > FULL_PATH_MAX_N);
  const ks = xs.map((x) => rescaleExponent(x, dcorWindow(n, x.shape[1])));
  const back = -ks.reduce((acc, k, i) => acc + degrees[i] * k, 0);
  if (!blocked) {
    const s = tf.tidy(() => {
      // the power-of-two scale is a constant of the graph: gradients flow through it exactly
      const d = xs.map((x, i) => euclideanDistances(timesPow2(x, ks[i])));
      const r = d.map((di) => tf.sum<tf.Tensor1D>(di, 1));
      const t = r.map((ri) => tf.sum<tf.Scalar>(ri));
      const vc = new Map<number, tf.Tensor2D>();
      const uc = new Map<number, tf.Tensor2D>();
      const vC = (i: number) => vc.get(i) ?? vc.set(i, doubleCentre(d[i], r[i], r[i], t[i], n)).get(i)!;
      const uC = (i: number) => uc.get(i) ?? uc.set(i, uCentre(d[i], r[i], r[i], t[i], n)).get(i)!;
      const memo = new Map<string, tf.Scalar>();
      const get = (kind: 'v' | 'u', i: number, j: number) => {
        const key = `${kind}${Math.min(i, j)},${Math.max(i, j)}`;
        let s = memo.get(key);
        if (!s) {
          s =
            kind === 'v'
              ? tf.div<tf.Scalar>(tf.sum(tf.mul(vC(i), vC(j))), n * n)
              : tf.div<tf.Scalar>(tf.sum(tf.mul(uC(i), uC(j))), n * (n - 3));
          memo.set(key, s);
        }
        return s;
      };
      return body({ n, v: (i, j) => get('v', i, j), u: (i, j) => get('u', i, j) });
    });
    return scaleBack(fn, s, back);
  }
  const scaled = xs.map((x, i) => timesPow2(x, ks[i]));
  let products: { V: number[][]; U: number[][] };
  try {
    products = blockedInnerProducts(scaled, opts.blockRows);
  } finally {
    tf.dispose(scaled.filter((t, i) => t !== xs[i]));
  }
  const { V, U } = products;
  const s = tf.tidy(() =>
    body({
      n,
      v: (i, j) => tf.scalar(V[i][j] / (n * n)),
      u: (i, j) => tf.scalar(U[i][j] / (n * (n - 3))),
    }),
  );
  return scaleBack(fn, s, back);
}

/**
 * A copy of t outside the gradient tape. Conditions of `where` must come from one: tfjs has no
 * gradient for comparison ops and fails when a comparison's input is differentiated.
 */
function detached(t: tf.Tensor): tf.Tensor {
  return tf.tensor(t.dataSync(), t.shape, t.dtype);
}

/** a / b where b > 0, else 0; finite gradients either way. */
function ratioOrZero(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const pos = tf.greater(detached(b), 0);
  return tf.where(pos, tf.div(a, tf.where(pos, b, tf.onesLike(b))), tf.zerosLike(a)) as tf.Scalar;
}

/**
 * Squared distance covariance, V-statistic (biased, ≥ 0): dCov²_n(x, y) = mean(A∘B) with A, B the
 * double-centred distance matrices. Equals `energy::dcov(x, y)^2` (energy's `dcov` is the root).
 * dcov2(cx, dy) = |c|·|d|·dcov2(x, y): inputs of any magnitude give it exactly, and a value beyond
 * float32's range is an error. @param x [n, p], @param y [n, q], rows are examples, n ≥ 2.
 * @returns scalar ≥ 0 (up to rounding), new tensor owned by the caller; differentiable on the full path.
 */
export function dcov2(x: tf.Tensor2D, y: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('dcov2', { x, y }, 2);
  return withPairStats('dcov2', [x, y], opts, [1, 1], (st) => st.v(0, 1));
}

/**
 * Squared distance correlation R_n², V-statistic: dCov²(x,y) / sqrt(dVar²(x) dVar²(y)), in [0, 1].
 * 0 when a distance variance is 0 (a constant input). Equals `energy::dcor(x,y)^2` and the official
 * PDC repo's `Distance_Correlation` (which is R², whatever its name says) up to its 1e-12/1e-9 epsilons.
 * `rowNormalize: true` first divides each row by its L2 norm, as the official diverge-training loss
 * (Diverge_Training/DC_criterion.py) does: that is not a distance correlation of the raw inputs.
 * @param x [n, p], @param y [n, q], n ≥ 2. @returns scalar, new tensor owned by the caller.
 */
export function dcor2(x: tf.Tensor2D, y: tf.Tensor2D, opts: DcorOptions & { rowNormalize?: boolean } = {}): tf.Scalar {
  checkRows('dcor2', { x, y }, 2);
  const run = (a: tf.Tensor2D, b: tf.Tensor2D) =>
    withPairStats('dcor2', [a, b], opts, [0, 0], (st) =>
      ratioOrZero(tf.relu(st.v(0, 1)), safeSqrt(tf.relu(tf.mul(st.v(0, 0), st.v(1, 1))))),
    );
  if (!opts.rowNormalize) return run(x, y);
  // rows divided by their norms do not depend on the inputs' scale: a power of two outside the
  // window keeps the squared norms finite and the rows clear of the floor
  const [xn, yn] = [x, y].map((t) => {
    const scaled = timesPow2(t, rescaleExponent(t, rowNormalizeWindow(t.shape[1])));
    const normalized = normalizeRows(scaled);
    if (scaled !== t) scaled.dispose();
    return normalized;
  });
  try {
    return run(xn, yn);
  } finally {
    tf.dispose([xn, yn]);
  }
}

/**
 * Distance correlation R_n, V-statistic, NOT squared (= `energy::dcor(x, y)`), in [0, 1];
 * 0 when a distance variance is 0. @returns scalar, new tensor owned by the caller.
 */
export function dcor(x: tf.Tensor2D, y: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('dcor', { x, y }, 2);
  const r2 = dcor2(x, y, opts);
  const r = tf.tidy(() => safeSqrt(tf.relu(r2)) as tf.Scalar);
  r2.dispose();
  return r;
}

/**
 * Unbiased squared distance covariance ⟨Ã, B̃⟩ (U-statistic on U-centred matrices; can be negative).
 * Equals `energy::dcovU(x, y)`. Scales as dcov2 (a value beyond float32's range is an error). Needs
 * n ≥ 4. @returns scalar, new tensor owned by the caller.
 */
export function dcovU(x: tf.Tensor2D, y: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('dcovU', { x, y }, 4);
  return withPairStats('dcovU', [x, y], opts, [1, 1], (st) => st.u(0, 1));
}

function rStar(st: PairStats, i: number, j: number): tf.Scalar {
  return ratioOrZero(st.u(i, j), safeSqrt(tf.relu(tf.mul(st.u(i, i), st.u(j, j)))));
}

/**
 * Bias-corrected distance correlation R*_n = ⟨Ã,B̃⟩ / sqrt(⟨Ã,Ã⟩⟨B̃,B̃⟩) (Székely & Rizzo 2014).
 * It estimates R² (squared scale) and can be negative. Equals `energy::bcdcor` and the official
 * repo's `New_DC`. 0 when a denominator is 0. Needs n ≥ 4.
 */
export function bcdcor(x: tf.Tensor2D, y: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('bcdcor', { x, y }, 4);
  return withPairStats('bcdcor', [x, y], opts, [0, 0], (st) => rStar(st, 0, 1));
}

function projectedU(st: PairStats, i: number, j: number, z: number): tf.Scalar {
  // ⟨P⊥z Ui, P⊥z Uj⟩ = ⟨Ui,Uj⟩ − ⟨Ui,C̃⟩⟨Uj,C̃⟩/⟨C̃,C̃⟩; the projection is 0 when ⟨C̃,C̃⟩ = 0
  return tf.sub<tf.Scalar>(st.u(i, j), ratioOrZero(tf.mul(st.u(i, z), st.u(j, z)), st.u(z, z)));
}

/**
 * Partial distance covariance pdCov(x, y; z) = ⟨P⊥z Ã, P⊥z B̃⟩ (Székely & Rizzo 2014). Equals
 * `energy::pdcov`. Scales as |c|·|d| under (cx, dy), not with z (a value beyond float32's range is an
 * error). Needs n ≥ 4. @returns scalar, new tensor owned by the caller.
 */
export function pdcov(x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('pdcov', { x, y, z }, 4);
  return withPairStats('pdcov', [x, y, z], opts, [1, 1, 0], (st) => projectedU(st, 0, 1, 2));
}

/**
 * Partial distance correlation R*(x, y; z) = (R*xy − R*xz R*yz) / sqrt((1 − R*xz²)(1 − R*yz²)), with
 * R* = bcdcor: both x and y are residualised on z. Equals `energy::pdcor`. 0 when the denominator is
 * 0 (z collinear with x or y in the U-centred space: 1 − R*² < COLLINEAR_EPS). Needs n ≥ 4.
 * Caveat: pdcor = 0 does not imply conditional independence of x and y given z.
 */
export function pdcor(x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('pdcor', { x, y, z }, 4);
  return withPairStats('pdcor', [x, y, z], opts, [0, 0, 0], (st) => {
    const clip = (r: tf.Scalar) => tf.clipByValue(r, -1, 1);
    const rxy = clip(rStar(st, 0, 1));
    const rxz = clip(rStar(st, 0, 2));
    const ryz = clip(rStar(st, 1, 2));
    const fx = tf.sub(1, tf.square(rxz));
    const fy = tf.sub(1, tf.square(ryz));
    const ok = tf.logicalAnd(tf.greater(detached(fx), COLLINEAR_EPS), tf.greater(detached(fy), COLLINEAR_EPS));
    const den = tf.where(ok, safeSqrt(tf.mul(fx, fy)), tf.onesLike(fx));
    return tf.where(ok, tf.div(tf.sub(rxy, tf.mul(rxz, ryz)), den), tf.zerosLike(fx)) as tf.Scalar;
  });
}

/**
 * Semi-partial distance correlation: z is removed from x only, then correlated with y:
 * ⟨P⊥z Ã, B̃⟩ / (‖P⊥z Ã‖ ‖B̃‖) = pdcor(x, y; z) · sqrt(1 − R*(y, z)²). This is the official PDC repo's
 * `P_DC(x, z, y)` (Partial_DC.py; note the argument order there), the quantity Table 2 of Zhen et al.
 * (ECCV 2022) reports as R²(X|Y, GT). On the R² scale, can be negative; 0 when x is collinear with z.
 * Needs n ≥ 4.
 */
export function semipartialDcor(x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor2D, opts: DcorOptions = {}): tf.Scalar {
  checkRows('semipartialDcor', { x, y, z }, 4);
  return withPairStats('semipartialDcor', [x, y, z], opts, [0, 0, 0], (st) => {
    const num = projectedU(st, 0, 1, 2);
    const resid = projectedU(st, 0, 0, 2); // ‖P⊥z Ã‖²
    const ok = detached(tf.logicalAnd(tf.greater(resid, tf.mul(COLLINEAR_EPS, st.u(0, 0))), tf.greater(st.u(1, 1), 0)));
    const den = tf.where(ok, safeSqrt(tf.mul(resid, st.u(1, 1))), tf.onesLike(resid));
    return tf.where(ok, tf.div(num, den), tf.zerosLike(resid)) as tf.Scalar;
  });
}

export interface DcorTestResult {
  /** R_n (V-statistic distance correlation, not squared) of the observed pairing. */
  statistic: number;
  /** (1 + #{permutations with dCov² ≥ observed}) / (1 + permutations). */
  pValue: number;
  permutations: number;
}

/**
 * Permutation test of independence (as `energy::dcor.test`): rows of y are permuted, the V-statistic
 * dCov² recomputed (the distance variances do not change), and the p-value counts permutations at
 * least as large as the observed one. Full path only (n ≤ FULL_PATH_MAX_N). Seeded.
 */
export function dcorTest(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: { permutations?: number; seed?: number } = {},
): DcorTestResult {
  const n = checkRows('dcorTest', { x, y }, 2);
  if (n > FULL_PATH_MAX_N) throw new Error(`dcorTest: n = ${n} exceeds ${FULL_PATH_MAX_N}; subsample first`);
  const permutations = opts.permutations ?? 999;
  if (!Number.isInteger(permutations) || permutations < 1)
    throw new Error(`dcorTest: permutations must be a positive integer, got ${permutations}`);
  const rng = new Rng(opts.seed ?? 0);
  // the statistic and the p-value are scale invariant: inputs outside the window are used scaled by 2^k
  const [xs, ys] = [x, y].map((t) => timesPow2(t, rescaleExponent(t, dcorWindow(n, t.shape[1]))));
  const statistic = tf.tidy(() => dcor(xs, ys).dataSync()[0]);
  // double-centring commutes with permuting rows and columns together: dCov²(x, y∘π) = mean(A ∘ B[π, π])
  const [a, b] = tf.tidy(() => {
    const centred = [xs, ys].map((t) => {
      const d = euclideanDistances(t);
      const r = tf.sum<tf.Tensor1D>(d, 1);
      return doubleCentre(d, r, r, tf.sum<tf.Scalar>(r), n);
    });
    return centred as [tf.Tensor2D, tf.Tensor2D];
  });
  if (xs !== x) xs.dispose();
  if (ys !== y) ys.dispose();
  try {
    const observed = tf.tidy(() => tf.mean(tf.mul(a, b)).dataSync()[0]);
    let atLeast = 0;
    for (let k = 0; k < permutations; k++) {
      const perm = rng.permutation(n);
      const v = tf.tidy(() => {
        const idx = tf.tensor1d(perm, 'int32');
        return tf.mean(tf.mul(a, tf.gather(tf.gather(b, idx, 0), idx, 1))).dataSync()[0];
      });
      // relative slack: a permutation equal to the observed one up to float32 rounding counts as ≥
      if (v >= observed - 1e-6 * Math.abs(observed)) atLeast++;
    }
    return { statistic, pValue: (1 + atLeast) / (1 + permutations), permutations };
  } finally {
    tf.dispose([a, b]);
  }
}
