/**
 * HSIC and centred kernel alignment (CKA; Kornblith et al., ICML 2019), matched against torch_cka
 * and an independent float64 reference (test/golden/cka.json).
 *
 * Conventions (Kornblith's Demo.ipynb):
 * - biased HSIC_0(K, L) = tr(K H L H) / (n−1)², H = I − 11ᵀ/n;
 * - unbiased HSIC_1 (Song et al. 2012) = [tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1)/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)),
 *   K̃, L̃ = K, L with zero diagonal (= torch_cka's `_HSIC`); can be negative; needs n ≥ 4;
 * - RBF kernel K = exp(−D²/(2σ²)) with σ = threshold · sqrt(median of the full n×n squared-distance
 *   matrix, its zero diagonal included), computed separately for x and y; the bandwidth is a constant
 *   for the gradient.
 * Features are column-centred before any Gram product: with large feature means (ReLU outputs)
 * float32 Grams otherwise lose most of their digits (test/golden/cka.json, case translate_n64).
 * Caveat: CKA depends on the number of examples n (the biased estimate is inflated when n is small
 * against the feature dimension); compare values computed with the same n.
 */
import * as tf from '@tensorflow/tfjs';
import { checkFinite, checkRows } from './validate';
import { centerColumns, squaredDistances, uCentre, zeroBlockDiagonal } from './distance';
import { BOTTOM, TOP, rescaleExponent, scaleBack, scaleBackMatrix, timesPow2, type Window } from './magnitude';

export type KernelKind = 'linear' | 'rbf';
export type HsicEstimator = 'biased' | 'unbiased';

export interface HsicOptions {
  kernel?: KernelKind;
  estimator?: HsicEstimator;
  /** RBF bandwidth as a fraction of the median distance (Kornblith's `threshold`); default 0.5. */
  threshold?: number;
}

/**
 * Magnitude windows (magnitude.ts) of one input of n rows and p columns, c its largest centred
 * entry, every centred row within r = c·√p of the origin.
 *
 * Linear kernel: Gram entries are ≤ r² (Cauchy–Schwarz), double- or U-centred ones ≤ 8r², so their
 * products summed over the n² pairs are ≤ 2^6·n²·r⁴ and an HSIC self-term ≤ 2^8·r⁴ (the n/(n−3) of
 * HSIC_1 at n = 4). Overflow: sums ≤ 2^TOP, a self-term ≤ 2^(TOP/2) so that CKA's product of two
 * under the square root is too. Underflow: HSIC_0(K, K) = ‖XcᵀXc‖²/(n−1)² ≥ c⁴/n², kept ≥ 2^(BOTTOM/2).
 */
export function linearWindow(n: number, p: number): Window {
  const logN = Math.log2(n);
  const logRootP = Math.log2(p) / 2;
  return {
    lo: logN / 2 + BOTTOM / 8,
    hi: Math.min((TOP / 2 - 8) / 4 - logRootP, (TOP - 6) / 4 - logN / 2 - logRootP),
  };
}

/**
 * MinibatchCka's window: as `linearWindow` for the float32 sums, but the self-terms are multiplied in
 * float64, so each needs only to stay ≥ 2^BOTTOM (c⁴/n²) and no bound halves TOP.
 */
function minibatchWindow(n: number, p: number): Window {
  const logN = Math.log2(n);
  return { lo: logN / 2 + BOTTOM / 4, hi: (TOP - 6) / 4 - logN / 2 - Math.log2(p) / 2 };
}

/**
 * RBF kernel: the squared distances (≤ 4r²) must stay ≤ 2^TOP; below, only their ratio to the median
 * matters, and pairs under 2^-24 of it have kernel value 1 in float32 either way. c ≥ 2^(BOTTOM/2 + 12)
 * keeps a median down to 2^-24·c² in the normal range (a heuristic: the median is not bounded by c).
 */
function rbfWindow(p: number): Window {
  return { lo: BOTTOM / 2 + 12, hi: (TOP - 2) / 2 - Math.log2(p) / 2 };
}

/**
 * Gram-level functions measure the Gram's largest entry M (their row sums ≤ n·M are taken of the raw
 * Gram): centred entries (≤ 8M) multiplied and summed over the n² pairs stay ≤ 2^TOP (no product of
 * two HSICs is formed); M ≥ 2^(BOTTOM/4) keeps centred entries down to 2^-24·M (a Gram whose entries
 * share a large level, RBF) squared in range.
 */
function gramInputWindow(n: number): Window {
  return { lo: BOTTOM / 4, hi: (TOP - 6) / 2 - Math.log2(n), raw: true };
}

function kernelWindow(kernel: KernelKind, n: number, p: number): Window {
  return kernel === 'rbf' ? rbfWindow(p) : linearWindow(n, p);
}

/** Exponents k (x·2^k) of each input of a kernel statistic; the linear Gram then scales by 2^2k, the RBF one not at all. */
function kernelExponent(x: tf.Tensor2D, kernel: KernelKind): number {
  return rescaleExponent(x, kernelWindow(kernel, x.shape[0], x.size / x.shape[0]));
}

/** Median of all entries (numpy convention: mean of the two middle values for an even count). */
function median(values: Float32Array): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The n×n Gram matrix of `kernel` on the rows of x [n, ...] (checked: finite, n ≥ 2). */
export function gram(x: tf.Tensor2D, kernel: KernelKind = 'linear', threshold = 0.5): tf.Tensor2D {
  if (!(x instanceof tf.Tensor) || x.rank < 2)
    throw new Error(
      `gram: x must be [n, p] (one example per row), got ${x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}`,
    );
  if (x.shape[0] < 2) throw new Error(`gram: n = ${x.shape[0]} examples is too small; needs n >= 2`);
  if (x.size === 0) throw new Error(`gram: x has shape [${x.shape.join(', ')}]: no features (0 columns)`);
  checkFinite('gram', 'x', x);
  if (kernel !== 'linear' && kernel !== 'rbf')
    throw new Error(`unknown kernel '${String(kernel)}'; valid: linear, rbf`);
  const flat = tf.reshape<tf.Rank.R2>(x, [x.shape[0], -1]);
  // linear entries ≤ c²·p ≤ 2^TOP and the diagonal's largest ≥ c² ≥ 2^BOTTOM; RBF as rbfWindow
  const window =
    kernel === 'rbf' ? rbfWindow(flat.shape[1]) : { lo: BOTTOM / 2, hi: TOP / 2 - Math.log2(flat.shape[1]) / 2 };
  const k = rescaleExponent(flat, window);
  flat.dispose();
  if (k === 0) return kernelGram(x, kernel, threshold);
  const g = tf.tidy(() => kernelGram(timesPow2(x, k), kernel, threshold));
  return kernel === 'linear' ? scaleBackMatrix('gram', g, -2 * k) : g;
}

function kernelGram(x: tf.Tensor2D, kernel: KernelKind, threshold: number): tf.Tensor2D {
  return tf.tidy(() => {
    const xc = centerColumns(tf.reshape<tf.Rank.R2>(x, [x.shape[0], -1]));
    if (kernel === 'linear') return tf.matMul(xc, xc, false, true);
    if (kernel !== 'rbf') throw new Error(`unknown kernel '${String(kernel)}'; valid: linear, rbf`);
    if (!(threshold > 0)) throw new Error(`rbf threshold must be > 0, got ${threshold}`);
    const d2 = zeroBlockDiagonal(squaredDistances(xc, xc), 0);
    const med = median(d2.dataSync() as Float32Array);
    if (med <= 0) return tf.onesLike(d2); // constant features: every pair at distance 0
    const twoSigma2 = 2 * threshold * threshold * med;
    return tf.exp(tf.div(tf.neg(d2), twoSigma2)) as tf.Tensor2D;
  });
}

/** Double-centred Gram H K H. */
function centerGram(k: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const rm = tf.mean(k, 1, true);
    const cm = tf.mean(k, 0, true);
    return tf.add<tf.Tensor2D>(tf.sub(tf.sub(k, rm), cm), tf.mean(k));
  });
}

/** Checks two n×n Gram matrices (square, same n ≥ minRows, finite). */
function checkGrams(fn: string, k: tf.Tensor2D, l: tf.Tensor2D, minRows: number): void {
  for (const [name, g] of [
    ['k', k],
    ['l', l],
  ] as const) {
    if (!(g instanceof tf.Tensor) || g.rank !== 2 || g.shape[0] !== g.shape[1]) {
      throw new Error(
        `${fn}: ${name} must be a square n×n Gram matrix, got ${g instanceof tf.Tensor ? `shape [${g.shape.join(', ')}]` : typeof g}`,
      );
    }
  }
  checkRows(fn, { k, l }, minRows);
}

/** HSIC_0 from two Grams (scalar). */
export function hsicBiasedFromGrams(k: tf.Tensor2D, l: tf.Tensor2D): tf.Scalar {
  checkGrams('hsicBiasedFromGrams', k, l, 2);
  return fromGrams('hsicBiasedFromGrams', k, l, hsic0);
}

/** h(K, L) with each Gram outside `gramInputWindow` scaled by 2^k; h is bilinear, so the result scales back by 2^−(kK + kL). */
function fromGrams(
  fn: string,
  k: tf.Tensor2D,
  l: tf.Tensor2D,
  h: (k: tf.Tensor2D, l: tf.Tensor2D) => tf.Scalar,
): tf.Scalar {
  const window = gramInputWindow(k.shape[0]);
  const [ek, el] = [rescaleExponent(k, window), rescaleExponent(l, window)];
  if (ek === 0 && el === 0) return h(k, l);
  return scaleBack(
    fn,
    tf.tidy(() => h(timesPow2(k, ek), timesPow2(l, el))),
    -(ek + el),
  );
}

function hsic0(k: tf.Tensor2D, l: tf.Tensor2D): tf.Scalar {
  const n = k.shape[0];
  return tf.tidy(() => tf.div<tf.Scalar>(tf.sum(tf.mul(centerGram(k), centerGram(l))), (n - 1) ** 2));
}

/**
 * U-centred Gram (zero diagonal). HSIC_1(K, L) = ⟨Ũ(K), Ũ(L)⟩ / (n(n−3)) is the Song et al. formula
 * expanded; summing products of centred entries keeps float32 digits that the expanded form
 * (tr(K̃L̃) + … − …) cancels away when kernel values have a large common level (RBF).
 */
export function uCentreGram(k: tf.Tensor2D): tf.Tensor2D {
  checkGrams('uCentreGram', k, k, 4);
  const e = rescaleExponent(k, gramInputWindow(k.shape[0]));
  if (e === 0) return uCentred(k);
  return scaleBackMatrix(
    'uCentreGram',
    tf.tidy(() => uCentred(timesPow2(k, e))),
    -e,
  );
}

function uCentred(k: tf.Tensor2D): tf.Tensor2D {
  const n = k.shape[0];
  return tf.tidy(() => {
    const kt = zeroBlockDiagonal(k, 0);
    const r = tf.sum<tf.Tensor1D>(kt, 1);
    return uCentre(kt, r, r, tf.sum<tf.Scalar>(r), n);
  });
}

/** HSIC_1 from two Grams (scalar); n ≥ 4. */
export function hsicUnbiasedFromGrams(k: tf.Tensor2D, l: tf.Tensor2D): tf.Scalar {
  checkGrams('hsicUnbiasedFromGrams', k, l, 4);
  return fromGrams('hsicUnbiasedFromGrams', k, l, hsic1);
}

function hsic1(k: tf.Tensor2D, l: tf.Tensor2D): tf.Scalar {
  const n = k.shape[0];
  return tf.tidy(() => tf.div<tf.Scalar>(tf.sum(tf.mul(uCentred(k), uCentred(l))), n * (n - 3)));
}

/**
 * HSIC between x [n, p] and y [n, q] with a linear or RBF kernel, biased (HSIC_0, normalised by
 * (n−1)²) or unbiased (HSIC_1). Linear HSIC scales as c²d² under (cx, dy) (a value beyond float32's
 * range is an error); RBF HSIC with the median bandwidth does not depend on the scale.
 * @returns scalar, new tensor owned by the caller.
 */
export function hsic(x: tf.Tensor2D, y: tf.Tensor2D, opts: HsicOptions = {}): tf.Scalar {
  const estimator = opts.estimator ?? 'biased';
  if (estimator !== 'biased' && estimator !== 'unbiased')
    throw new Error(`unknown estimator '${String(estimator)}'; valid: biased, unbiased`);
  checkRows('hsic', { x, y }, estimator === 'unbiased' ? 4 : 2);
  const kernel = opts.kernel ?? 'linear';
  if (kernel !== 'linear' && kernel !== 'rbf')
    throw new Error(`unknown kernel '${String(kernel)}'; valid: linear, rbf`);
  const [kx, ky] = [kernelExponent(x, kernel), kernelExponent(y, kernel)];
  const s = tf.tidy(() => {
    const k = kernelGram(timesPow2(x, kx), kernel, opts.threshold ?? 0.5);
    const l = kernelGram(timesPow2(y, ky), kernel, opts.threshold ?? 0.5);
    return estimator === 'biased' ? hsic0(k, l) : hsic1(k, l);
  });
  // linear HSIC of (x·2^kx, y·2^ky) is 2^(2kx + 2ky) times that of (x, y); RBF with the median bandwidth is invariant
  return scaleBack('hsic', s, kernel === 'linear' ? -2 * (kx + ky) : 0);
}

function ckaFromGrams(k: tf.Tensor2D, l: tf.Tensor2D, debiased: boolean): tf.Scalar {
  const h = debiased ? hsic1 : hsic0;
  return tf.tidy(() => {
    const den = tf.mul(h(k, k), h(l, l));
    const pos = tf.tensor(tf.greater(den, 0).dataSync(), [], 'bool'); // off the tape (see dcor.ts `detached`)
    return tf.where(
      pos,
      tf.div(h(k, l), tf.sqrt(tf.where(pos, den, tf.onesLike(den)))),
      tf.zerosLike(den),
    ) as tf.Scalar;
  });
}

/**
 * Linear CKA = HSIC(K,L)/sqrt(HSIC(K,K) HSIC(L,L)), K = XXᵀ. Biased (HSIC_0) by default, in [0, 1];
 * `debiased: true` uses HSIC_1 (Kornblith `debiased=True`, = torch_cka on one batch), can be negative.
 * Invariant to orthogonal transforms, isotropic scaling and translation of either input. 0 when a
 * self-HSIC is ≤ 0 (e.g. constant features). @returns scalar, new tensor owned by the caller.
 */
export function linearCka(x: tf.Tensor2D, y: tf.Tensor2D, opts: { debiased?: boolean } = {}): tf.Scalar {
  checkRows('linearCka', { x, y }, opts.debiased ? 4 : 2);
  // invariant to isotropic scaling: inputs outside the window are used scaled by a power of two
  const [kx, ky] = [kernelExponent(x, 'linear'), kernelExponent(y, 'linear')];
  return tf.tidy(() =>
    ckaFromGrams(
      kernelGram(timesPow2(x, kx), 'linear', 0.5),
      kernelGram(timesPow2(y, ky), 'linear', 0.5),
      Boolean(opts.debiased),
    ),
  );
}

/**
 * RBF CKA with σ = threshold · sqrt(median squared distance) per input (default threshold 0.5), biased
 * by default or `debiased: true`. @returns scalar, new tensor owned by the caller.
 */
export function rbfCka(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: { threshold?: number; debiased?: boolean } = {},
): tf.Scalar {
  checkRows('rbfCka', { x, y }, opts.debiased ? 4 : 2);
  const t = opts.threshold ?? 0.5;
  const [kx, ky] = [kernelExponent(x, 'rbf'), kernelExponent(y, 'rbf')];
  return tf.tidy(() =>
    ckaFromGrams(
      kernelGram(timesPow2(x, kx), 'rbf', t),
      kernelGram(timesPow2(y, ky), 'rbf', t),
      Boolean(opts.debiased),
    ),
  );
}

/** Smallest normal float64. */
const MIN_NORMAL_FLOAT64 = 2 ** -1022;

export interface MinibatchCkaOptions {
  /**
   * 'equal' (default): every batch counts the same, mean_b HSIC_1(xy) / sqrt(mean_b xx · mean_b yy),
   * as torch_cka does. 'size': batch b weighted by n_b(n_b − 3) (debiased; (n_b − 1)² biased), i.e. the
   * unnormalised Gram inner products summed, which is what google-research's efficient_CKA.py
   * accumulates (Nguyen et al. 2021). They agree when all batches have one size.
   */
  weighting?: 'equal' | 'size';
  /**
   * 'debiased' (default): the unbiased HSIC_1 of U-centred Grams, as torch_cka and Nguyen et al.
   * 'biased': Gretton's HSIC_0 = tr(KHLH)/(n − 1)² of each batch (Kornblith's default linear CKA
   * when there is one batch).
   */
  estimator?: 'debiased' | 'biased';
}

/**
 * Minibatch linear CKA between every layer of model A and every layer of model B, accumulated
 * over batches with the unbiased HSIC_1 (Nguyen, Raghu & Kornblith 2021). Per batch, each layer's
 * Gram is computed once (features flattened per example and column-centred) and U-centred, and all
 * layer pairs come from one matrix product of the flattened Grams: O(L·n²·p) + O(L_A·L_B·n²).
 * Sums are kept in float64; a layer whose magnitude would over- or underflow the float32 Grams enters
 * a batch scaled by a power of two, folded back exactly in float64 (selfHsic holds the true values).
 * A zero-variance layer has self-HSIC 0 and CKA 0 with everything. Call `.update()` per batch
 * (tensors of any rank, first axis = examples), then `.result()`: rows are A's layers, columns B's.
 */
export class MinibatchCka {
  readonly weighting: 'equal' | 'size';
  readonly estimator: 'debiased' | 'biased';
  private xy: Float64Array | undefined;
  private xx: Float64Array | undefined;
  private yy: Float64Array | undefined;
  private la = 0;
  private lb = 0;
  private batches = 0;

  constructor(opts: MinibatchCkaOptions = {}) {
    const w = opts.weighting ?? 'equal';
    if (w !== 'equal' && w !== 'size')
      throw new Error(`MinibatchCka: unknown weighting '${String(w)}'; valid: equal, size`);
    this.weighting = w;
    const e = opts.estimator ?? 'debiased';
    if (e !== 'debiased' && e !== 'biased')
      throw new Error(`MinibatchCka: unknown estimator '${String(e)}'; valid: debiased, biased`);
    this.estimator = e;
  }

  /** Adds one batch; featuresA[l] and featuresB[m] share their first dimension (the examples). */
  update(featuresA: tf.Tensor[], featuresB: tf.Tensor[]): void {
    if (featuresA.length === 0 || featuresB.length === 0)
      throw new Error('MinibatchCka.update: needs at least one layer on each side');
    const n = featuresA[0].shape[0];
    for (const [side, fs] of [
      ['A', featuresA],
      ['B', featuresB],
    ] as const) {
      fs.forEach((f, i) => {
        if (f.rank < 1 || f.shape[0] !== n) {
          throw new Error(
            `MinibatchCka.update: features${side}[${i}] has shape [${f.shape.join(', ')}]; every layer needs ${n} examples on axis 0`,
          );
        }
        if (f.size === 0 && n > 0)
          throw new Error(
            `MinibatchCka.update: features${side}[${i}] has shape [${f.shape.join(', ')}]: no features (0 columns)`,
          );
      });
    }
    if (n < 4)
      throw new Error(
        `MinibatchCka.update: batch of n = ${n} examples is too small; HSIC needs n >= 4 (the unbiased estimator divides by n − 3)`,
      );
    featuresA.forEach((f, i) => checkFinite('MinibatchCka.update', `featuresA[${i}]`, f));
    featuresB.forEach((f, i) => checkFinite('MinibatchCka.update', `featuresB[${i}]`, f));
    if (this.xy === undefined) {
      this.la = featuresA.length;
      this.lb = featuresB.length;
      this.xy = new Float64Array(this.la * this.lb);
      this.xx = new Float64Array(this.la);
      this.yy = new Float64Array(this.lb);
    } else if (featuresA.length !== this.la || featuresB.length !== this.lb) {
      throw new Error(
        `MinibatchCka.update: got ${featuresA.length}x${featuresB.length} layers, earlier batches had ${this.la}x${this.lb}`,
      );
    }
    const biased = this.estimator === 'biased';
    const weight = this.weighting === 'size' ? (biased ? (n - 1) * (n - 1) : n * (n - 3)) : 1;
    // a layer outside the window enters this batch as f·2^k; its Gram then carries 2^2k, and the
    // batch's terms are multiplied back by powers of two in float64, where they cannot overflow
    const expA = featuresA.map((f) => rescaleExponent(f, minibatchWindow(n, f.size / n)));
    const expB = featuresB.map((f) => rescaleExponent(f, minibatchWindow(n, f.size / n)));
    const [cross, selfA, selfB] = tf.tidy(() => {
      // flattened U-centred Grams [L, n²]: HSIC_1 of every layer pair is one row-by-row product
      const prep = (fs: tf.Tensor[], exps: number[]) =>
        tf.stack(
          fs.map((f, i) => {
            const x = tf.reshape<tf.Rank.R2>(timesPow2(f, exps[i]), [n, -1]);
            const xc = centerColumns(x);
            const k = tf.matMul<tf.Tensor2D>(xc, xc, false, true); // = HKH: the columns are centred
            // a layer equal on every example has HSIC exactly 0: its centred columns are only the
            // rounding of a mean taken as a product (which depends on the BLAS kernels), zeroed here
            // (×1 leaves every other layer's bits as they were)
            const varies = tf.cast(tf.greater(tf.max(tf.abs(tf.sub(x, tf.slice(x, [0, 0], [1, -1])))), 0), 'float32');
            return tf.reshape(tf.mul(biased ? k : uCentred(k), varies), [-1]);
          }),
        ) as tf.Tensor2D;
      const a = prep(featuresA, expA);
      const b = prep(featuresB, expB);
      const norm = biased ? (n - 1) * (n - 1) : n * (n - 3);
      return [
        tf.div(tf.matMul(a, b, false, true), norm).dataSync(),
        tf.div(tf.sum(tf.square(a), 1), norm).dataSync(),
        tf.div(tf.sum(tf.square(b), 1), norm).dataSync(),
      ];
    });
    for (let i = 0; i < this.la; i++)
      for (let j = 0; j < this.lb; j++)
        this.xy[i * this.lb + j] += weight * cross[i * this.lb + j] * 2 ** (-2 * (expA[i] + expB[j]));
    for (let i = 0; i < selfA.length; i++) this.xx![i] += weight * selfA[i] * 2 ** (-4 * expA[i]);
    for (let i = 0; i < selfB.length; i++) this.yy![i] += weight * selfB[i] * 2 ** (-4 * expB[i]);
    this.batches++;
  }

  /** The accumulated self-HSIC of each layer of A and of B (weighted sums; ≤ 0 makes CKA undefined). */
  selfHsic(): { a: number[]; b: number[] } {
    if (!this.xx || !this.yy) throw new Error('MinibatchCka.selfHsic: no batch was added (call update first)');
    return { a: Array.from(this.xx), b: Array.from(this.yy) };
  }

  /** Number of batches seen. */
  get count(): number {
    return this.batches;
  }

  /** CKA matrix [L_A][L_B]; 0 where a self-HSIC is ≤ 0. */
  result(): number[][] {
    if (!this.xy) throw new Error('MinibatchCka.result: no batch was added (call update first)');
    const out: number[][] = [];
    for (let i = 0; i < this.la; i++) {
      const row: number[] = [];
      for (let j = 0; j < this.lb; j++) {
        const [xx, yy] = [this.xx![i], this.yy![j]];
        const den = xx * yy;
        const xy = this.xy[i * this.lb + j];
        // self-HSICs of features near float32's ends (up to ~2^±512 each) can over- or underflow
        // their float64 product: then the square roots are taken first
        if (Number.isFinite(den) && den >= MIN_NORMAL_FLOAT64) row.push(xy / Math.sqrt(den));
        else row.push(xx > 0 && yy > 0 ? xy / (Math.sqrt(xx) * Math.sqrt(yy)) : 0);
        if (!Number.isFinite(row[j]))
          throw new Error(`MinibatchCka.result: CKA of layer ${i} of A and layer ${j} of B is ${row[j]}`);
      }
      out.push(row);
    }
    return out;
  }

  reset(): void {
    this.xy = this.xx = this.yy = undefined;
    this.batches = 0;
  }
}
