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
import * as path from 'path';
import { writeJsonAtomic } from '@repro/runtime';
import type { RunRecord, Scale } from './record';

export interface Interval {
  /** Seeds (per group, for a difference: "na + nb"). */
  n: string;
  /** Point estimate (mean, or difference of means). */
  estimate: number;
  /** Lower and upper bound (NaN when there are too few seeds). */
  lo: number;
  hi: number;
  level: number;
  /** student-t: one group; paired-t: per-seed differences of two variants; welch-t: two independent groups. */
  method: 'student-t' | 'paired-t' | 'welch-t';
  /** Degrees of freedom of the t quantile. */
  df: number;
  /** Standard error of the estimate (NaN with too few seeds). */
  se: number;
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
  const se = n > 1 ? sd / Math.sqrt(n) : NaN;
  return { n: String(n), estimate: mean, lo: mean - half, hi: mean + half, level, method: 'student-t', df, se };
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
    se,
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
  const how =
    iv.method === 'student-t'
      ? 'Student t over seeds'
      : iv.method === 'paired-t'
        ? 'paired t over seeds'
        : `Welch t over seeds, df ${iv.df.toFixed(1)}`;
  const what =
    iv.method === 'student-t' ? 'mean' : iv.method === 'paired-t' ? 'mean paired difference' : 'difference of means';
  const ci = Number.isFinite(iv.lo) ? `[${f2(iv.lo)}, ${f2(iv.hi)}]` : '(too few seeds for an interval)';
  const level = String(Number((iv.level * 100).toFixed(2))); // 95, 97.5, 98.33
  return `n=${iv.n}, ${what} ${f2(iv.estimate)}, ${level}% CI ${ci} (${how}); holds if the interval lies ${rule.holdsWhen} ${rule.threshold.toFixed(d)}`;
}

/** A number with `digits` decimals, 'n/a' when not finite (context strings of claims). */
export function formatNumber(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** "mean [lo, hi]" (Student t, 95%) of the finite values, 'n/a' when there are none (context strings of claims). */
export function formatMeanInterval(values: number[], digits = 2): string {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!xs.length) return 'n/a';
  const i = meanInterval(xs);
  return `${formatNumber(i.estimate, digits)} [${formatNumber(i.lo, digits)}, ${formatNumber(i.hi, digits)}]`;
}

/** Student t interval at another level, from an interval's estimate, standard error and df. */
export function atLevel(iv: Interval, level: number): Interval {
  if (!(level > 0 && level < 1)) throw new Error(`atLevel: level must be in (0, 1), got ${level}`);
  const half =
    iv.se === 0
      ? 0
      : Number.isFinite(iv.se) && Number.isFinite(iv.df)
        ? tQuantile(1 - (1 - level) / 2, iv.df) * iv.se
        : NaN;
  return { ...iv, level, lo: iv.estimate - half, hi: iv.estimate + half };
}

/** One seed's value of a quantity (`a`/`b`: the two variants' values of a paired design). */
export interface SeedValue {
  seed: number;
  value: number;
  /** The run it came from, where one group pools several runs. */
  run?: string;
}

/** How a claim's per-seed values combine; pairing follows the design (seeds shared between variants). */
export type ClaimDesign =
  /** the mean of one value per seed */
  | { kind: 'mean'; values: SeedValue[] }
  /** a − b within each seed both variants share (the same seed: the same initialisation, data order) */
  | { kind: 'paired'; a: SeedValue[]; b: SeedValue[] }
  /** mean(a) − mean(b) of independent groups (Welch) */
  | { kind: 'welch'; a: SeedValue[]; b: SeedValue[] };

/** A named check of a claim's premise, computed from the records, with its measured value. */
export interface Precondition {
  name: string;
  passed: boolean;
  value: number | string | null;
  /** What was measured and what passing means, e.g. "mean gain of the last 2 epochs 0.31 points; < 0.5 passes". */
  detail: string;
}

/** Where a claim comes from: the words or figure it tests, quoted, and where they stand. */
export interface ClaimSource {
  /** The sentence, figure caption or table cell, verbatim (or "Figure 3, read from the plot: ..."). */
  quote: string;
  /** Document and place: "Klachko's re-examination, README, section Results (commit 1a2b3c4)". */
  where: string;
}

/**
 * A claim as data: what it tests, from which source, on which quantity of which runs, and how seeds
 * combine; shared code (`evaluateClaims`) computes the interval, applies preconditions and families,
 * decides the verdict and writes the note. A package declares these and computes nothing else.
 */
export interface ClaimSpec {
  /** Stable id (the table's row): "a-smoothed-metric". */
  id: string;
  /** The claim in our words, as tested. */
  statement: string;
  source: ClaimSource;
  /** The quantity with its unit: "best true accuracy, C − B (points)". */
  quantity: string;
  /** Runs whose records the claim reads. */
  runIds: string[];
  /** The command that produces the records. */
  command: string;
  /**
   * A number, or one computed from the records of the scale being decided, with its reason (e.g. two
   * binomial standard errors of one accuracy; an estimator's measured seed-to-seed spread).
   */
  threshold: number | ((records: RunRecord[]) => { value: number; why: string });
  holdsWhen: 'above' | 'below';
  /** Why the threshold is what it is (said in the note). */
  thresholdWhy?: string;
  /**
   * A finding in the records that contradicts the statement outright, whatever the interval (e.g. "the
   * peak is the last checkpoint: there is no decline"): the verdict is claim-fails with this reason.
   */
  refutes?(records: RunRecord[]): string | undefined;
  /** 'claim' (default): a statement of the source; 'estimator-check': a check of our own estimator. */
  kind?: 'claim' | 'estimator-check';
  /** Decimals in the note (default 2). */
  digits?: number;
  /** Claims that test one statement (or the cells of "at every ε"): decided together, Holm–Bonferroni at 95% family-wise. */
  family?: string;
  /**
   * The per-seed values, from records of one scale that include every run of `runIds`; no values (a
   * case this scale does not run) gives status `missing` for that scale.
   */
  measure(records: RunRecord[]): ClaimDesign;
  /** Checks of the premise; one that fails makes the verdict claim-inconclusive. */
  preconditions?(records: RunRecord[]): Precondition[];
  /** Further numbers for the reader (not part of the verdict). */
  context?(records: RunRecord[]): string;
  /** Table of the CSV row (default 'claims'). */
  table?: string;
}

export type ClaimStatus = 'claim-holds' | 'claim-fails' | 'claim-inconclusive' | 'missing' | 'smoke';

/** One object of `<package>.claims.json`: a contract, its field names are read outside the repository. */
export interface ClaimResult {
  id: string;
  statement: string;
  source: ClaimSource;
  quantity: string;
  /** The scale of the records it was decided on (null: no records). */
  scale: Scale | null;
  verdict: ClaimStatus;
  estimate: number | null;
  lo: number | null;
  hi: number | null;
  /** Confidence level of [lo, hi] (0.95, or the Holm step's level in a family). */
  level: number | null;
  /** null: computed from records, and there were none. */
  threshold: number | null;
  holdsWhen: 'above' | 'below';
  thresholdWhy: string | null;
  /** The outright contradiction that made it claim-fails, if any. */
  refutation: string | null;
  kind: 'claim' | 'estimator-check';
  method: Interval['method'] | null;
  /** Seeds: "5", or "5+5" for two independent groups. */
  n: string | null;
  perSeed: Array<{ seed: number; value: number; run?: string; a?: number; b?: number; group?: 'a' | 'b' }>;
  preconditions: Precondition[];
  family: string | null;
  /** Holm–Bonferroni in a family of more than one claim: its size, this claim's step, the level used. */
  adjusted: { method: 'holm-bonferroni'; familySize: number; step: number; level: number } | null;
  runIds: string[];
  command: string;
  /** The note of the CSV row, rendered from the fields above. */
  note: string;
}

const FAMILY_LEVEL = 0.95;

function fromDesign(d: ClaimDesign): { iv: Interval; perSeed: ClaimResult['perSeed'] } {
  if (d.kind === 'mean') return { iv: meanInterval(d.values.map((v) => v.value)), perSeed: d.values };
  if (d.kind === 'welch')
    return {
      iv: differenceInterval(
        d.a.map((v) => v.value),
        d.b.map((v) => v.value),
      ),
      perSeed: [...d.a.map((v) => ({ ...v, group: 'a' as const })), ...d.b.map((v) => ({ ...v, group: 'b' as const }))],
    };
  const b = new Map(d.b.map((v) => [v.seed, v.value]));
  const pairs = d.a.filter((v) => b.has(v.seed)).map((v) => ({ seed: v.seed, a: v.value, b: b.get(v.seed)! }));
  if (pairs.length === 0) throw new Error('paired claim: the two variants share no seed');
  const perSeed = pairs.map((p) => ({ ...p, value: p.a - p.b }));
  return { iv: { ...meanInterval(perSeed.map((p) => p.value)), method: 'paired-t' }, perSeed };
}

/** One-sided p-value of "the quantity is not on the claim's side" (small: the claim holds). */
function pHolds(iv: Interval, spec: { threshold: number; holdsWhen: 'above' | 'below' }): number {
  const diff = spec.holdsWhen === 'above' ? iv.estimate - spec.threshold : spec.threshold - iv.estimate;
  if (iv.se === 0) return diff > 0 ? 0 : 1;
  if (!Number.isFinite(iv.se) || !Number.isFinite(iv.df)) return 1;
  return 1 - tCdf(diff / iv.se, iv.df);
}

/**
 * Holm's step-down over a family: claims sorted by p-value, step k of m tested at the interval level
 * 1 − (1 − FAMILY_LEVEL)/(m − k + 1); the first that does not reach its side stops the steps (it and all
 * after it cannot reach that side). Run once for "holds" and once for "fails"; a claim reports the step of
 * the side it was decided on, else of the side its estimate lies on, and names the claim that stopped the
 * steps before it (its own interval may lie on that side and still decide nothing).
 */
interface HolmStep {
  step: number;
  level: number;
  passes: boolean;
  /** Index (in the family) of the claim whose step stopped the procedure before this one, if any. */
  stoppedBy: number | null;
}

function holm(ps: number[], m: number): HolmStep[] {
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<HolmStep>(ps.length);
  let stoppedBy: number | null = null;
  order.forEach(({ p, i }, k) => {
    const alpha = (1 - FAMILY_LEVEL) / (m - k);
    // two-sided interval at level 1 − alpha lies on the side <=> one-sided p < alpha / 2
    const passes = stoppedBy === null && p < alpha / 2;
    out[i] = { step: k + 1, level: 1 - alpha, passes, stoppedBy };
    if (!passes && stoppedBy === null) stoppedBy = i;
  });
  return out;
}

function renderNote(r: Omit<ClaimResult, 'note'>, iv: Interval | undefined, spec: ClaimSpec, extra: string[]): string {
  const parts = [`claim: ${r.statement}`, `source: "${r.source.quote}" (${r.source.where})`];
  if (iv) {
    parts.push(
      `${r.quantity}: ${describeInterval(iv, { threshold: r.threshold ?? NaN, holdsWhen: r.holdsWhen, digits: spec.digits })}`,
    );
    if (r.thresholdWhy) parts.push(`threshold: ${r.thresholdWhy}`);
    if (r.adjusted)
      parts.push(
        `family ${r.family}: Holm–Bonferroni over ${r.adjusted.familySize} claims at 95% family-wise, this claim at step ${r.adjusted.step} (interval at ${Number((r.adjusted.level * 100).toFixed(2))}%)`,
      );
  }
  if (r.preconditions.length)
    parts.push(
      `preconditions: ${r.preconditions.map((c) => `${c.name} ${c.passed ? 'passed' : 'FAILED'} (${c.detail})`).join(', ')}`,
    );
  parts.push(...extra);
  return parts.join('; ');
}

/** A claim's result before anything is measured (smoke, or missing, with no numbers). */
function emptyResult(spec: ClaimSpec, scale: Scale | null): Omit<ClaimResult, 'note'> {
  return {
    id: spec.id,
    statement: spec.statement,
    source: spec.source,
    quantity: spec.quantity,
    scale,
    verdict: scale === 'smoke' ? 'smoke' : 'missing',
    estimate: null,
    lo: null,
    hi: null,
    level: null,
    threshold: typeof spec.threshold === 'number' ? spec.threshold : null,
    holdsWhen: spec.holdsWhen,
    thresholdWhy: spec.thresholdWhy ?? null,
    refutation: null,
    kind: spec.kind ?? 'claim',
    method: null,
    n: null,
    perSeed: [],
    preconditions: [],
    family: spec.family ?? null,
    adjusted: null,
    runIds: spec.runIds,
    command: spec.command,
  };
}

/**
 * Every claim decided at every scale that has its runs: intervals over seeds, families adjusted
 * (Holm–Bonferroni, decided among the claims of a family at one scale), preconditions applied.
 * Smoke records give status `smoke` (a pipeline check, never a verdict).
 */
export function evaluateClaims(specs: ClaimSpec[], records: RunRecord[], scales: Scale[]): ClaimResult[] {
  const results: ClaimResult[] = [];
  for (const scale of scales) {
    const pending: Array<{
      spec: ClaimSpec;
      recs: RunRecord[];
      iv: Interval;
      rule: ClaimRule;
      base: Omit<ClaimResult, 'note'>;
      extra: string[];
    }> = [];
    for (const spec of specs) {
      const recs = records.filter((r) => spec.runIds.includes(r.runId) && r.scale === scale && r.complete);
      if (recs.length === 0) continue;
      const base = emptyResult(spec, scale);
      const lacking = spec.runIds.filter((id) => !recs.some((r) => r.runId === id));
      if (lacking.length) {
        results.push({ ...base, note: renderNote(base, undefined, spec, [`runs missing: ${lacking.join(', ')}`]) });
        continue;
      }
      const design = spec.measure(recs);
      if ((design.kind === 'mean' ? design.values : [...design.a, ...design.b]).length === 0) {
        results.push({ ...base, note: renderNote(base, undefined, spec, ['no value in the records at this scale']) });
        continue;
      }
      const { iv, perSeed } = fromDesign(design);
      const t =
        typeof spec.threshold === 'number' ? { value: spec.threshold, why: spec.thresholdWhy } : spec.threshold(recs);
      const preconditions = spec.preconditions?.(recs) ?? [];
      const context = spec.context?.(recs);
      pending.push({
        spec,
        recs,
        iv,
        rule: { threshold: t.value, holdsWhen: spec.holdsWhen, digits: spec.digits },
        extra: context ? [context] : [],
        base: {
          ...base,
          threshold: t.value,
          thresholdWhy: t.why ?? null,
          refutation: spec.refutes?.(recs) ?? null,
          estimate: iv.estimate,
          lo: iv.lo,
          hi: iv.hi,
          level: iv.level,
          method: iv.method,
          n: iv.n,
          perSeed,
          preconditions,
        },
      });
    }
    // families: Holm among the members present at this scale (a smoke scale decides nothing)
    const families = new Map<string, typeof pending>();
    for (const p of pending)
      if (p.spec.family) families.set(p.spec.family, [...(families.get(p.spec.family) ?? []), p]);
    const adjusted = new Map<
      (typeof pending)[number],
      { step: number; level: number; holds: boolean; fails: boolean; stoppedBy: string | null }
    >();
    for (const members of families.values()) {
      if (members.length < 2) continue;
      const m = members.length;
      const h = holm(
        members.map((x) => pHolds(x.iv, x.rule)),
        m,
      );
      const f = holm(
        members.map((x) =>
          pHolds(x.iv, { threshold: x.rule.threshold, holdsWhen: x.rule.holdsWhen === 'above' ? 'below' : 'above' }),
        ),
        m,
      );
      // the step reported is the one of the side decided, else the side the estimate lies on
      members.forEach((x, i) => {
        const onHoldsSide =
          x.rule.holdsWhen === 'above' ? x.iv.estimate > x.rule.threshold : x.iv.estimate < x.rule.threshold;
        const s = h[i].passes ? h[i] : f[i].passes ? f[i] : onHoldsSide ? h[i] : f[i];
        adjusted.set(x, {
          step: s.step,
          level: s.level,
          holds: h[i].passes,
          fails: f[i].passes,
          stoppedBy: s.passes || s.stoppedBy === null ? null : members[s.stoppedBy].spec.id,
        });
      });
    }
    for (const p of pending) {
      const adj = adjusted.get(p);
      let iv = p.iv;
      let decided: ClaimVerdict;
      if (adj) {
        iv = atLevel(p.iv, adj.level);
        decided = adj.holds ? 'holds' : adj.fails ? 'fails' : 'inconclusive';
      } else decided = decideClaim(iv, p.rule);
      // an unmet premise decides nothing, an outright contradiction fails the claim, else the interval
      const premiseMet = p.base.preconditions.every((c) => c.passed);
      const stopped =
        adj?.stoppedBy && scale !== 'smoke'
          ? [
              `Holm's steps stopped at ${adj.stoppedBy}, before this claim's step: it is not decided, whatever its own interval`,
            ]
          : [];
      if (premiseMet && p.base.refutation) decided = 'fails';
      const verdict: ClaimStatus =
        scale === 'smoke' ? 'smoke' : premiseMet ? (`claim-${decided}` as ClaimStatus) : 'claim-inconclusive';
      const r: Omit<ClaimResult, 'note'> = {
        ...p.base,
        verdict,
        lo: iv.lo,
        hi: iv.hi,
        level: iv.level,
        adjusted: adj
          ? {
              method: 'holm-bonferroni',
              familySize: families.get(p.spec.family!)!.length,
              step: adj.step,
              level: adj.level,
            }
          : null,
      };
      const why =
        scale === 'smoke'
          ? []
          : !premiseMet
            ? [
                `inconclusive because a precondition failed: ${p.base.preconditions
                  .filter((c) => !c.passed)
                  .map((c) => `${c.name} = ${String(c.value)}`)
                  .join(', ')}`,
              ]
            : p.base.refutation
              ? [`fails outright: ${p.base.refutation}`]
              : [];
      results.push({ ...r, note: renderNote(r, iv, p.spec, [...why, ...stopped, ...p.extra]) });
    }
  }
  return results;
}

/** A claim never run: its result has no numbers and says how to run it. */
export function unrunClaim(spec: ClaimSpec): ClaimResult {
  const base = emptyResult(spec, null);
  return { ...base, note: renderNote(base, undefined, spec, [`not run; run with: ${spec.command}`]) };
}

/**
 * `<out>/<package>.claims.json`: one object per claim, from the largest scale where it was decided
 * (paper, else cpu, else smoke); a scale that lacks some of its runs (`missing`) counts only when no
 * scale decided it; never run: `missing` with nulls.
 */
export function writeClaimsJson(out: string, pkg: string, specs: ClaimSpec[], results: ClaimResult[]): string {
  const order: Array<Scale | null> = ['paper', 'cpu', 'smoke'];
  const rank = (r: ClaimResult) => (r.verdict === 'missing' ? order.length : 0) + order.indexOf(r.scale);
  const chosen = specs.map(
    (s) => results.filter((r) => r.id === s.id).sort((a, b) => rank(a) - rank(b))[0] ?? unrunClaim(s),
  );
  const file = path.join(out, `${pkg}.claims.json`);
  writeJsonAtomic(file, { schema: 'repro.claims/1', package: pkg, claims: chosen });
  return file;
}
