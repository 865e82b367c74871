/**
 * Image folders in the CINIC-10 layout: `<root>/<split>/<class>/*.png`. Classes are the sorted
 * folder names; every image must have the same size. Decoded with pngjs; grey, grey+alpha, RGB and
 * RGBA inputs become `channels` channels (alpha dropped).
 */
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { ImageDataset, validateDataset } from './dataset';

export function readImageFolder(
  root: string,
  split: string,
  opts: { name?: string; channels?: 1 | 3 } = {},
): ImageDataset {
  const dir = path.join(root, split);
  if (!fs.existsSync(dir)) throw new Error(`${dir}: missing split folder (expected <root>/${split}/<class>/*.png)`);
  const classNames = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (classNames.length === 0) throw new Error(`${dir}: no class folders`);
  const channels = opts.channels ?? 3;
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  let shape: [number, number, number] | undefined;
  classNames.forEach((cls, label) => {
    const files = fs
      .readdirSync(path.join(dir, cls))
      .filter((f) => f.toLowerCase().endsWith('.png'))
      .sort();
    for (const f of files) {
      const file = path.join(dir, cls, f);
      let png: PNG;
      try {
        png = PNG.sync.read(fs.readFileSync(file));
      } catch (err) {
        throw new Error(`${file}: cannot decode PNG (${(err as Error).message})`, { cause: err });
      }
      if (!shape) shape = [png.height, png.width, channels];
      else if (png.height !== shape[0] || png.width !== shape[1]) {
        throw new Error(`${file}: image is ${png.width}x${png.height}, the others are ${shape[1]}x${shape[0]}`);
      }
      // pngjs always decodes to RGBA.
      const px = png.width * png.height;
      const out = new Uint8Array(px * channels);
      for (let i = 0; i < px; i++) {
        const r = png.data[i * 4];
        const g = png.data[i * 4 + 1];
        const b = png.data[i * 4 + 2];
        if (channels === 3) {
          out[i * 3] = r;
          out[i * 3 + 1] = g;
          out[i * 3 + 2] = b;
        } else {
          out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
        }
      }
      chunks.push(out);
      labels.push(label);
    }
  });
  if (!shape) throw new Error(`${dir}: no PNG images under the class folders`);
  const e = shape[0] * shape[1] * shape[2];
  const images = new Uint8Array(chunks.length * e);
  chunks.forEach((c, i) => images.set(c, i * e));
  return validateDataset({
    name: opts.name ?? path.basename(path.resolve(root)),
    split,
    size: chunks.length,
    shape,
    numClasses: classNames.length,
    classNames,
    images,
    labels: Int32Array.from(labels),
    source: dir,
  });
}

/** CINIC-10's class folder names (the CIFAR-10 classes). */
export const CINIC10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/**
 * Writes a small synthetic CINIC-10 folder (`<parent>/CINIC-10/{train,valid,test}/<class>/*.png`,
 * 32 × 32 RGB, deterministic pseudo-random pixels) and returns the parent, the `--data-dir` a
 * paper-scale run takes. For tests of the paper-scale data path.
 */
export function writeSyntheticCinic10(parent: string, opts: { perClass?: number } = {}): string {
  const n = opts.perClass ?? 2;
  ['train', 'valid', 'test'].forEach((split, s) =>
    CINIC10_CLASSES.forEach((cls, c) => {
      const dir = path.join(parent, 'CINIC-10', split, cls);
      fs.mkdirSync(dir, { recursive: true });
      for (let k = 0; k < n; k++) {
        const png = new PNG({ width: 32, height: 32 });
        const salt = (s * 10 + c) * 1000 + k;
        for (let i = 0; i < 32 * 32 * 4; i++)
          png.data[i] = i % 4 === 3 ? 255 : Math.imul(i + 1 + salt * 7919, 2654435761) >>> 24;
        fs.writeFileSync(path.join(dir, `${cls}_${k}.png`), PNG.sync.write(png));
      }
    }),
  );
  return parent;
}
