/**
 * Table 2 of Zhen et al. (ECCV 2022): how much of the class information one network's features hold
 * beyond another's. As Partial_Distance_Correlation/main_pDC_models.py does it: per mini-batch of 128
 * (consecutive rows here; the official loader shuffles), with GT = the class embedding of each
 * example's label, four statistics averaged over batches:
 *   R²(X, GT), R²(Y, GT)   bias-corrected distance correlation `bcdcor` (the official `New_DC`);
 *   R²(X|Y, GT)            the official semi-partial `P_DC(fX, fY, gt)`: Y removed from X only
 *                          (= core-metrics `semipartialDcor(x, gt, y)`), and beside it Székely-Rizzo's
 *                          partial `pdcor(x, gt; y)`, which removes Y from both sides;
 *   R²(Y|X, GT)            the same with X and Y swapped.
 * All are on the R² scale (R*, not R* squared) and can be negative. Batches of fewer than 4 rows (a
 * short last batch) are skipped: the U-statistics need n ≥ 4.
 */
import * as tf from '@tensorflow/tfjs';
import { bcdcor, nonFinite, pdcor, semipartialDcor } from '@repro/core-metrics';
import { Rng } from '@repro/runtime';

export interface FeatureMatrix {
  /** Row-major [rows · cols]. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** What it is, for error messages (a file name, "model X features"). */
  name: string;
}

export interface ClassEmbedding {
  /** Row-major [numClasses · dim]. */
  data: Float32Array;
  numClasses: number;
  dim: number;
  /** 'one-hot', 'random:<dim> (seed s)' or the file it came from. */
  source: string;
}

export interface BatchStat {
  mean: number;
  /** Standard deviation over batches. */
  sd: number;
}

export const TABLE2_STATS = ['r2XGt', 'r2YGt', 'pdcXgivenY', 'pdcYgivenX', 'pdcorXgivenY', 'pdcorYgivenX'] as const;
export type Table2Stat = (typeof TABLE2_STATS)[number];

export const TABLE2_STAT_MEANINGS: Record<Table2Stat, string> = {
  r2XGt: 'R²(X, GT): bcdcor(X, GT)',
  r2YGt: 'R²(Y, GT): bcdcor(Y, GT)',
  pdcXgivenY: 'R²(X|Y, GT): official semi-partial P_DC (Y removed from X only)',
  pdcYgivenX: 'R²(Y|X, GT): official semi-partial P_DC (X removed from Y only)',
  pdcorXgivenY: 'pdcor(X, GT; Y): Székely-Rizzo partial distance correlation',
  pdcorYgivenX: 'pdcor(Y, GT; X): Székely-Rizzo partial distance correlation',
};

export type Table2Result = Record<Table2Stat, BatchStat> & { batches: number; batchSize: number; rows: number };

/** The class embedding named on the command line: 'one-hot' or 'random:<dim>' (a file is read by the CLI). */
export function builtinEmbedding(spec: string, numClasses: number, seed = 0): ClassEmbedding {
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new Error(`class embedding: the class count must be an integer >= 2, got ${numClasses}`);
  if (spec === 'one-hot') {
    const data = new Float32Array(numClasses * numClasses);
    for (let c = 0; c < numClasses; c++) data[c * numClasses + c] = 1;
    return { data, numClasses, dim: numClasses, source: 'one-hot' };
  }
  const m = /^random:(\d+)$/.exec(spec);
  if (!m) throw new Error(`--class-embedding '${spec}': expected one-hot, random:<dim> or a .npy file`);
  const dim = Number(m[1]);
  if (dim < 1) throw new Error(`--class-embedding '${spec}': the dimension must be >= 1`);
  const rng = new Rng(seed).fork('class-embedding');
  const data = Float32Array.from({ length: numClasses * dim }, () => rng.normal());
  return { data, numClasses, dim, source: `random:${dim} (N(0, 1), seed ${seed})` };
}

function checkFiniteMatrix(m: { data: Float32Array; name: string; cols: number }): void {
  const { count, first } = nonFinite(m.data);
  if (count > 0)
    throw new Error(
      `${m.name}: ${count} non-finite value(s) (first ${m.data[first]} at row ${Math.floor(first / m.cols)}, column ${first % m.cols})`,
    );
}

/** Checks the inputs of `compareFeatures` and says what is wrong, naming the file or source. */
export function checkCompareInputs(
  x: FeatureMatrix,
  y: FeatureMatrix,
  labels: { data: Int32Array; name: string },
  emb: ClassEmbedding,
): void {
  if (x.rows !== y.rows)
    throw new Error(
      `${x.name} has ${x.rows} rows but ${y.name} has ${y.rows}: the features must be of the same examples`,
    );
  if (labels.data.length !== x.rows)
    throw new Error(`${labels.name} has ${labels.data.length} labels but ${x.name} has ${x.rows} rows`);
  if (x.rows < 4) throw new Error(`compare: ${x.rows} examples; the bias-corrected statistics need at least 4`);
  for (const m of [x, y]) {
    if (m.cols < 1) throw new Error(`${m.name}: no feature columns`);
    if (m.data.length !== m.rows * m.cols)
      throw new Error(`${m.name}: ${m.data.length} values for ${m.rows} x ${m.cols}`);
    checkFiniteMatrix(m);
  }
  checkFiniteMatrix({ data: emb.data, name: `class embedding ${emb.source}`, cols: emb.dim });
  let max = -1;
  for (let i = 0; i < labels.data.length; i++) {
    const l = labels.data[i];
    if (l < 0) throw new Error(`${labels.name}: label ${l} at row ${i} is negative`);
    max = Math.max(max, l);
  }
  if (max >= emb.numClasses)
    throw new Error(
      `${labels.name}: label ${max} needs at least ${max + 1} classes but the class embedding ${emb.source} has ${emb.numClasses} rows`,
    );
}

function rowsOf(m: { data: Float32Array; cols: number }, start: number, end: number): tf.Tensor2D {
  return tf.tensor2d(m.data.subarray(start * m.cols, end * m.cols), [end - start, m.cols]);
}

/**
 * The Table 2 statistics of features X and Y of the same examples with their labels and a class
 * embedding, per batch of `batchSize` consecutive rows, averaged over batches (with the spread).
 */
export function compareFeatures(
  x: FeatureMatrix,
  y: FeatureMatrix,
  labels: { data: Int32Array; name: string },
  emb: ClassEmbedding,
  opts: { batchSize?: number } = {},
): Table2Result {
  checkCompareInputs(x, y, labels, emb);
  const batchSize = opts.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 4)
    throw new Error(`compare: batch size must be an integer >= 4, got ${batchSize}`);
  const per: Record<Table2Stat, number[]> = Object.fromEntries(TABLE2_STATS.map((s) => [s, []])) as unknown as Record<
    Table2Stat,
    number[]
  >;
  const gtAll = { data: new Float32Array(x.rows * emb.dim), cols: emb.dim };
  for (let i = 0; i < x.rows; i++)
    gtAll.data.set(emb.data.subarray(labels.data[i] * emb.dim, (labels.data[i] + 1) * emb.dim), i * emb.dim);
  for (let start = 0; start + 4 <= x.rows; start += batchSize) {
    const end = Math.min(x.rows, start + batchSize);
    const vals = tf.tidy(() => {
      const bx = rowsOf(x, start, end);
      const by = rowsOf(y, start, end);
      const gt = rowsOf(gtAll, start, end);
      return tf
        .stack([
          bcdcor(bx, gt),
          bcdcor(by, gt),
          semipartialDcor(bx, gt, by),
          semipartialDcor(by, gt, bx),
          pdcor(bx, gt, by),
          pdcor(by, gt, bx),
        ])
        .dataSync();
    });
    TABLE2_STATS.forEach((s, k) => per[s].push(vals[k]));
  }
  const stat = (v: number[]): BatchStat => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
    return { mean, sd };
  };
  return {
    ...(Object.fromEntries(TABLE2_STATS.map((s) => [s, stat(per[s])])) as Record<Table2Stat, BatchStat>),
    batches: per.r2XGt.length,
    batchSize,
    rows: x.rows,
  };
}
