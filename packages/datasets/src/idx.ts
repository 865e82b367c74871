/**
 * IDX files (MNIST, Fashion-MNIST), raw or gzipped. Format: 2 zero bytes, a type byte (0x08 =
 * unsigned byte), the number of dimensions, then each dimension as a big-endian uint32, then data.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** The bytes of a data file; a missing or unreadable file is an error naming it and the reason. */
export function readDataFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      cause: err,
    });
  }
}

export function readFileMaybeGzip(file: string): Buffer {
  const raw = readDataFile(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (err) {
      throw new Error(`${file}: corrupt gzip data (${(err as Error).message})`, { cause: err });
    }
  }
  return raw;
}

/** Parses an IDX buffer of unsigned bytes; `file` names the source in errors. */
export function parseIdx(buf: Buffer, file: string): IdxArray {
  if (buf.length < 4) throw new Error(`${file}: not an IDX file (only ${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(
      `${file}: not an IDX file (bad magic number 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')})`,
    );
  }
  if (buf[2] !== 0x08) throw new Error(`${file}: IDX data type 0x${buf[2].toString(16)} is not unsigned byte (0x08)`);
  const ndim = buf[3];
  if (ndim < 1 || ndim > 4) throw new Error(`${file}: IDX header claims ${ndim} dimensions`);
  const headerLen = 4 + 4 * ndim;
  if (buf.length < headerLen) throw new Error(`${file}: truncated IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const got = buf.length - headerLen;
  if (got !== expected) {
    throw new Error(
      `${file}: ${got < expected ? 'truncated' : 'oversized'} IDX data: header says ${dims.join('x')} = ${expected} bytes, file has ${got}`,
    );
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerLen, expected) };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readFileMaybeGzip(file), file);
}

/** Writes an IDX file of unsigned bytes (used by tests and by the fixture tool). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.length)]);
}
