/**
 * Euclidean distance matrices and the sums the distance-correlation family is built from.
 *
 * float32 traps handled here (each one measured against the float64 references in test/golden):
 * - Gram-trick distances ‖xi‖² + ‖xj‖² − 2xi·xj cancel badly when features have large means
 *   (ReLU outputs): columns are centred first, squared distances clamped at 0 and the diagonal
 *   zeroed exactly.
 * - For p ≤ EXACT_MAX_DIM the distances are computed column by column as Σ(xik − xjk)², which is
 *   exact up to rounding and never builds an n×n×p tensor.
 * - sqrt has an infinite gradient at 0 (coincident rows): `safeSqrt`'s gradient is 0 there.
 */
import * as tf from '@tensorflow/tfjs';
import { checkRows } from './validate';
import { BOTTOM, TOP, rescaleExponent, scaleBackMatrix, timesPow2 } from './magnitude';

/** Below this many columns, distances are summed per column instead of by the Gram trick. */
export const EXACT_MAX_DIM = 4;

/** sqrt whose gradient is 0 (not ∞) where the input is 0. */
export const safeSqrt: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const value = tf.sqrt(x);
  save([value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const v = saved[0];
      const pos = tf.greater(v, 0);
      return tf.where(pos, tf.div(dy, tf.mul(2, tf.where(pos, v, tf.onesLike(v)))), tf.zerosLike(v));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** x with each column's mean subtracted. [n, p] */
export function centerColumns(x: tf.Tensor2D): tf.Tensor2D {
  // column means as a product (1/n)·1ᵀX: a column reduction is a transpose + reduce on wasm, ~5x slower
  return tf.tidy(() => {
    const n = x.shape[0];
    return tf.sub<tf.Tensor2D>(x, tf.matMul(tf.fill([1, n], 1 / n), x));
  });
}

/** torch's F.normalize eps: a row with a smaller norm is divided by this instead. */
export const ROW_NORM_FLOOR = 1e-12;

/** Rows divided by max(‖row‖₂, ROW_NORM_FLOOR), like torch's F.normalize (the official diverge loss). */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div<tf.Tensor2D>(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), ROW_NORM_FLOOR)));
}

/**
 * Squared Euclidean distances between the rows of `a` [m, p] and of `b` [n, p], clamped at 0.
 * Callers centre both with the same column means first (distances are translation invariant).
 */
export function squaredDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const p = a.shape[1];
  if (p <= EXACT_MAX_DIM) {
    let acc: tf.Tensor2D | undefined;
    for (let k = 0; k < p; k++) {
      const ak = tf.slice(a, [0, k], [-1, 1]); // [m, 1]
      const bk = tf.reshape(tf.slice(b, [0, k], [-1, 1]), [1, -1]); // [1, n]
      const d = tf.square(tf.sub(ak, bk)) as tf.Tensor2D;
      acc = acc ? tf.add<tf.Tensor2D>(acc, d) : d;
    }
    return acc ?? tf.zeros<tf.Rank.R2>([a.shape[0], b.shape[0]]);
  }
  const na = tf.sum(tf.square(a), 1, true); // [m, 1]
  const nb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]); // [1, n]
  const g = tf.matMul(a, b, false, true); // [m, n]
  return tf.relu(tf.sub(tf.add(na, nb), tf.mul(2, g))) as tf.Tensor2D;
}

/** Multiplies away the entries (r, offset + r): the diagonal of a row block starting at `offset`. */
export function zeroBlockDiagonal(m: tf.Tensor2D, offset: number): tf.Tensor2D {
  const [rows, cols] = m.shape;
  const mask = tf.oneHot(tf.range(offset, offset + rows, 1, 'int32'), cols); // [rows, cols]
  return tf.mul<tf.Tensor2D>(m, tf.sub(1, mask));
}

/**
 * The n×n Euclidean distance matrix of the rows of x (diagonal exactly 0); x finite, n ≥ 1. Inputs
 * whose squared distances would leave float32's range are scaled by a power of two and the distances
 * scaled back; an error when the largest distance itself does not fit.
 */
export function distanceMatrix(x: tf.Tensor2D): tf.Tensor2D {
  checkRows('distanceMatrix', { x }, 1);
  // squared distances ≤ 4·c²·p ≤ 2^TOP; the largest of them ≥ c² ≥ 2^BOTTOM
  const k = rescaleExponent(x, { lo: BOTTOM / 2, hi: (TOP - 2) / 2 - Math.log2(x.shape[1]) / 2 });
  if (k === 0) return euclideanDistances(x);
  const scaled = timesPow2(x, k);
  const d = euclideanDistances(scaled);
  scaled.dispose();
  return scaleBackMatrix('distanceMatrix', d, -k);
}

/** distanceMatrix without the input checks (callers have checked). */
export function euclideanDistances(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xc = centerColumns(x);
    return safeSqrt(zeroBlockDiagonal(squaredDistances(xc, xc), 0)) as tf.Tensor2D;
  });
}

/**
 * Double-centred distance matrix (V-statistics): Aij = aij − ai·/n − a·j/n + a··/n², from row sums
 * `rowSums` [m] of the block's rows, `colSums` [n] of all rows and the total; `a` may be a row block
 * [m, n] of a symmetric matrix (then colSums are the full matrix's row sums).
 */
export function doubleCentre(
  a: tf.Tensor2D,
  rowSums: tf.Tensor1D,
  colSums: tf.Tensor1D,
  total: tf.Scalar | number,
  n: number,
): tf.Tensor2D {
  return tf.tidy(() =>
    tf.add<tf.Tensor2D>(
      tf.sub(tf.sub(a, tf.div(tf.reshape(rowSums, [-1, 1]), n)), tf.div(tf.reshape(colSums, [1, -1]), n)),
      tf.div(total, n * n),
    ),
  );
}

/**
 * U-centred distance matrix (Székely & Rizzo 2014): Ãij = aij − ai·/(n−2) − a·j/(n−2) + a··/((n−1)(n−2))
 * off the diagonal, 0 on it (`offset`: the first row's index when `a` is a row block).
 */
export function uCentre(
  a: tf.Tensor2D,
  rowSums: tf.Tensor1D,
  colSums: tf.Tensor1D,
  total: tf.Scalar | number,
  n: number,
  offset = 0,
): tf.Tensor2D {
  return tf.tidy(() =>
    zeroBlockDiagonal(
      tf.add<tf.Tensor2D>(
        tf.sub(tf.sub(a, tf.div(tf.reshape(rowSums, [-1, 1]), n - 2)), tf.div(tf.reshape(colSums, [1, -1]), n - 2)),
        tf.div(total, (n - 1) * (n - 2)),
      ),
      offset,
    ),
  );
}
