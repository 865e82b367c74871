/**
 * NumPy .npy files (features and labels dumped from any framework), parsed by npyjs. Features come
 * back as a float32 row-major matrix [rows, cols] (float64 and integer arrays are converted; a
 * Fortran-ordered array is transposed into row order), labels as int32. Every error names the file
 * and the problem: missing, not an .npy file, an unsupported dtype, the wrong rank, non-integer labels.
 */
import { dump, parse, type NpyArray } from 'npyjs';
import { writeFileAtomic } from '@repro/runtime';
import { readDataFile } from './idx';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function readNpyFile(file: string): NpyArray {
  const buf = readDataFile(file);
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b))
    throw new Error(`${file}: not a NumPy .npy file (no \\x93NUMPY header)`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  let arr: NpyArray;
  try {
    arr = parse(ab as ArrayBuffer);
  } catch (err) {
    throw new Error(`${file}: corrupt .npy file (${(err as Error).message})`, { cause: err });
  }
  const expected = arr.shape.reduce((a, d) => a * d, 1);
  if ((arr.data as unknown as ArrayLike<unknown>).length !== expected) {
    throw new Error(
      `${file}: truncated .npy data (${(arr.data as unknown as ArrayLike<unknown>).length} of ${expected} values for shape [${arr.shape.join(', ')}])`,
    );
  }
  return arr;
}

const NUMERIC = new Set(['i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8', 'b1']);

function numbers(file: string, arr: NpyArray): ArrayLike<number> {
  if (!NUMERIC.has(arr.dtype))
    throw new Error(`${file}: dtype '${arr.dtype}' is not supported (need a real number array: float, int, bool)`);
  const data = arr.data as unknown as ArrayLike<number | bigint>;
  if (arr.dtype === 'i8' || arr.dtype === 'u8') {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Number(data[i]);
      if (!Number.isSafeInteger(v))
        throw new Error(`${file}: 64-bit integer ${String(data[i])} at index ${i} does not fit a double exactly`);
      out[i] = v;
    }
    return out;
  }
  return data as ArrayLike<number>;
}

export interface NpyMatrix {
  /** Row-major float32 values, rows × cols. */
  values: Float32Array;
  rows: number;
  cols: number;
  dtype: string;
}

/** A 2-D array (rows = examples) as float32; a 1-D array is one column. */
export function readNpyMatrix(file: string): NpyMatrix {
  const arr = readNpyFile(file);
  if (arr.shape.length !== 2 && arr.shape.length !== 1) {
    throw new Error(`${file}: expected a 2-D array [examples, features], got shape [${arr.shape.join(', ')}]`);
  }
  const [rows, cols] = arr.shape.length === 2 ? [arr.shape[0], arr.shape[1]] : [arr.shape[0], 1];
  const src = numbers(file, arr);
  const values = new Float32Array(rows * cols);
  if (arr.fortranOrder && arr.shape.length === 2) {
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) values[r * cols + c] = src[c * rows + r]!;
  } else {
    for (let i = 0; i < values.length; i++) values[i] = src[i]!;
  }
  return { values, rows, cols, dtype: arr.dtype };
}

/** A 1-D array of integer class labels (any integer dtype, or floats holding integers) as int32. */
export function readNpyLabels(file: string): Int32Array {
  const arr = readNpyFile(file);
  if (arr.shape.length !== 1)
    throw new Error(`${file}: expected a 1-D array of labels, got shape [${arr.shape.join(', ')}]`);
  const src = numbers(file, arr);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1)
      throw new Error(`${file}: label ${v} at index ${i} is not a non-negative integer`);
    out[i] = v;
  }
  return out;
}

/**
 * Writes a float32 or int32 array as a NumPy .npy file (atomically; encoded by npyjs), e.g.
 * features [rows, cols] for `pdc-diverge compare --features-x`, or labels [n].
 */
export function writeNpy(file: string, data: Float32Array | Int32Array, shape: number[]): void {
  const size = shape.reduce((a, d) => a * d, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || size !== data.length)
    throw new Error(`writeNpy(${file}): shape [${shape.join(', ')}] does not hold ${data.length} values`);
  writeFileAtomic(file, new Uint8Array(dump(data, shape)));
}
