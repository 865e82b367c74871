import * as fs from 'fs';
import * as path from 'path';
import { encodeCifarRecords, readCifar10, readCifar100 } from '../src';
import { tmpDir } from './helpers';

function fakeImages(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n * 3072);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7 + seed * 13) % 251;
  return a;
}

describe('CIFAR binary readers', () => {
  it('round-trips CIFAR-10 (planar CHW on disk → HWC in memory)', () => {
    const root = path.join(tmpDir('cifar'), 'cifar-10-batches-bin');
    fs.mkdirSync(root);
    const all: Uint8Array[] = [];
    for (let b = 1; b <= 5; b++) {
      const im = fakeImages(3, b);
      all.push(im);
      fs.writeFileSync(path.join(root, `data_batch_${b}.bin`), encodeCifarRecords(im, [[b], [b + 1], [(b + 2) % 10]]));
    }
    fs.writeFileSync(path.join(root, 'test_batch.bin'), encodeCifarRecords(fakeImages(2, 9), [[0], [9]]));
    const train = readCifar10(path.dirname(root), 'train');
    expect(train.size).toBe(15);
    expect(train.shape).toEqual([32, 32, 3]);
    expect(Array.from(train.labels.slice(0, 3))).toEqual([1, 2, 3]);
    expect(Buffer.from(train.images.subarray(0, 3 * 3072)).equals(Buffer.from(all[0]))).toBe(true);
    // on disk the first 1024 bytes after the label are the red plane
    const disk = fs.readFileSync(path.join(root, 'data_batch_1.bin'));
    expect(train.images[3]).toBe(disk[1 + 1]); // pixel 1, red
    expect(train.images[4]).toBe(disk[1 + 1024 + 1]); // pixel 1, green
    const test = readCifar10(root, 'test');
    expect(Array.from(test.labels)).toEqual([0, 9]);
    expect(test.classNames[0]).toBe('airplane');
  });

  it('a truncated CIFAR-10 batch fails naming the file', () => {
    const root = tmpDir('cifar');
    const buf = encodeCifarRecords(fakeImages(2, 1), [[1], [2]]);
    fs.writeFileSync(path.join(root, 'test_batch.bin'), buf.subarray(0, buf.length - 10));
    expect(() => readCifar10(root, 'test')).toThrow(
      new RegExp(`${path.join(root, 'test_batch.bin')}: .* not a whole number of 3073-byte`),
    );
  });

  it('a CIFAR-10 label above 9 fails', () => {
    const root = tmpDir('cifar');
    fs.writeFileSync(path.join(root, 'test_batch.bin'), encodeCifarRecords(fakeImages(2, 1), [[1], [200]]));
    expect(() => readCifar10(root, 'test')).toThrow(/record 1 has label 200, outside \[0, 10\)/);
  });

  it('a missing batch fails naming it', () => {
    const root = tmpDir('cifar');
    expect(() => readCifar10(root, 'train')).toThrow(/data_batch_1\.bin: missing CIFAR batch file/);
  });

  it('reads CIFAR-100 fine and coarse labels', () => {
    const root = path.join(tmpDir('cifar'), 'cifar-100-binary');
    fs.mkdirSync(root);
    fs.writeFileSync(
      path.join(root, 'train.bin'),
      encodeCifarRecords(fakeImages(3, 2), [
        [4, 99],
        [19, 0],
        [0, 42],
      ]),
    );
    const ds = readCifar100(path.dirname(root), 'train');
    expect(ds.numClasses).toBe(100);
    expect(Array.from(ds.labels)).toEqual([99, 0, 42]);
    expect(Array.from(ds.coarseLabels!)).toEqual([4, 19, 0]);
    fs.writeFileSync(path.join(root, 'test.bin'), encodeCifarRecords(fakeImages(1, 2), [[20, 1]]));
    expect(() => readCifar100(root, 'test')).toThrow(/label 20, outside \[0, 20\)/);
  });
});
