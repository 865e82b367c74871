/** Datasets by name: shape, classes and normalisation from one place; the fixture at smoke scale; clear errors. */
import { DATASETS, DatasetName, FASHION_MNIST_FIXTURE_DIR, channelStats, loadDataset } from '../src';

it('fashion-mnist from the fixture, labelled as such, with its constants', () => {
  const { data, info, label } = loadDataset('fashion-mnist', 'test', { fixture: true });
  expect(label).toBe('fashion-mnist-fixture');
  expect(data.size).toBe(100);
  expect(info).toBe(DATASETS['fashion-mnist']);
  expect(info.shape).toEqual([28, 28, 1]);
  expect(data.numClasses).toBe(info.numClasses);
  // the fixture's pixel statistics are close to the full training set's constants
  const stats = channelStats(data);
  expect(Math.abs(stats.mean[0] - info.normalize.mean[0])).toBeLessThan(0.03);
  expect(Math.abs(stats.std[0] - info.normalize.std[0])).toBeLessThan(0.03);
  // an explicit folder wins over the fixture
  expect(loadDataset('fashion-mnist', 'test', { fixture: true, dataDir: FASHION_MNIST_FIXTURE_DIR }).label).toBe(
    'fashion-mnist',
  );
});

it('cifar10 without a folder and unknown names are clear errors', () => {
  const saved = process.env.REPRO_DATA_DIR;
  delete process.env.REPRO_DATA_DIR;
  try {
    expect(() => loadDataset('cifar10', 'train', { requester: 'run k1' })).toThrow(
      /run k1 needs CIFAR-10: pass --data-dir <folder with cifar-10-batches-bin>/,
    );
    expect(() => loadDataset('cifar100', 'test', { requester: 'run r56' })).toThrow(
      /run r56 needs CIFAR-100: pass --data-dir <folder with cifar-100-binary>/,
    );
    expect(() => loadDataset('cinic10', 'train', { requester: 'run v' })).toThrow(
      /run v needs CINIC-10: pass --data-dir <folder with CINIC-10\/\{train,valid,test\}/,
    );
    expect(() => loadDataset('imagenet', 'test', { requester: 'run r34' })).toThrow(
      /run r34 needs ImageNet: pass --data-dir <root with train\/<wnid>\/\*\.JPEG and val/,
    );
  } finally {
    if (saved !== undefined) process.env.REPRO_DATA_DIR = saved;
  }
  expect(() => loadDataset('svhn' as DatasetName, 'train')).toThrow(
    /unknown dataset 'svhn'; known: fashion-mnist, cifar10, cifar100, cinic10, imagenet/,
  );
});
