/** .npy reading on files written here byte by byte in NumPy's format (v1.0), independent of the parser. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readNpyLabels, readNpyMatrix, writeNpy } from '../src';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-npy-'));

/** NumPy's .npy v1.0 layout: magic, version, header length, a padded Python-dict header, the data. */
function writeRawNpy(name: string, descr: string, shape: number[], data: Buffer, fortran = false): string {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), len, Buffer.from(header, 'latin1'), data]),
  );
  return file;
}
const f32 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const f64 = (xs: number[]) => Buffer.from(new Float64Array(xs).buffer);
const i64 = (xs: number[]) => Buffer.from(new BigInt64Array(xs.map(BigInt)).buffer);

it('reads float32 and float64 matrices row-major, and transposes Fortran order', () => {
  const a = readNpyMatrix(writeRawNpy('a.npy', '<f4', [3, 2], f32([1, 2, 3, 4, 5, 6])));
  expect(a).toMatchObject({ rows: 3, cols: 2, dtype: 'f4' });
  expect(Array.from(a.values)).toEqual([1, 2, 3, 4, 5, 6]);
  const b = readNpyMatrix(writeRawNpy('b.npy', '<f8', [2, 3], f64([0.5, -1, 2, 3, 4.25, 5])));
  expect(Array.from(b.values)).toEqual([0.5, -1, 2, 3, 4.25, 5]);
  // column-major [2, 3]: columns (1, 4), (2, 5), (3, 6)
  const c = readNpyMatrix(writeRawNpy('c.npy', '<f4', [2, 3], f32([1, 4, 2, 5, 3, 6]), true));
  expect(Array.from(c.values)).toEqual([1, 2, 3, 4, 5, 6]);
  const v = readNpyMatrix(writeRawNpy('v.npy', '<f4', [4], f32([1, 2, 3, 4])));
  expect(v).toMatchObject({ rows: 4, cols: 1 });
});

it('reads integer labels; rejects fractional or negative ones', () => {
  expect(Array.from(readNpyLabels(writeRawNpy('l.npy', '<i8', [4], i64([0, 3, 9, 1]))))).toEqual([0, 3, 9, 1]);
  expect(Array.from(readNpyLabels(writeRawNpy('lf.npy', '<f8', [2], f64([2, 7]))))).toEqual([2, 7]);
  const bad = writeRawNpy('lb.npy', '<f8', [3], f64([1, 2.5, 3]));
  expect(() => readNpyLabels(bad)).toThrow(`${bad}: label 2.5 at index 1 is not a non-negative integer`);
  const neg = writeRawNpy('ln.npy', '<i8', [2], i64([1, -1]));
  expect(() => readNpyLabels(neg)).toThrow(/label -1 at index 1/);
  const twoD = writeRawNpy('l2.npy', '<i8', [2, 1], i64([1, 2]));
  expect(() => readNpyLabels(twoD)).toThrow(/expected a 1-D array of labels, got shape \[2, 1\]/);
});

it('every bad file is an error naming it and the problem', () => {
  const missing = path.join(dir, 'nope.npy');
  expect(() => readNpyMatrix(missing)).toThrow(`${missing}: cannot read (ENOENT)`);
  const text = path.join(dir, 'text.npy');
  fs.writeFileSync(text, 'hello, this is not numpy');
  expect(() => readNpyMatrix(text)).toThrow(`${text}: not a NumPy .npy file`);
  const cube = writeRawNpy('cube.npy', '<f4', [2, 2, 2], f32([1, 2, 3, 4, 5, 6, 7, 8]));
  expect(() => readNpyMatrix(cube)).toThrow(/expected a 2-D array \[examples, features\], got shape \[2, 2, 2\]/);
  const short = writeRawNpy('short.npy', '<f4', [3, 2], f32([1, 2, 3]));
  expect(() => readNpyMatrix(short)).toThrow(new RegExp(`${short.replace(/[.]/g, '\\.')}: (truncated|corrupt)`));
  const strings = writeRawNpy('s.npy', '<U1', [2], Buffer.from(new Uint32Array([65, 66]).buffer));
  expect(() => readNpyMatrix(strings)).toThrow(/dtype 'U1' is not supported/);
});

it('writeNpy round-trips float32 matrices and int32 labels through the reader, and checks the shape', () => {
  const f = path.join(dir, 'w.npy');
  writeNpy(f, new Float32Array([1.5, -2, 3, 4, 5, 6.25]), [2, 3]);
  expect(readNpyMatrix(f)).toMatchObject({ rows: 2, cols: 3, values: new Float32Array([1.5, -2, 3, 4, 5, 6.25]) });
  const l = path.join(dir, 'wl.npy');
  writeNpy(l, new Int32Array([3, 0, 9]), [3]);
  expect(Array.from(readNpyLabels(l))).toEqual([3, 0, 9]);
  expect(() => writeNpy(f, new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] does not hold 5 values/);
});
