import * as tf from '@tensorflow/tfjs';

/** Checks that every input is a 2-D float tensor with the same number of rows; returns n. */
export function checkRows(fn: string, inputs: Record<string, tf.Tensor>, minRows = 2): number {
  let n: number | undefined;
  let first = '';
  for (const [name, t] of Object.entries(inputs)) {
    if (!(t instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor2D [n, p], got ${typeof t}`);
    if (t.rank !== 2) throw new Error(`${fn}: ${name} must be 2-D [n, p] (one example per row), got shape [${t.shape.join(', ')}]`);
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
  return n;
}
