/**
 * The statistics on plain arrays, returning plain numbers: `numeric.dcor2(x, y)` is
 * `dcor2(tf.tensor2d(x), tf.tensor2d(y)).dataSync()[0]` with the input checked, every tensor disposed
 * and the same float32 computation (so the same value, bit for bit, on the same backend).
 *
 * An input is one of
 * - rows: `number[][]` (or an array of typed arrays), one example per row, every row the same length;
 * - one feature: a 1-D `number[]` or typed array, one example per entry (an n × 1 matrix);
 * - flat: `{ data, columns }`, `data` a row-major `number[]` or typed array of n · columns values.
 *
 * Ragged rows, example counts that differ between the inputs, entries that are not numbers and
 * non-finite entries (NaN, ±Infinity, or a finite value beyond float32's range) are errors naming the
 * argument, the row and the column.
 *
 * These functions are synchronous and run on the tfjs backend in use: call `await initBackend()` of
 * `@repro/runtime` once first for the WebAssembly kernels (the backend the tensor forms are tested
 * on). Without it, tfjs's default backend runs them (`cpu` in Node.js): the same statistics, slower
 * on large inputs, and possibly different from another backend in the last float32 bits.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as dc from './dcor';
import * as ck from './cka';
import type { DcorOptions, DcorTestResult } from './dcor';
import type { HsicOptions } from './cka';
import { nonFinite } from './validate';

/** A row-major matrix of `data.length / columns` examples (rows) and `columns` features. */
export interface FlatMatrix {
  data: ArrayLike<number>;
  columns: number;
}

/**
 * One input of a statistic: rows (`number[][]`, one example per row), one feature (a 1-D `number[]` or
 * typed array), or a flat row-major array with its column count.
 */
export type MatrixInput = readonly ArrayLike<number>[] | ArrayLike<number> | FlatMatrix;

interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
  /** the value as given of flat entry k (to tell NaN from a number beyond float32's range) */
  given(k: number): unknown;
  shape: '1-D' | 'rows' | 'flat';
}

const isTypedArray = (v: unknown): v is ArrayLike<number> => ArrayBuffer.isView(v) && !(v instanceof DataView);
const isNumberArray = (v: unknown): v is ArrayLike<number> => Array.isArray(v) || isTypedArray(v);
const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** Copies a 1-D array of numbers into `out` at `offset`; a plain array's entries must be numbers. */
function copyNumbers(fn: string, what: string, src: ArrayLike<number>, out: Float32Array, offset: number): void {
  const plain = Array.isArray(src);
  for (let j = 0; j < src.length; j++) {
    const v: unknown = src[j];
    if (plain && typeof v !== 'number')
      throw new Error(`${fn}: ${what}[${j}] is ${kind(v)}${v === undefined ? ' (a hole?)' : ''}, not a number`);
    out[offset + j] = v as number;
  }
}

/** Validates one input and converts it to float32 as `tf.tensor2d` would. */
function toMatrix(fn: string, name: string, input: MatrixInput): Matrix {
  const v: unknown = input; // checked here: callers from JavaScript pass anything
  if (v instanceof tf.Tensor)
    throw new Error(
      `${fn}: ${name} is a tf.Tensor; pass it to the tensor form of the statistic, or pass an array here`,
    );
  let m: Matrix;
  if (isTypedArray(v) || (Array.isArray(v) && (v.length === 0 || !isNumberArray(v[0])))) {
    // one feature: n examples, 1 column
    const src = v as ArrayLike<number>;
    if (src.length === 0) throw new Error(`${fn}: ${name} is empty (no examples)`);
    const data = new Float32Array(src.length);
    copyNumbers(fn, name, src, data, 0);
    m = { data, rows: src.length, cols: 1, given: (k) => src[k], shape: '1-D' };
  } else if (Array.isArray(v)) {
    const rows = v as unknown[];
    const cols = (rows[0] as ArrayLike<number>).length;
    if (cols === 0) throw new Error(`${fn}: ${name}[0] is empty: no features (0 columns)`);
    const data = new Float32Array(rows.length * cols);
    rows.forEach((row, i) => {
      if (!isNumberArray(row))
        throw new Error(
          `${fn}: ${name}[${i}] is ${kind(row)}, not a row of numbers (${name}[0] is a row: every entry must be one)`,
        );
      if (row.length !== cols)
        throw new Error(`${fn}: ${name} is ragged: row ${i} has ${row.length} values but row 0 has ${cols}`);
      copyNumbers(fn, `${name}[${i}]`, row, data, i * cols);
    });
    m = {
      data,
      rows: rows.length,
      cols,
      given: (k) => (rows[Math.floor(k / cols)] as ArrayLike<number>)[k % cols],
      shape: 'rows',
    };
  } else if (typeof v === 'object' && v !== null && 'data' in v && 'columns' in v) {
    const { data: src, columns } = v;
    if (typeof columns !== 'number' || !Number.isInteger(columns) || columns < 1)
      throw new Error(`${fn}: ${name}.columns must be a positive integer, got ${String(columns)}`);
    if (!isNumberArray(src))
      throw new Error(`${fn}: ${name}.data must be a number[] or a typed array, got ${kind(src)}`);
    if (src.length === 0) throw new Error(`${fn}: ${name}.data is empty (no examples)`);
    if (src.length % columns !== 0)
      throw new Error(
        `${fn}: ${name}.data has ${src.length} values, not a multiple of ${name}.columns = ${columns} (row-major, one example per row)`,
      );
    const data = new Float32Array(src.length);
    copyNumbers(fn, `${name}.data`, src, data, 0);
    m = { data, rows: src.length / columns, cols: columns, given: (k) => src[k], shape: 'flat' };
  } else {
    throw new Error(
      `${fn}: ${name} must be number[][] (one row per example), a 1-D number[] or typed array (one feature), ` +
        `or { data, columns }; got ${kind(v)}`,
    );
  }
  const { count, first } = nonFinite(m.data);
  if (count > 0) {
    const given = m.given(first);
    const where =
      m.shape === '1-D'
        ? `${name}[${first}]`
        : m.shape === 'flat'
          ? `${name}.data[${first}] (row ${Math.floor(first / m.cols)}, column ${first % m.cols})`
          : `${name}[${Math.floor(first / m.cols)}][${first % m.cols}]`;
    const what =
      typeof given === 'number' && Number.isFinite(given)
        ? `${given}, beyond float32's range (the statistics compute in float32)`
        : String(given);
    throw new Error(
      `${fn}: ${where} is ${what} (${count} non-finite of ${m.data.length} entries in ${name}); inputs must be finite`,
    );
  }
  return m;
}

/**
 * Converts and checks the inputs, then runs `body` on their tensors inside one tf.tidy: every tensor
 * made here, by the conversion or by the statistic, is disposed on the way out (on an error too).
 */
function withTensors<T>(fn: string, inputs: Record<string, MatrixInput>, body: (t: tf.Tensor2D[]) => T): T {
  const mats = Object.entries(inputs).map(([name, v]) => [name, toMatrix(fn, name, v)] as const);
  const [firstName, firstMat] = mats[0];
  for (const [name, m] of mats.slice(1)) {
    if (m.rows !== firstMat.rows)
      throw new Error(
        `${fn}: ${firstName} has ${firstMat.rows} examples (rows) but ${name} has ${m.rows}; rows are examples and must match`,
      );
  }
  let result: T | undefined;
  tf.tidy(() => {
    result = body(mats.map(([, m]) => tf.tensor2d(m.data, [m.rows, m.cols])));
  });
  return result as T;
}

/** A scalar statistic of the inputs, read as a number. */
function run(fn: string, inputs: Record<string, MatrixInput>, stat: (...t: tf.Tensor2D[]) => tf.Scalar): number {
  return withTensors(fn, inputs, (t) => stat(...t).dataSync()[0]);
}

/** Squared distance covariance (V-statistic), as {@link dc.dcov2 | dcov2}. */
export function dcov2(x: MatrixInput, y: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.dcov2', { x, y }, (a, b) => dc.dcov2(a, b, opts));
}

/** Distance correlation R_n, not squared (= `energy::dcor`), as {@link dc.dcor | dcor}. */
export function dcor(x: MatrixInput, y: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.dcor', { x, y }, (a, b) => dc.dcor(a, b, opts));
}

/** Squared distance correlation R_n² (V-statistic), as {@link dc.dcor2 | dcor2}. */
export function dcor2(x: MatrixInput, y: MatrixInput, opts: DcorOptions & { rowNormalize?: boolean } = {}): number {
  return run('numeric.dcor2', { x, y }, (a, b) => dc.dcor2(a, b, opts));
}

/** Unbiased squared distance covariance (U-statistic, n ≥ 4), as {@link dc.dcovU | dcovU}. */
export function dcovU(x: MatrixInput, y: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.dcovU', { x, y }, (a, b) => dc.dcovU(a, b, opts));
}

/** Bias-corrected distance correlation R* (n ≥ 4, can be < 0), as {@link dc.bcdcor | bcdcor}. */
export function bcdcor(x: MatrixInput, y: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.bcdcor', { x, y }, (a, b) => dc.bcdcor(a, b, opts));
}

/** Partial distance covariance pdCov(x, y; z) (n ≥ 4), as {@link dc.pdcov | pdcov}. */
export function pdcov(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.pdcov', { x, y, z }, (a, b, c) => dc.pdcov(a, b, c, opts));
}

/** Partial distance correlation R*(x, y; z) (= `energy::pdcor`, n ≥ 4), as {@link dc.pdcor | pdcor}. */
export function pdcor(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.pdcor', { x, y, z }, (a, b, c) => dc.pdcor(a, b, c, opts));
}

/** Semi-partial distance correlation, z removed from x only (n ≥ 4), as {@link dc.semipartialDcor | semipartialDcor}. */
export function semipartialDcor(x: MatrixInput, y: MatrixInput, z: MatrixInput, opts: DcorOptions = {}): number {
  return run('numeric.semipartialDcor', { x, y, z }, (a, b, c) => dc.semipartialDcor(a, b, c, opts));
}

/** Permutation test of independence (as `energy::dcor.test`), as {@link dc.dcorTest | dcorTest}. */
export function dcorTest(
  x: MatrixInput,
  y: MatrixInput,
  opts: { permutations?: number; seed?: number } = {},
): DcorTestResult {
  return withTensors('numeric.dcorTest', { x, y }, ([a, b]) => dc.dcorTest(a, b, opts));
}

/** HSIC with a linear or RBF kernel, biased or unbiased, as {@link ck.hsic | hsic}. */
export function hsic(x: MatrixInput, y: MatrixInput, opts: HsicOptions = {}): number {
  return run('numeric.hsic', { x, y }, (a, b) => ck.hsic(a, b, opts));
}

/** Linear CKA, biased (default) or `debiased`, as {@link ck.linearCka | linearCka}. */
export function linearCka(x: MatrixInput, y: MatrixInput, opts: { debiased?: boolean } = {}): number {
  return run('numeric.linearCka', { x, y }, (a, b) => ck.linearCka(a, b, opts));
}

/** RBF CKA with the median bandwidth times `threshold`, as {@link ck.rbfCka | rbfCka}. */
export function rbfCka(x: MatrixInput, y: MatrixInput, opts: { threshold?: number; debiased?: boolean } = {}): number {
  return run('numeric.rbfCka', { x, y }, (a, b) => ck.rbfCka(a, b, opts));
}
