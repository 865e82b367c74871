/**
 * Power-of-two rescaling, for inputs whose magnitude would overflow or underflow a statistic's float32
 * intermediates (squared distances, Gram products, the product of two self-terms under a square root).
 *
 * Why a power of two: x·2^k has the mantissas of x, and every operation the statistics are built from
 * (+, −, ×, ÷ by constants, sqrt, sums, matrix products, rounding float64 to float32) commutes with it
 * exactly while no value leaves the normal float32 range. So a scale-invariant statistic (dCor², R*,
 * pdcor, CKA, RBF HSIC with its median bandwidth) computed on x·2^k equals, bit for bit, what float32
 * with an unbounded exponent would give on x; a homogeneous one (dcov2 ∝ |c|·|d| under (cx, dy), linear
 * HSIC ∝ c²d²) is recovered exactly by multiplying its result back by a power of two.
 *
 * When: only when an input's largest centred entry c = max |x − column means| lies outside the
 * statistic's window, the log2 range of c in which its intermediates provably stay within
 * [2^BOTTOM, 2^TOP] for the input's n and p (each window derives its bounds). Inside the window the
 * input is used as given and nothing changes; outside, it is scaled so that c ∈ [1, 2). The max is
 * exact (a float32 max of |·| rounds nothing) and costs one pass and one scalar read per input.
 * Constant inputs (c = 0) are never rescaled: their defined results (0) stay as they are.
 */
import * as tf from '@tensorflow/tfjs';

/** log2 of the largest intermediate a window allows: 2^4 below the largest finite float32. */
export const TOP = 124;
/**
 * log2 of the smallest intermediate a window lets a sum depend on: the smallest normal float32
 * (2^-126) times 2^24 (1/ulp), so entries that fall below the normal range weigh less in a sum than
 * its own float32 rounding.
 */
export const BOTTOM = -102;
/** Largest finite float32. */
export const FLOAT32_MAX = (2 - 2 ** -23) * 2 ** 127;
/** Smallest normal float32: results below it (subnormal) have lost digits. */
export const FLOAT32_MIN_NORMAL = 2 ** -126;
/** Inputs whose largest |entry| is beyond 2^±RAW_LIMIT are scaled before they are even centred. */
const RAW_LIMIT = 120;
/** Multiplications by 2^k are split into steps of at most 2^±STEP (2^k must be a float32 itself). */
const STEP = 100;

/** log2 bounds on an input's largest centred entry c (or largest entry, `raw`) inside which it is used as given. */
export interface Window {
  lo: number;
  hi: number;
  /** Measure the largest |entry| itself, not the centred one (for inputs used without centring). */
  raw?: boolean;
}

/** floor(log2 v), exactly, for a finite v > 0. */
export function exponentOf(v: number): number {
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  return e;
}

/** t·2^k, exact in float32 while the values stay normal; t itself (not a copy) when k = 0. */
export function timesPow2<T extends tf.Tensor>(t: T, k: number): T {
  if (k === 0) return t;
  return tf.tidy(() => {
    let out: tf.Tensor = t;
    for (let rest = k; rest !== 0;) {
      const step = Math.max(-STEP, Math.min(STEP, rest));
      out = tf.mul(out, 2 ** step);
      rest -= step;
    }
    return out as T;
  });
}

/** max |x| and max |x − column means| of x (any rank, examples on axis 0), in one read. */
function magnitudes(x: tf.Tensor): [number, number] {
  const m = tf.tidy(() => {
    const flat = tf.reshape<tf.Rank.R2>(x, [x.shape[0], -1]);
    // a measurement only: the column means need not be rounded as the statistics' centring rounds them
    return tf.stack([tf.max(tf.abs(flat)), tf.max(tf.abs(tf.sub(flat, tf.mean(flat, 0, true))))]);
  });
  const [largest, centred] = m.dataSync();
  m.dispose();
  return [largest, centred];
}

/**
 * The exponent k to use x·2^k with (0: x as given) for a statistic whose window is `window`: 0 when x
 * is constant or its largest centred entry lies in [2^lo, 2^hi]; else the k that brings it to [1, 2).
 * x must be finite (callers have checked).
 */
export function rescaleExponent(x: tf.Tensor, window: Window): number {
  const [largest, centred] = magnitudes(x);
  if (largest === 0) return 0;
  let k = 0;
  let c = window.raw ? largest : centred;
  if (!window.raw && (largest > 2 ** RAW_LIMIT || largest < 2 ** -RAW_LIMIT)) {
    // centring itself would overflow (|x − mean| up to 2·max) or work in subnormals: scale first
    k = -exponentOf(largest);
    const scaled = timesPow2(x, k);
    c = magnitudes(scaled)[1];
    scaled.dispose();
  }
  if (c === 0) return k; // constant columns: their defined result is kept
  const e = exponentOf(c); // c ∈ [2^e, 2^(e+1))
  if (e >= window.lo && e + 1 <= window.hi) return k;
  return k - e;
}

/**
 * A result computed on rescaled inputs, multiplied back by 2^e (differentiably), or an error when the
 * true value is not a normal float32: a statistic that overflows or underflows is refused, never
 * returned as ±Infinity, 0 or a subnormal. Takes ownership of `s`. e = 0: `s` itself.
 */
export function scaleBack(fn: string, s: tf.Scalar, e: number): tf.Scalar {
  if (e === 0) return s;
  const scaled = s.dataSync()[0];
  const value = scaled * 2 ** e; // float64: exact for any float32 `scaled` and |e| < 800
  if (
    !Number.isFinite(scaled) ||
    Math.abs(value) > FLOAT32_MAX ||
    (value !== 0 && Math.abs(value) < FLOAT32_MIN_NORMAL)
  ) {
    s.dispose();
    throw new Error(
      `${fn}: the result is ${value.toExponential(3)}, outside the range of float32 numbers ` +
        `(${FLOAT32_MIN_NORMAL.toExponential(2)} to ${FLOAT32_MAX.toExponential(2)} in magnitude) that a tf.Scalar can hold; ` +
        `rescale the inputs (it scales as a power of their magnitudes)`,
    );
  }
  const out = timesPow2(s, e);
  s.dispose();
  return out;
}

/**
 * A matrix computed on rescaled inputs multiplied back by 2^e, or an error when its largest entry
 * would not be a normal float32 (the matrix would hold ±Infinity, or be all zeros and subnormals).
 * Takes ownership of `m`.
 */
export function scaleBackMatrix<T extends tf.Tensor>(fn: string, m: T, e: number): T {
  if (e === 0) return m;
  const largest = tf.tidy(() => tf.max(tf.abs(m)).dataSync()[0]) * 2 ** e;
  if (largest > FLOAT32_MAX || (largest !== 0 && largest < FLOAT32_MIN_NORMAL)) {
    m.dispose();
    throw new Error(
      `${fn}: its largest entry is ${largest.toExponential(3)}, outside the range of float32 numbers ` +
        `(${FLOAT32_MIN_NORMAL.toExponential(2)} to ${FLOAT32_MAX.toExponential(2)} in magnitude); rescale the input`,
    );
  }
  const out = timesPow2(m, e);
  m.dispose();
  return out;
}
