/**
 * MNIST-family datasets in IDX form, and where they are found: an explicit `dataDir` (the CLIs'
 * `--data-dir`), else `REPRO_DATA_DIR`, else Debian's `dataset-fashion-mnist` location and then the
 * user cache that tools/install-fashion-mnist.sh unpacks the Debian package into when not root. In each folder the files may sit directly or in a
 * `fashion-mnist/` (or `mnist/`) subfolder, raw or gzipped.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageDataset, validateDataset } from './dataset';
import { readIdx } from './idx';

export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const USER_CACHE_FASHION_MNIST_DIR = path.join(
  os.homedir(),
  '.cache',
  'repro',
  'fashion-mnist',
  'usr',
  'share',
  'datasets',
  'fashion-mnist',
);
export const FASHION_MNIST_INSTALL_HINT =
  'Install it with `bash tools/install-fashion-mnist.sh` (as root this runs `apt-get install -y dataset-fashion-mnist`), ' +
  'or pass --data-dir / set REPRO_DATA_DIR to a folder holding train-images-idx3-ubyte.gz and the other three IDX files.';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface LocateOptions {
  dataDir?: string;
}

function idxFile(dir: string, stem: string): string | undefined {
  for (const f of [stem, `${stem}.gz`]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Candidate folders in priority order. A data folder the user names (`dataDir`, else
 * `REPRO_DATA_DIR`) is the only place searched: data missing there is an error, never a silent
 * fallback to another copy. Without one, the default locations are searched.
 */
export function dataDirCandidates(sub: string, opts: LocateOptions = {}, defaults: string[] = []): string[] {
  const root = opts.dataDir || process.env.REPRO_DATA_DIR;
  return root ? [root, path.join(root, sub)] : defaults;
}

/** Reads an images/labels IDX pair and checks that they agree. */
export function readIdxPair(
  imagesFile: string,
  labelsFile: string,
  meta: { name: string; split: string; classNames: readonly string[] },
): ImageDataset {
  const im = readIdx(imagesFile);
  const lb = readIdx(labelsFile);
  if (im.dims.length !== 3)
    throw new Error(`${imagesFile}: expected 3 dimensions (n, rows, cols), header has ${im.dims.length}`);
  if (lb.dims.length !== 1) throw new Error(`${labelsFile}: expected 1 dimension (n), header has ${lb.dims.length}`);
  if (im.dims[0] !== lb.dims[0]) {
    throw new Error(`${imagesFile} has ${im.dims[0]} images but ${labelsFile} has ${lb.dims[0]} labels`);
  }
  for (let i = 0; i < lb.data.length; i++) {
    if (lb.data[i] >= meta.classNames.length) {
      throw new Error(`${labelsFile}: label ${lb.data[i]} of example ${i} is outside [0, ${meta.classNames.length})`);
    }
  }
  return validateDataset({
    name: meta.name,
    split: meta.split,
    size: im.dims[0],
    shape: [im.dims[1], im.dims[2], 1],
    numClasses: meta.classNames.length,
    classNames: meta.classNames,
    images: im.data,
    labels: Int32Array.from(lb.data),
    source: path.dirname(imagesFile),
  });
}

function loadMnistFamily(
  name: 'fashion-mnist' | 'mnist',
  split: 'train' | 'test',
  opts: LocateOptions,
  defaults: string[],
  classNames: string[],
  hint: string,
): ImageDataset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const candidates = dataDirCandidates(name, opts, defaults);
  for (const dir of candidates) {
    const images = idxFile(dir, `${prefix}-images-idx3-ubyte`);
    const labels = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
    if (images && labels) return readIdxPair(images, labels, { name, split, classNames });
    if (images || labels) {
      throw new Error(
        `${dir}: has ${images ?? labels} but not its ${images ? 'labels' : 'images'} file (${prefix}-*-idx*-ubyte[.gz])`,
      );
    }
  }
  throw new Error(`${name} (${split}) not found; looked in: ${candidates.join(', ') || '(nowhere)'}. ${hint}`);
}

/** Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test 28x28 grey images, 10 classes. */
export function loadFashionMnist(split: 'train' | 'test', opts: LocateOptions = {}): ImageDataset {
  return loadMnistFamily(
    'fashion-mnist',
    split,
    opts,
    [DEBIAN_FASHION_MNIST_DIR, USER_CACHE_FASHION_MNIST_DIR],
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_INSTALL_HINT,
  );
}

/** MNIST, from --data-dir or REPRO_DATA_DIR only (no Debian package ships it in IDX form). */
export function loadMnist(split: 'train' | 'test', opts: LocateOptions = {}): ImageDataset {
  return loadMnistFamily(
    'mnist',
    split,
    opts,
    [],
    MNIST_CLASSES,
    'Pass --data-dir (or set REPRO_DATA_DIR) to a folder holding train-images-idx3-ubyte[.gz] and the other three IDX files.',
  );
}
