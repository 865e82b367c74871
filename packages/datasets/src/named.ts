/**
 * Datasets by name, with their input shape, class count and normalisation constants, so that paper
 * packages ask for 'fashion-mnist' or 'cifar10' and share one loader. The smoke scale reads the
 * Fashion-MNIST fixture kept in the repository (300 train + 100 test images) unless a folder is given.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readImageFolder } from './image-folder';
import { ImageDataset, firstKPerClass } from './dataset';
import { readCifar10, readCifar100 } from './cifar';
import { loadFashionMnist } from './fashion-mnist';
import { openImageNetSplit, prepareImageNetSplit } from './imagenet';

export type DatasetName = 'fashion-mnist' | 'cifar10' | 'cifar100' | 'cinic10' | 'imagenet';

export interface DatasetInfo {
  name: DatasetName;
  /** [height, width, channels] */
  shape: [number, number, number];
  numClasses: number;
  /** Per-channel mean and std of the training images (applied as (x − mean)/std). */
  normalize: { mean: number[]; std: number[] };
  /** Where the constants come from. */
  normalizeSource: string;
}

export const DATASETS: Record<DatasetName, DatasetInfo> = {
  'fashion-mnist': {
    name: 'fashion-mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    normalize: { mean: [0.286], std: [0.353] },
    normalizeSource: 'mean and std of the 60,000 Fashion-MNIST training images (pixels in [0, 1])',
  },
  cifar10: {
    name: 'cifar10',
    shape: [32, 32, 3],
    numClasses: 10,
    normalize: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    normalizeSource: 'the transforms.Normalize constants of michaelklachko/pnn.pytorch and most CIFAR-10 code',
  },
  cifar100: {
    name: 'cifar100',
    shape: [32, 32, 3],
    numClasses: 100,
    normalize: { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] },
    normalizeSource: "RepDistiller's dataset/cifar100.py constants (the CIFAR-100 distillation papers' data pipeline)",
  },
  cinic10: {
    name: 'cinic10',
    shape: [32, 32, 3],
    numClasses: 10,
    normalize: {
      mean: [0.47889522, 0.47227842, 0.43047404],
      std: [0.24205776, 0.23828046, 0.25874835],
    },
    normalizeSource: "CINIC-10's own constants, as DTennant/dt-tradeoff dataset/cinic10.py L155-173 applies them",
  },
  imagenet: {
    name: 'imagenet',
    shape: [224, 224, 3],
    numClasses: 1000,
    normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    normalizeSource:
      "torchvision's ImageNet constants, as Diverge_Training/imagenet_main.py L78-83 uses them (after Resize 256, CenterCrop 224)",
  },
};

/** The 300 + 100 image Fashion-MNIST fixture in the repository (test/fixtures/fashion-mnist). */
export const FASHION_MNIST_FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'fashion-mnist');

export interface LoadDatasetOptions {
  /** Folder with the files (or REPRO_DATA_DIR); default: the dataset's standard location. */
  dataDir?: string;
  /** Read the repository's fixture when no folder is given (smoke scale). */
  fixture?: boolean;
  /** Who asks, for the error message (e.g. "run k1-resnet18-nf44"). */
  requester?: string;
}

function imagenetRoot(opts: LoadDatasetOptions): string {
  const dir = opts.dataDir ?? process.env.REPRO_DATA_DIR;
  if (!dir)
    throw new Error(
      `${opts.requester ?? 'this'} needs ImageNet: pass --data-dir <root with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG>`,
    );
  return dir;
}

/** One split of a named dataset, with its info; `label` says what was read (e.g. 'fashion-mnist-fixture'). */
export function loadDataset(
  name: DatasetName,
  split: 'train' | 'test',
  opts: LoadDatasetOptions = {},
): { data: ImageDataset; info: DatasetInfo; label: string } {
  const info = DATASETS[name];
  if (!info) throw new Error(`unknown dataset '${String(name)}'; known: ${Object.keys(DATASETS).join(', ')}`);
  if (name === 'cifar10') {
    const dir = opts.dataDir ?? process.env.REPRO_DATA_DIR;
    if (!dir) {
      throw new Error(
        `${opts.requester ?? 'this'} needs CIFAR-10: pass --data-dir <folder with cifar-10-batches-bin> (it cannot be downloaded here)`,
      );
    }
    return { data: readCifar10(dir, split), info, label: 'cifar10' };
  }
  if (name === 'cifar100') {
    const dir = opts.dataDir ?? process.env.REPRO_DATA_DIR;
    if (!dir)
      throw new Error(
        `${opts.requester ?? 'this'} needs CIFAR-100: pass --data-dir <folder with cifar-100-binary> (it cannot be downloaded here)`,
      );
    return { data: readCifar100(dir, split), info, label: 'cifar100' };
  }
  if (name === 'cinic10') {
    const dir = opts.dataDir ?? process.env.REPRO_DATA_DIR;
    if (!dir)
      throw new Error(
        `${opts.requester ?? 'this'} needs CINIC-10: pass --data-dir <folder with CINIC-10/{train,valid,test}/<class>/*.png> (it cannot be downloaded here)`,
      );
    // dt-tradeoff's transfer.py trains the probe on `train` and evaluates on `valid` (cinic10.py L187-188)
    const root = fs.existsSync(path.join(dir, 'CINIC-10')) ? path.join(dir, 'CINIC-10') : dir;
    return {
      data: readImageFolder(root, split === 'test' ? 'valid' : 'train', { name: 'cinic10', channels: 3 }),
      info,
      label: 'cinic10',
    };
  }
  if (name === 'imagenet') {
    return { data: openImageNetSplit(imagenetRoot(opts), split === 'test' ? 'val' : 'train'), info, label: 'imagenet' };
  }
  const fixture = Boolean(opts.fixture) && !opts.dataDir;
  const data = loadFashionMnist(split, { dataDir: fixture ? FASHION_MNIST_FIXTURE_DIR : opts.dataDir });
  return { data, info, label: fixture ? 'fashion-mnist-fixture' : 'fashion-mnist' };
}

/**
 * A run's two splits: the training set (its first `trainPerClass` examples of each class when given)
 * and the whole test set, with the dataset's info and label.
 */
export function loadTrainTest(
  name: DatasetName,
  opts: LoadDatasetOptions & { trainPerClass?: number } = {},
): { train: ImageDataset; test: ImageDataset; info: DatasetInfo; label: string } {
  const tr = loadDataset(name, 'train', opts);
  const te = loadDataset(name, 'test', opts);
  const train = opts.trainPerClass !== undefined ? firstKPerClass(tr.data, opts.trainPerClass) : tr.data;
  return { train, test: te.data, info: tr.info, label: tr.label };
}

/**
 * One-time work a dataset needs before `loadDataset` (ImageNet: decode both splits into their cache,
 * reused when valid); nothing for the others.
 */
export async function prepareDataset(
  name: DatasetName,
  opts: LoadDatasetOptions & { log?: (line: string) => void } = {},
): Promise<void> {
  if (name !== 'imagenet') return;
  const dir = imagenetRoot(opts);
  for (const split of ['train', 'val'] as const) await prepareImageNetSplit(dir, split, { log: opts.log });
}
