import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx, loadFashionMnist, readIdx, readIdxPair, FASHION_MNIST_CLASSES } from '../src';
import { FIXTURE_DIR, tmpDir } from './helpers';

describe('IDX reader', () => {
  it('reads the gzipped Fashion-MNIST fixture', () => {
    const train = loadFashionMnist('train', { dataDir: FIXTURE_DIR });
    expect(train.size).toBe(300);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.numClasses).toBe(10);
    const counts = new Array(10).fill(0);
    train.labels.forEach((l) => counts[l]++);
    expect(counts).toEqual(new Array(10).fill(30));
    const test = loadFashionMnist('test', { dataDir: FIXTURE_DIR });
    expect(test.size).toBe(100);
    // real images: mostly dark background, not constant
    const mean = train.images.reduce((a, b) => a + b, 0) / train.images.length;
    expect(mean).toBeGreaterThan(30);
    expect(mean).toBeLessThan(120);
  });

  it('reads raw (not gzipped) files identically', () => {
    const dir = tmpDir('idx');
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte']) {
      fs.writeFileSync(path.join(dir, f), zlib.gunzipSync(fs.readFileSync(path.join(FIXTURE_DIR, `${f}.gz`))));
    }
    const raw = loadFashionMnist('train', { dataDir: dir });
    const gz = loadFashionMnist('train', { dataDir: FIXTURE_DIR });
    expect(Buffer.from(raw.images).equals(Buffer.from(gz.images))).toBe(true);
    expect(Array.from(raw.labels)).toEqual(Array.from(gz.labels));
  });

  it('finds the files through REPRO_DATA_DIR and a fashion-mnist/ subfolder', () => {
    const dir = tmpDir('idx');
    fs.mkdirSync(path.join(dir, 'fashion-mnist'));
    for (const f of fs.readdirSync(FIXTURE_DIR))
      fs.copyFileSync(path.join(FIXTURE_DIR, f), path.join(dir, 'fashion-mnist', f));
    const old = process.env.REPRO_DATA_DIR;
    process.env.REPRO_DATA_DIR = dir;
    try {
      expect(loadFashionMnist('test').source).toBe(path.join(dir, 'fashion-mnist'));
    } finally {
      if (old === undefined) delete process.env.REPRO_DATA_DIR;
      else process.env.REPRO_DATA_DIR = old;
    }
  });

  it('a truncated file fails with an error naming the file', () => {
    const dir = tmpDir('idx');
    const full = zlib.gunzipSync(fs.readFileSync(path.join(FIXTURE_DIR, 'train-images-idx3-ubyte.gz')));
    const file = path.join(dir, 'train-images-idx3-ubyte');
    fs.writeFileSync(file, full.subarray(0, full.length - 100));
    expect(() => readIdx(file)).toThrow(new RegExp(`${file}: truncated IDX data`));
  });

  it('a truncated gzip fails with an error naming the file', () => {
    const dir = tmpDir('idx');
    const gz = fs.readFileSync(path.join(FIXTURE_DIR, 'train-images-idx3-ubyte.gz'));
    const file = path.join(dir, 'train-images-idx3-ubyte.gz');
    fs.writeFileSync(file, gz.subarray(0, gz.length / 2));
    expect(() => readIdx(file)).toThrow(new RegExp(`${file}: corrupt gzip data`));
  });

  it('a wrong magic number fails', () => {
    const dir = tmpDir('idx');
    const file = path.join(dir, 'x-idx3-ubyte');
    fs.writeFileSync(file, Buffer.from('PK\x03\x04 this is a zip file, not IDX'));
    expect(() => readIdx(file)).toThrow(/not an IDX file \(bad magic number/);
  });

  it('a label outside the classes fails', () => {
    const dir = tmpDir('idx');
    const im = path.join(dir, 'im');
    const lb = path.join(dir, 'lb');
    fs.writeFileSync(im, encodeIdx([2, 2, 2], new Uint8Array(8)));
    fs.writeFileSync(lb, encodeIdx([2], Uint8Array.from([3, 12])));
    expect(() => readIdxPair(im, lb, { name: 't', split: 'train', classNames: FASHION_MNIST_CLASSES })).toThrow(
      `${lb}: label 12 of example 1 is outside [0, 10)`,
    );
  });

  it('images and labels of different counts fail', () => {
    const dir = tmpDir('idx');
    const im = path.join(dir, 'im');
    const lb = path.join(dir, 'lb');
    fs.writeFileSync(im, encodeIdx([2, 2, 2], new Uint8Array(8)));
    fs.writeFileSync(lb, encodeIdx([3], Uint8Array.from([1, 2, 3])));
    expect(() => readIdxPair(im, lb, { name: 't', split: 'train', classNames: FASHION_MNIST_CLASSES })).toThrow(
      /has 2 images but .* has 3 labels/,
    );
  });

  it('missing data fails with the install command', () => {
    const dir = tmpDir('idx');
    expect(() => loadFashionMnist('train', { dataDir: dir })).toThrow(
      /not found; looked in: .*tools\/install-fashion-mnist\.sh/,
    );
  });

  it('an images file without its labels file fails naming the gap', () => {
    const dir = tmpDir('idx');
    fs.copyFileSync(path.join(FIXTURE_DIR, 'train-images-idx3-ubyte.gz'), path.join(dir, 'train-images-idx3-ubyte.gz'));
    expect(() => loadFashionMnist('train', { dataDir: dir })).toThrow(/but not its labels file/);
  });
});
