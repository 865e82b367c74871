import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { readImageFolder } from '../src';
import { tmpDir } from './helpers';

function writePng(file: string, w: number, h: number, rgb: [number, number, number]): void {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    png.data[i * 4] = rgb[0];
    png.data[i * 4 + 1] = rgb[1];
    png.data[i * 4 + 2] = rgb[2];
    png.data[i * 4 + 3] = 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

describe('CINIC-10-style image folders', () => {
  it('reads <split>/<class>/*.png with sorted class names', () => {
    const root = tmpDir('cinic');
    writePng(path.join(root, 'train', 'cat', 'a.png'), 4, 3, [10, 20, 30]);
    writePng(path.join(root, 'train', 'cat', 'b.png'), 4, 3, [11, 21, 31]);
    writePng(path.join(root, 'train', 'airplane', 'z.png'), 4, 3, [200, 100, 0]);
    const ds = readImageFolder(root, 'train', { name: 'cinic10' });
    expect(ds.classNames).toEqual(['airplane', 'cat']);
    expect(ds.shape).toEqual([3, 4, 3]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1]);
    expect(Array.from(ds.images.subarray(0, 3))).toEqual([200, 100, 0]);
    expect(Array.from(ds.images.subarray(12 * 3, 12 * 3 + 3))).toEqual([10, 20, 30]);
  });

  it('images of different sizes fail naming the file', () => {
    const root = tmpDir('cinic');
    writePng(path.join(root, 'valid', 'a', '1.png'), 4, 4, [0, 0, 0]);
    writePng(path.join(root, 'valid', 'a', '2.png'), 5, 4, [0, 0, 0]);
    expect(() => readImageFolder(root, 'valid')).toThrow(/2\.png: image is 5x4, the others are 4x4/);
  });

  it('a corrupt PNG fails naming the file', () => {
    const root = tmpDir('cinic');
    fs.mkdirSync(path.join(root, 'test', 'a'), { recursive: true });
    fs.writeFileSync(path.join(root, 'test', 'a', 'bad.png'), 'not a png');
    expect(() => readImageFolder(root, 'test')).toThrow(/bad\.png: cannot decode PNG/);
  });

  it('a missing split fails', () => {
    expect(() => readImageFolder(tmpDir('cinic'), 'train')).toThrow(/missing split folder/);
  });
});
