/**
 * Claims decided by their statistics over seeds. A claim compares a quantity (a mean, or a difference
 * of two means) with a threshold; its verdict comes from the 95% confidence interval of that quantity,
 * not from the point estimate:
 *   holds        the whole interval lies on the claim's side of the threshold;
 *   fails        the whole interval lies on the other side;
 *   inconclusive the interval straddles the threshold (or there are too few seeds for an interval).
 *
 * Intervals are Student t over seeds (each seed is one independent training run, so the per-seed
 * values are the sample): mean ± t(1 − α/2, n − 1)·s/√n for one group, and Welch's interval with the
 * Welch–Satterthwaite degrees of freedom for a difference of two groups with their own variances.
 * A bootstrap is not used: with 3-10 seeds its percentile interval is too narrow (it cannot see
 * beyond the observed values), while the t interval is exact under normality and conservative enough
 * here.
 */
import type { ClaimOutcome } from './table';

export interface Interval {
  /** Seeds (per group, for a difference: "na + nb"). */
  n: string;
  /** Point estimate (mean, or difference of means). */
  estimate: number;
  /** Lower and upper bound (NaN when there are too few seeds). */
  lo: number;
  hi: number;
  level: number;
  method: 'student-t' | 'welch-t';
  /** Degrees of freedom of the t quantile. */
  df: number;
}

export type ClaimVerdict = 'holds' | 'fails' | 'inconclusive';

export interface ClaimRule {
  threshold: number;
  /** The claim holds when the quantity is above (or below) the threshold. */
  holdsWhen: 'above' | 'below';
  /** Decimals in the note (default 2: accuracy points; statistics such as dCor² want 4). */
  digits?: number;
}

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9), |relative error| < 1e-13 for z > 0
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = c[0];
  for (let i = 1; i < 9; i++) x += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom (df > 0, not necessarily an integer). */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (0 < p < 1), by bisection on the CDF (to 1e-12). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`tQuantile: degrees of freedom must be > 0, got ${df}`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function checkValues(fn: string, values: number[]): void {
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`${fn}: value ${i} is ${v}; per-seed values must be finite`);
  });
}

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : NaN;
  return { mean, sd };
}

/** Student t interval of the mean of per-seed values (bounds NaN for n < 2). */
export function meanInterval(values: number[], level = 0.95): Interval {
  if (values.length === 0) throw new Error('meanInterval: no values');
  checkValues('meanInterval', values);
  const { mean, sd } = meanSd(values);
  const n = values.length;
  const df = n - 1;
  const half = n > 1 ? tQuantile(1 - (1 - level) / 2, df) * (sd / Math.sqrt(n)) : NaN;
  return { n: String(n), estimate: mean, lo: mean - half, hi: mean + half, level, method: 'student-t', df };
}

/** Welch interval of mean(a) − mean(b) (bounds NaN when either group has fewer than 2 seeds). */
export function differenceInterval(a: number[], b: number[], level = 0.95): Interval {
  if (a.length === 0 || b.length === 0)
    throw new Error(`differenceInterval: a group has no values (${a.length} and ${b.length})`);
  checkValues('differenceInterval', a);
  checkValues('differenceInterval', b);
  const ma = meanSd(a);
  const mb = meanSd(b);
  const va = ma.sd ** 2 / a.length;
  const vb = mb.sd ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  const estimate = ma.mean - mb.mean;
  let df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  if (!Number.isFinite(df)) df = NaN;
  // identical values in both groups (se = 0): the interval is the point itself
  const half = se === 0 ? 0 : Number.isFinite(df) ? tQuantile(1 - (1 - level) / 2, df) * se : NaN;
  return {
    n: `${a.length}+${b.length}`,
    estimate,
    lo: estimate - half,
    hi: estimate + half,
    level,
    method: 'welch-t',
    df,
  };
}

/** holds / fails / inconclusive: where the interval lies relative to the threshold. */
export function decideClaim(iv: Interval, rule: ClaimRule): ClaimVerdict {
  if (!Number.isFinite(iv.lo) || !Number.isFinite(iv.hi)) return 'inconclusive';
  const above = iv.lo > rule.threshold;
  const below = iv.hi < rule.threshold;
  if (rule.holdsWhen === 'above') return above ? 'holds' : below ? 'fails' : 'inconclusive';
  return below ? 'holds' : above ? 'fails' : 'inconclusive';
}

const fmt = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** "n=5, mean 1.23, 95% CI [0.80, 1.66] (Student t over seeds), holds if > 1.00" */
export function describeInterval(iv: Interval, rule: ClaimRule): string {
  const d = rule.digits ?? 2;
  const f2 = (v: number) => fmt(v, d);
  const how = iv.method === 'student-t' ? 'Student t over seeds' : `Welch t over seeds, df ${iv.df.toFixed(1)}`;
  const ci = Number.isFinite(iv.lo) ? `[${f2(iv.lo)}, ${f2(iv.hi)}]` : '(too few seeds for an interval)';
  return `n=${iv.n}, ${iv.method === 'student-t' ? 'mean' : 'difference of means'} ${f2(iv.estimate)}, ${Math.round(iv.level * 100)}% CI ${ci} (${how}); holds if the interval lies ${rule.holdsWhen} ${rule.threshold.toFixed(d)}`;
}

/** A claim's outcome from its interval: the verdict, the estimate as the row's value, and the note. */
export function claimFromInterval(iv: Interval, rule: ClaimRule, what: string): ClaimOutcome {
  return {
    value: iv.estimate,
    verdict: decideClaim(iv, rule),
    interval: iv,
    note: `${what}: ${describeInterval(iv, rule)}`,
  };
}
