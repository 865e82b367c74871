import * as tf from '@tensorflow/tfjs';
import { initBackend, Rng } from '@repro/runtime';
import {
  batchCount,
  batches,
  channelStats,
  firstKPerClass,
  loadFashionMnist,
  selectClasses,
  ImageDataset,
} from '../src';
import { FIXTURE_DIR } from './helpers';

let ds: ImageDataset;
beforeAll(async () => {
  await initBackend('wasm');
  ds = loadFashionMnist('train', { dataDir: FIXTURE_DIR });
});

describe('batches', () => {
  it('covers the dataset once, with the last batch incomplete unless dropped', () => {
    expect(batchCount(ds, { batchSize: 64 })).toBe(5);
    expect(batchCount(ds, { batchSize: 64, dropLast: true })).toBe(4);
    const seen: number[] = [];
    for (const b of batches(ds, { batchSize: 64, shuffle: new Rng(1) })) {
      seen.push(...b.indices);
      tf.dispose([b.x, b.y]);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('scales to [0,1] by default and applies per-channel normalisation', () => {
    const [b] = batches(ds, { batchSize: 8 });
    const x = b.x.dataSync();
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(x[0]).toBeCloseTo(ds.images[0] / 255, 6);
    tf.dispose([b.x, b.y]);
    const stats = channelStats(ds);
    const [n] = batches(ds, { batchSize: 300, normalize: stats });
    const v = Array.from(n.x.dataSync());
    const mean = v.reduce((a, c) => a + c, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, c) => a + (c - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(sd).toBeCloseTo(1, 4);
    tf.dispose([n.x, n.y]);
  });

  it('pads 28→32 and repeats grey into 3 channels', () => {
    const [b] = batches(ds, { batchSize: 2, padTo: 32, channels: 3 });
    expect(b.x.shape).toEqual([2, 32, 32, 3]);
    const x = b.x.arraySync();
    expect(x[0][0][0]).toEqual([0, 0, 0]); // padding
    const px = ds.images[0 * 784 + 10 * 28 + 12] / 255; // (10,12) of image 0 lands at (12,14)
    expect(x[0][12][14][0]).toBeCloseTo(px, 6);
    expect(x[0][12][14][2]).toBeCloseTo(px, 6);
    tf.dispose([b.x, b.y]);
  });

  it('shuffling and augmentation are seeded', () => {
    const run = (seed: number) => {
      const rng = new Rng(seed);
      const [b] = batches(ds, {
        batchSize: 16,
        shuffle: rng.fork('shuffle'),
        augment: { cropPadding: 4, horizontalFlip: true, rng: rng.fork('augment') },
      });
      const out = { x: Array.from(b.x.dataSync()), i: Array.from(b.indices) };
      tf.dispose([b.x, b.y]);
      return out;
    };
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(a).toEqual(b);
    expect(a.i).not.toEqual(c.i);
  });

  it('a horizontal flip mirrors the image', () => {
    const plain = [...batches(ds, { batchSize: 1 })][0];
    // a generator whose draws are < 0.5 always flips
    const always = new Rng(0);
    always.next = () => 0.1;
    const flipped = [
      ...batches(firstKPerClass(ds, 30), { batchSize: 1, augment: { horizontalFlip: true, rng: always } }),
    ][0];
    const p = plain.x.arraySync()[0];
    const f = flipped.x.arraySync()[0];
    expect(f[5][0]).toEqual(p[5][27]);
    expect(f[20][3]).toEqual(p[20][24]);
    tf.dispose([plain.x, plain.y, flipped.x, flipped.y]);
  });

  it('creates no tensors beyond the ones it yields', () => {
    const before = tf.memory().numTensors;
    for (const b of batches(ds, { batchSize: 100 })) tf.dispose([b.x, b.y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad batch size', () => {
    expect(() => [...batches(ds, { batchSize: 0 })]).toThrow(/batchSize must be a positive integer/);
  });
});

describe('subsets', () => {
  it('firstKPerClass keeps k of each class', () => {
    const s = firstKPerClass(ds, 3);
    expect(s.size).toBe(30);
  });

  it('selectClasses relabels 5..9 to 0..4', () => {
    const s = selectClasses(ds, [5, 6, 7, 8, 9]);
    expect(s.numClasses).toBe(5);
    expect(s.size).toBe(150);
    expect(Math.max(...s.labels)).toBe(4);
    expect(s.classNames[0]).toBe('Sandal');
    expect(() => selectClasses(ds, [10])).toThrow(/class 10 is not in \[0, 10\)/);
  });
});
