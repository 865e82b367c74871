/**
 * Dataset readers (IDX, CIFAR binary, PNG folders, NumPy .npy, ImageNet JPEG folders), datasets by name
 * with their normalisation, lazy tensor batches and seeded augmentation.
 *
 * @module @repro/datasets
 */
export type { ImageDataset } from './dataset';
export {
  validateDataset,
  takeIndices,
  firstKPerClass,
  selectClasses,
  channelStats,
  exampleSize,
  exampleBytes,
  groupClasses,
  perClassRange,
} from './dataset';
export { readIdx, parseIdx, encodeIdx, readFileMaybeGzip } from './idx';
export type { IdxArray } from './idx';
export { readCifar10, readCifar100, encodeCifarRecords, writeSyntheticCifar10, writeSyntheticCifar100 } from './cifar';
export { readImageFolder, writeSyntheticCinic10, CINIC10_CLASSES } from './image-folder';
export {
  loadFashionMnist,
  loadMnist,
  readIdxPair,
  dataDirCandidates,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  DEBIAN_FASHION_MNIST_DIR,
  USER_CACHE_FASHION_MNIST_DIR,
  FASHION_MNIST_INSTALL_HINT,
} from './fashion-mnist';
export type { LocateOptions } from './fashion-mnist';
export { batches, batchCount, batchShape, fillBatch } from './batches';
export type { Batch, BatchOptions, Augmentation } from './batches';
export { DATASETS, FASHION_MNIST_FIXTURE_DIR, loadDataset, loadTrainTest, prepareDataset } from './named';
export {
  scanJpegFolder,
  decodeImageNetJpeg,
  prepareImageNetSplit,
  openImageNetSplit,
  imagenetCachePaths,
  writeSyntheticImageNet,
  IMAGENET_RESIZE,
  IMAGENET_CROP,
} from './imagenet';
export type { ImageFolderIndex, PrepareOptions } from './imagenet';
export type { DatasetInfo, DatasetName, LoadDatasetOptions } from './named';
export { readNpyMatrix, readNpyLabels, writeNpy } from './npy';
export type { NpyMatrix } from './npy';
