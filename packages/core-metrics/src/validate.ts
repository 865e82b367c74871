import * as tf from '@tensorflow/tfjs';

/**
 * Rejects a tensor with a NaN or ±Infinity entry, naming the function, the argument, the first bad
 * entry and how many there are: a statistic of such input would be a silent NaN (or, worse, 0).
 * One pass and one scalar read; the details are read only on failure.
 */
export function checkFinite(fn: string, name: string, t: tf.Tensor): void {
  if (t.dtype !== 'float32' || t.size === 0) return; // int32 and bool cannot hold NaN or Infinity
  const ok = tf.tidy(() => tf.all(tf.isFinite(t)));
  const allFinite = ok.dataSync()[0] === 1;
  ok.dispose();
  if (allFinite) return;
  const v = t.dataSync();
  const { count, first } = nonFinite(v);
  const cols = t.rank >= 2 ? t.size / t.shape[0] : 1;
  const where = t.rank >= 2 ? `row ${Math.floor(first / cols)}, column ${first % cols}` : `index ${first}`;
  throw new Error(
    `${fn}: ${name} contains ${v[first]} at ${where} (${count} non-finite of ${t.size} entries); inputs must be finite`,
  );
}

/** How many entries of `values` are NaN or ±Infinity, and the index of the first (−1 when none). */
export function nonFinite(values: ArrayLike<number>): { count: number; first: number } {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      count++;
      if (first < 0) first = i;
    }
  }
  return { count, first };
}

/** Rejects a non-finite number in a plain array (per-batch accuracies and the like). */
export function checkFiniteArray(fn: string, name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw new Error(`${fn}: ${name}[${i}] is ${values[i]}; inputs must be finite numbers`);
  }
}

/**
 * Checks that every input is a 2-D float tensor with the same number of rows, at least one column,
 * at least `minRows` rows and only finite entries; returns n.
 */
export function checkRows(fn: string, inputs: Record<string, tf.Tensor>, minRows = 2): number {
  let n: number | undefined;
  let first = '';
  for (const [name, t] of Object.entries(inputs)) {
    if (!(t instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor2D [n, p], got ${typeof t}`);
    if (t.rank !== 2)
      throw new Error(`${fn}: ${name} must be 2-D [n, p] (one example per row), got shape [${t.shape.join(', ')}]`);
    if (t.isDisposed) throw new Error(`${fn}: ${name} is disposed`);
    if (n === undefined) {
      n = t.shape[0];
      first = name;
    } else if (t.shape[0] !== n) {
      throw new Error(`${fn}: ${first} has ${n} rows but ${name} has ${t.shape[0]}; rows are examples and must match`);
    }
  }
  if (n === undefined) throw new Error(`${fn}: no inputs`);
  if (n < minRows) {
    throw new Error(
      `${fn}: n = ${n} examples is too small; this estimator needs n >= ${minRows}` +
        (minRows >= 4 ? ' (U-statistics divide by n(n-3))' : ''),
    );
  }
  for (const [name, t] of Object.entries(inputs)) {
    if (t.size === 0) throw new Error(`${fn}: ${name} has shape [${t.shape.join(', ')}]: no features (0 columns)`);
  }
  for (const [name, t] of Object.entries(inputs)) checkFinite(fn, name, t);
  return n;
}
