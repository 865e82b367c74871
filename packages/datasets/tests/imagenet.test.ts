/**
 * ImageNet folders: scanning, the Resize(256) + CenterCrop(224) decode into the one-time cache, the
 * file-backed dataset that reads it, cache reuse and invalidation, and the errors that name the file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { initBackend } from '@repro/runtime';
import {
  batches,
  decodeImageNetJpeg,
  exampleBytes,
  imagenetCachePaths,
  loadDataset,
  openImageNetSplit,
  prepareDataset,
  prepareImageNetSplit,
  scanJpegFolder,
  takeIndices,
  writeSyntheticImageNet,
} from '../src';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

beforeAll(async () => {
  await initBackend('wasm');
});

it('scans <split>/<wnid>/*.JPEG in sorted order and names missing or empty folders', async () => {
  const root = await writeSyntheticImageNet(tmp('repro-inet-'), { classes: 3, trainPerClass: 2 });
  const idx = scanJpegFolder(root, 'train');
  expect(idx.classNames).toEqual(['n01000000', 'n01000001', 'n01000002']);
  expect(Array.from(idx.labels)).toEqual([0, 0, 1, 1, 2, 2]);
  expect(idx.files[0]).toMatch(/train\/n01000000\/train_0_0\.JPEG$/);
  expect(() => scanJpegFolder(root, 'test')).toThrow(
    /test: missing split folder \(expected <root>\/test\/<wnid>\/\*\.JPEG/,
  );
  fs.mkdirSync(path.join(root, 'train', 'n09999999'));
  expect(() => scanJpegFolder(root, 'train')).toThrow(/n09999999: no \.JPEG files/);
});

it('decodes the centre 224 crop of the shorter-side-256 resize, greyscale as RGB', async () => {
  const dir = tmp('repro-inet-crop-');
  // 512 x 256: left half red, right half blue -> resized 512x256 (shorter side already 256), centre 256
  // columns 128-383, centre 224 columns 144-367: red on the left of column 112 of the crop, blue right
  const w = 512;
  const h = 256;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) px.set(x < 256 ? [220, 10, 10] : [10, 10, 220], 3 * (y * w + x));
  const file = path.join(dir, 'stripes.JPEG');
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 95 })
    .toFile(file);
  const out = await decodeImageNetJpeg(file);
  expect(out.length).toBe(224 * 224 * 3);
  const at = (y: number, x: number) => Array.from(out.subarray(3 * (y * 224 + x), 3 * (y * 224 + x) + 3));
  const [r1, , b1] = at(100, 20);
  const [r2, , b2] = at(100, 200);
  expect(r1).toBeGreaterThan(180);
  expect(b1).toBeLessThan(60);
  expect(b2).toBeGreaterThan(180);
  expect(r2).toBeLessThan(60);
  expect(at(100, 108)[0]).toBeGreaterThan(at(100, 116)[0]); // the edge sits at the crop's centre column 112
  const grey = path.join(dir, 'grey.JPEG');
  await sharp(Buffer.alloc(300 * 300, 77), { raw: { width: 300, height: 300, channels: 1 } })
    .jpeg()
    .toFile(grey);
  const g = await decodeImageNetJpeg(grey);
  expect(Array.from(g.subarray(0, 6)).every((v) => Math.abs(v - 77) <= 2)).toBe(true);
  fs.writeFileSync(path.join(dir, 'bad.JPEG'), Buffer.from('not a jpeg'));
  await expect(decodeImageNetJpeg(path.join(dir, 'bad.JPEG'))).rejects.toThrow(/bad\.JPEG: cannot decode JPEG/);
});

it('prepares each split once into a file-backed dataset that batches like any other, and redoes a stale cache', async () => {
  const root = await writeSyntheticImageNet(tmp('repro-inet-'), { classes: 2, trainPerClass: 3, valPerClass: 2 });
  expect(() => loadDataset('imagenet', 'test', { dataDir: root })).toThrow(/ImageNet val is not prepared/);
  await prepareDataset('imagenet', { dataDir: root });
  const { data: val, info } = loadDataset('imagenet', 'test', { dataDir: root });
  expect(val).toMatchObject({ name: 'imagenet', split: 'val', size: 4, numClasses: 2, shape: [224, 224, 3] });
  expect(val.images.length).toBe(0); // nothing held in memory
  const idx = scanJpegFolder(root, 'val');
  expect(Array.from(exampleBytes(val, 2))).toEqual(Array.from(await decodeImageNetJpeg(idx.files[2])));
  const sub = takeIndices(val, [3, 0]);
  expect(sub.images.length).toBe(2 * 224 * 224 * 3);
  expect(Array.from(sub.images.subarray(0, 30))).toEqual(Array.from(exampleBytes(val, 3).subarray(0, 30)));
  const [b] = [...batches(val, { batchSize: 4, normalize: info.normalize })];
  expect(b.x.shape).toEqual([4, 224, 224, 3]);
  expect(Array.from(b.y.dataSync())).toEqual([0, 0, 1, 1]);
  b.x.dispose();
  b.y.dispose();
  // reuse: the cache is not rewritten; a changed file makes it stale
  const paths = imagenetCachePaths(path.join(root, '.repro-cache'), 'train');
  const mtime = fs.statSync(paths.data).mtimeMs;
  await prepareImageNetSplit(root, 'train');
  expect(fs.statSync(paths.data).mtimeMs).toBe(mtime);
  fs.appendFileSync(idx.files[0].replace('/val/', '/train/').replace('val_', 'train_'), Buffer.alloc(10));
  const lines: string[] = [];
  await prepareImageNetSplit(root, 'train', { log: (l) => lines.push(l) });
  expect(lines.join('\n')).toMatch(/stale/);
  expect(openImageNetSplit(root, 'train').size).toBe(6);
});

it('a corrupt JPEG stops the preparation with the file named and leaves no cache', async () => {
  const root = await writeSyntheticImageNet(tmp('repro-inet-'), { classes: 2, trainPerClass: 2 });
  const bad = path.join(root, 'val', 'n01000001', 'val_1_9.JPEG');
  fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
  await expect(prepareImageNetSplit(root, 'val')).rejects.toThrow(/val_1_9\.JPEG: cannot decode JPEG/);
  const paths = imagenetCachePaths(path.join(root, '.repro-cache'), 'val');
  expect(fs.existsSync(paths.data) || fs.existsSync(paths.manifest)).toBe(false);
  expect(fs.readdirSync(path.join(root, '.repro-cache')).filter((f) => f.includes('val'))).toEqual([]);
});
