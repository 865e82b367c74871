/**
 * ImageNet in the usual folder layout, `<root>/train/<wnid>/*.JPEG` and `<root>/val/<wnid>/*.JPEG`,
 * with the fixed preprocessing of the PDC paper's ImageNet scripts (Diverge_Training/imagenet_main.py
 * L78-83, no augmentation): Resize(256) of the shorter side, CenterCrop(224), RGB, then the ImageNet
 * mean/std at batch time. Because the preprocessing is the same every epoch, each split is decoded
 * once, by sharp (libvips; JPEG, greyscale and CMYK inputs become sRGB), into a uint8 cache file of
 * 224 × 224 × 3 crops beside a manifest; training then reads examples from that file on demand
 * (`readExample`), so a split never has to fit in memory (ImageNet train: 1.28M images, 193 GB).
 *
 * Resize: sharp's `fit: 'cover'` to 256 × 256 (shorter side to 256, the longer side centre-cropped to
 * 256), then the centre 224 × 224; the same pixels as torchvision's Resize(256) + CenterCrop(224) up
 * to the ±1 px rounding of the crop offset and the resampling kernel (libvips' bilinear, not PIL's).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp, { type OutputInfo } from 'sharp';
import { openAtomic, writeJsonAtomic } from '@repro/runtime';
import { ImageDataset, validateDataset } from './dataset';

export const IMAGENET_RESIZE = 256;
export const IMAGENET_CROP = 224;
const EXAMPLE = IMAGENET_CROP * IMAGENET_CROP * 3;
const CACHE_SCHEMA = 'repro.imagenet-cache/1';
const JPEG = /\.(jpe?g)$/i;

export interface ImageFolderIndex {
  files: string[];
  labels: Int32Array;
  /** Sorted class folder names (wnids); label k = classNames[k]. */
  classNames: string[];
}

/** The JPEG files of `<root>/<split>/<class>/`, classes sorted by name, files sorted within a class. */
export function scanJpegFolder(root: string, split: string): ImageFolderIndex {
  const dir = path.join(root, split);
  if (!fs.existsSync(dir))
    throw new Error(`${dir}: missing split folder (expected <root>/${split}/<wnid>/*.JPEG, the ImageNet layout)`);
  const classNames = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (classNames.length < 2) throw new Error(`${dir}: ${classNames.length} class folder(s); need at least 2`);
  const files: string[] = [];
  const labels: number[] = [];
  classNames.forEach((cls, label) => {
    const names = fs
      .readdirSync(path.join(dir, cls))
      .filter((f) => JPEG.test(f))
      .sort();
    if (names.length === 0) throw new Error(`${path.join(dir, cls)}: no .JPEG files`);
    for (const f of names) {
      files.push(path.join(dir, cls, f));
      labels.push(label);
    }
  });
  return { files, labels: Int32Array.from(labels), classNames };
}

interface CacheManifest {
  schema: typeof CACHE_SCHEMA;
  root: string;
  split: string;
  resize: number;
  crop: number;
  size: number;
  /** sha256 of the relative file list and byte sizes: a changed folder invalidates the cache. */
  listing: string;
  classNames: string[];
  labels: number[];
}

function listingHash(root: string, index: ImageFolderIndex): string {
  const h = crypto.createHash('sha256');
  for (const f of index.files) h.update(`${path.relative(root, f)}\t${fs.statSync(f).size}\n`);
  return h.digest('hex');
}

export function imagenetCachePaths(cacheDir: string, split: string): { data: string; manifest: string } {
  const base = path.join(cacheDir, `${split}-r${IMAGENET_RESIZE}-c${IMAGENET_CROP}`);
  return { data: `${base}.u8`, manifest: `${base}.json` };
}

/** Decodes one JPEG to the 224 × 224 × 3 centre crop of its 256 resize. */
export async function decodeImageNetJpeg(file: string): Promise<Uint8Array> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    const off = (IMAGENET_RESIZE - IMAGENET_CROP) / 2;
    out = await sharp(file, { failOn: 'error' })
      .resize({ width: IMAGENET_RESIZE, height: IMAGENET_RESIZE, fit: 'cover', position: 'centre', kernel: 'linear' })
      .extract({ left: off, top: off, width: IMAGENET_CROP, height: IMAGENET_CROP })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`${file}: cannot decode JPEG (${(err as Error).message})`, { cause: err });
  }
  const { data, info } = out;
  if (info.width !== IMAGENET_CROP || info.height !== IMAGENET_CROP)
    throw new Error(`${file}: decoded to ${info.width}x${info.height}, expected ${IMAGENET_CROP}x${IMAGENET_CROP}`);
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, EXAMPLE);
  if (info.channels === 1) {
    const rgb = new Uint8Array(EXAMPLE);
    for (let i = 0; i < EXAMPLE / 3; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i];
    return rgb;
  }
  throw new Error(`${file}: ${info.channels} channels after conversion to sRGB`);
}

export interface PrepareOptions {
  /** Where the cache goes (default `<root>/.repro-cache`). */
  cacheDir?: string;
  /** Images decoded at a time (default 8). */
  concurrency?: number;
  log?: (line: string) => void;
}

/**
 * Decodes a split into its cache once (atomically: a killed preparation leaves no cache); a valid
 * cache (same files, same sizes, same preprocessing) is reused. @returns the cache's paths.
 */
export async function prepareImageNetSplit(
  root: string,
  split: 'train' | 'val',
  opts: PrepareOptions = {},
): Promise<{ data: string; manifest: string }> {
  const cacheDir = opts.cacheDir ?? path.join(root, '.repro-cache');
  const paths = imagenetCachePaths(cacheDir, split);
  const index = scanJpegFolder(root, split);
  const listing = listingHash(root, index);
  if (fs.existsSync(paths.manifest) && fs.existsSync(paths.data)) {
    const m = JSON.parse(fs.readFileSync(paths.manifest, 'utf8')) as Partial<CacheManifest>;
    if (
      m.schema === CACHE_SCHEMA &&
      m.listing === listing &&
      fs.statSync(paths.data).size === index.files.length * EXAMPLE
    )
      return paths;
    opts.log?.(`${paths.data}: stale (the folder or the preprocessing changed); decoding again`);
  }
  const out = openAtomic(paths.data);
  const start = Date.now();
  const conc = opts.concurrency ?? 8;
  try {
    for (let i = 0; i < index.files.length; i += conc) {
      const chunk = index.files.slice(i, i + conc);
      const decoded = await Promise.all(chunk.map((f) => decodeImageNetJpeg(f)));
      decoded.forEach((px, k) => fs.writeSync(out.fd, px, 0, px.length, (i + k) * EXAMPLE));
      const done = i + chunk.length;
      if (opts.log && (done === index.files.length || Math.floor(done / 5000) > Math.floor(i / 5000))) {
        const s = (Date.now() - start) / 1000;
        opts.log(
          `${split}: decoded ${done}/${index.files.length} images (${s.toFixed(0)} s, ETA ${((s * (index.files.length - done)) / done).toFixed(0)} s)`,
        );
      }
    }
  } catch (err) {
    out.abort();
    throw err;
  }
  out.commit();
  const manifest: CacheManifest = {
    schema: CACHE_SCHEMA,
    root: path.resolve(root),
    split,
    resize: IMAGENET_RESIZE,
    crop: IMAGENET_CROP,
    size: index.files.length,
    listing,
    classNames: index.classNames,
    labels: Array.from(index.labels),
  };
  writeJsonAtomic(paths.manifest, manifest);
  return paths;
}

/**
 * A prepared split as a file-backed ImageDataset (examples read from the cache on demand; the file
 * stays open for the life of the process). Throws, with the command, when the split is not prepared.
 */
export function openImageNetSplit(
  root: string,
  split: 'train' | 'val',
  opts: { cacheDir?: string } = {},
): ImageDataset {
  const paths = imagenetCachePaths(opts.cacheDir ?? path.join(root, '.repro-cache'), split);
  if (!fs.existsSync(paths.manifest) || !fs.existsSync(paths.data))
    throw new Error(
      `${paths.data}: ImageNet ${split} is not prepared; prepareImageNetSplit (run by train --scale paper) decodes it once`,
    );
  const m = JSON.parse(fs.readFileSync(paths.manifest, 'utf8')) as CacheManifest;
  if (m.schema !== CACHE_SCHEMA) throw new Error(`${paths.manifest}: not an ImageNet cache manifest`);
  if (fs.statSync(paths.data).size !== m.size * EXAMPLE)
    throw new Error(
      `${paths.data}: ${fs.statSync(paths.data).size} bytes, expected ${m.size * EXAMPLE} (truncated cache)`,
    );
  const fd = fs.openSync(paths.data, 'r');
  const buf = new Uint8Array(EXAMPLE);
  return validateDataset({
    name: 'imagenet',
    split,
    size: m.size,
    shape: [IMAGENET_CROP, IMAGENET_CROP, 3],
    numClasses: m.classNames.length,
    classNames: m.classNames,
    images: new Uint8Array(0),
    labels: Int32Array.from(m.labels),
    source: `${m.root} (${paths.data})`,
    readExample: (i: number) => {
      if (!(i >= 0 && i < m.size)) throw new Error(`imagenet/${split}: example ${i} outside [0, ${m.size})`);
      const n = fs.readSync(fd, buf, 0, EXAMPLE, i * EXAMPLE);
      if (n !== EXAMPLE) throw new Error(`${paths.data}: short read at example ${i}`);
      return buf;
    },
  });
}

/**
 * Writes a small synthetic ImageNet-layout folder (`<root>/{train,val}/<wnid>/*.JPEG`, JPEG-encoded by
 * sharp, sizes varying around 300 × 260, one greyscale image per split) and returns `root`. For tests
 * of the paper-scale data path.
 */
export async function writeSyntheticImageNet(
  root: string,
  opts: { classes?: number; trainPerClass?: number; valPerClass?: number } = {},
): Promise<string> {
  const classes = opts.classes ?? 3;
  for (const [split, per] of [
    ['train', opts.trainPerClass ?? 2],
    ['val', opts.valPerClass ?? 2],
  ] as const) {
    let k = 0;
    for (let c = 0; c < classes; c++) {
      const dir = path.join(root, split, `n0${1000000 + c}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let j = 0; j < per; j++, k++) {
        const [w, h] = k % 2 ? [260 + 7 * j, 300] : [300 + 5 * c, 260];
        const channels = k === 1 ? 1 : 3;
        const px = Buffer.alloc(w * h * channels);
        for (let i = 0; i < px.length; i++) px[i] = (i * (c + 3) + j * 97 + Math.floor(i / (w * channels)) * 5) % 256;
        await sharp(px, { raw: { width: w, height: h, channels } })
          .jpeg({ quality: 90 })
          .toFile(path.join(dir, `${split}_${c}_${j}.JPEG`));
      }
    }
  }
  return root;
}
