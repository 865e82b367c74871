/**
 * CIFAR binary formats (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"):
 * - cifar-10-batches-bin: data_batch_1..5.bin, test_batch.bin; records of 1 label byte + 3072 pixel
 *   bytes (1024 R, 1024 G, 1024 B, row-major 32x32); class names in batches.meta.txt.
 * - cifar-100-binary: train.bin, test.bin; records of 1 coarse + 1 fine label byte + 3072 pixels;
 *   names in coarse_label_names.txt and fine_label_names.txt.
 * Pixels are converted from planar CHW to HWC.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageDataset, validateDataset } from './dataset';

const PIXELS = 3072;
const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function readBinary(file: string): Buffer {
  if (!fs.existsSync(file)) throw new Error(`${file}: missing CIFAR batch file`);
  return fs.readFileSync(file);
}

function readNames(file: string, expected: number): string[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const names = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== expected) throw new Error(`${file}: ${names.length} class names, expected ${expected}`);
  return names;
}

/** Decodes records of `labelBytes` label bytes + 3072 planar pixels. */
function decodeRecords(
  bufs: Array<{ file: string; buf: Buffer }>,
  labelBytes: 1 | 2,
  labelLimits: number[],
): { images: Uint8Array; labels: Int32Array[]; size: number } {
  const rec = labelBytes + PIXELS;
  for (const { file, buf } of bufs) {
    if (buf.length === 0 || buf.length % rec !== 0) {
      throw new Error(
        `${file}: ${buf.length} bytes is not a whole number of ${rec}-byte CIFAR records (truncated or not CIFAR binary)`,
      );
    }
  }
  const size = bufs.reduce((a, b) => a + b.buf.length / rec, 0);
  const images = new Uint8Array(size * PIXELS);
  const labels = Array.from({ length: labelBytes }, () => new Int32Array(size));
  let k = 0;
  for (const { file, buf } of bufs) {
    for (let off = 0; off < buf.length; off += rec, k++) {
      for (let b = 0; b < labelBytes; b++) {
        const l = buf[off + b];
        if (l >= labelLimits[b]) {
          throw new Error(
            `${file}: record ${(off / rec) | 0} has label ${l}, outside [0, ${labelLimits[b]}) (corrupt file?)`,
          );
        }
        labels[b][k] = l;
      }
      const px = off + labelBytes;
      const dst = k * PIXELS;
      for (let i = 0; i < 1024; i++) {
        images[dst + i * 3] = buf[px + i]!;
        images[dst + i * 3 + 1] = buf[px + 1024 + i]!;
        images[dst + i * 3 + 2] = buf[px + 2048 + i]!;
      }
    }
  }
  return { images, labels, size };
}

/** Reads CIFAR-10 from a `cifar-10-batches-bin` folder (or its parent). */
export function readCifar10(dir: string, split: 'train' | 'test'): ImageDataset {
  const root = fs.existsSync(path.join(dir, 'cifar-10-batches-bin')) ? path.join(dir, 'cifar-10-batches-bin') : dir;
  const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const bufs = files.map((f) => ({ file: path.join(root, f), buf: readBinary(path.join(root, f)) }));
  const { images, labels, size } = decodeRecords(bufs, 1, [10]);
  const names = readNames(path.join(root, 'batches.meta.txt'), 10) ?? CIFAR10_NAMES;
  return validateDataset({
    name: 'cifar10',
    split,
    size,
    shape: [32, 32, 3],
    numClasses: 10,
    classNames: names,
    images,
    labels: labels[0],
    source: root,
  });
}

/** Reads CIFAR-100 from a `cifar-100-binary` folder (or its parent); labels are the 100 fine classes. */
export function readCifar100(dir: string, split: 'train' | 'test'): ImageDataset {
  const root = fs.existsSync(path.join(dir, 'cifar-100-binary')) ? path.join(dir, 'cifar-100-binary') : dir;
  const file = path.join(root, `${split}.bin`);
  const { images, labels, size } = decodeRecords([{ file, buf: readBinary(file) }], 2, [20, 100]);
  const fine =
    readNames(path.join(root, 'fine_label_names.txt'), 100) ?? Array.from({ length: 100 }, (_, i) => `class${i}`);
  const coarse =
    readNames(path.join(root, 'coarse_label_names.txt'), 20) ?? Array.from({ length: 20 }, (_, i) => `superclass${i}`);
  return validateDataset({
    name: 'cifar100',
    split,
    size,
    shape: [32, 32, 3],
    numClasses: 100,
    classNames: fine,
    images,
    labels: labels[1],
    coarseLabels: labels[0],
    coarseClassNames: coarse,
    source: root,
  });
}

/** Encodes records in the CIFAR binary layout (tests make small CIFAR files with it). */
export function encodeCifarRecords(imagesHwc: Uint8Array, labelRows: number[][]): Buffer {
  const n = labelRows.length;
  const lb = labelRows[0]?.length ?? 1;
  const out = Buffer.alloc(n * (lb + PIXELS));
  for (let k = 0; k < n; k++) {
    const off = k * (lb + PIXELS);
    labelRows[k].forEach((l, b) => (out[off + b] = l));
    for (let i = 0; i < 1024; i++) {
      for (let c = 0; c < 3; c++) out[off + lb + c * 1024 + i] = imagesHwc[k * PIXELS + i * 3 + c]!;
    }
  }
  return out;
}

/**
 * Writes a small synthetic CIFAR-10 folder (`<parent>/cifar-10-batches-bin`, 5 training batches and
 * a test batch of deterministic images with labels cycling over the 10 classes) and returns the
 * parent, the `--data-dir` a paper-scale run takes. For tests of the paper-scale data path.
 */
export function writeSyntheticCifar10(parent: string, opts: { perTrainBatch?: number; test?: number } = {}): string {
  const root = path.join(parent, 'cifar-10-batches-bin');
  fs.mkdirSync(root, { recursive: true });
  const batch = (n: number, salt: number) => {
    const im = new Uint8Array(n * PIXELS).map((_, i) => (i * 31 + salt * 17) % 256);
    return encodeCifarRecords(
      im,
      Array.from({ length: n }, (_, k) => [(k + salt) % 10]),
    );
  };
  for (let b = 1; b <= 5; b++)
    fs.writeFileSync(path.join(root, `data_batch_${b}.bin`), batch(opts.perTrainBatch ?? 8, b));
  fs.writeFileSync(path.join(root, 'test_batch.bin'), batch(opts.test ?? 20, 9));
  return parent;
}

/**
 * Writes a small synthetic CIFAR-100 folder (`<parent>/cifar-100-binary` with train.bin and test.bin:
 * deterministic pseudo-random images, fine labels cycling over the 100 classes, coarse label = fine / 5) and returns
 * the parent, the `--data-dir` a paper-scale run takes. For tests of the paper-scale data path.
 */
export function writeSyntheticCifar100(parent: string, opts: { train?: number; test?: number } = {}): string {
  const root = path.join(parent, 'cifar-100-binary');
  fs.mkdirSync(root, { recursive: true });
  const file = (n: number, salt: number) => {
    // pseudo-random bytes (a multiplicative hash of the index), so that images differ in every statistic
    const im = new Uint8Array(n * PIXELS).map((_, i) => Math.imul(i + 1 + salt * 7919, 2654435761) >>> 24);
    return encodeCifarRecords(
      im,
      Array.from({ length: n }, (_, k) => [Math.floor(((k + salt) % 100) / 5), (k + salt) % 100]),
    );
  };
  fs.writeFileSync(path.join(root, 'train.bin'), file(opts.train ?? 200, 1));
  fs.writeFileSync(path.join(root, 'test.bin'), file(opts.test ?? 100, 2));
  return parent;
}
