/**
 * Paper scale cannot run here (no CIFAR-10, no ImageNet, no GPU), but the CIFAR-10 row's data path
 * and its recipe are real: a generated CIFAR-10-format folder, the official SGD recipe and step
 * schedule, ResNet-18 at a tiny width, one step per net and epoch, short PGD; the same for the four
 * ImageNet rows on a generated JPEG folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@repro/runtime';
import { writeSyntheticCifar10, writeSyntheticImageNet } from '@repro/datasets';
import { PAPER_RUNS, trainDivergeRun } from '../src';

const quiet = { write: () => true };

it('paper-cifar10-resnet18: CIFAR-format data path, the official recipe, one diverge step per net', async () => {
  const backend = await initBackend('wasm');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pdc-paper-'));
  const run = PAPER_RUNS.find((r) => r.id === 'paper-cifar10-resnet18')!;
  const rec = await trainDivergeRun(run, {
    scale: 'paper',
    seed: 1,
    out,
    dataDir: writeSyntheticCifar10(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cifar-'))),
    resume: false,
    backend,
    overrides: { epochs: 1, nfilters: 2, maxStepsPerEpoch: 1, pgdSteps: 2 },
    stream: quiet,
  });
  expect(rec).toMatchObject({ dataset: 'cifar10', scale: 'paper', model: 'resnet18' });
  expect(rec.config).toMatchObject({ alpha: 0.05, numNets: 3, batchSize: 128, schedule: 'official', epochs: 1 });
  expect(rec.config.optimizer).toEqual({ kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  expect(rec.history).toHaveLength(1);
  expect(Number.isFinite(rec.history[0].net2TrainDc2)).toBe(true);
  for (const eps of [0.03, 0.05, 0.1]) expect(Number.isFinite(rec.metrics[`oursPgdEps${eps}Pct`])).toBe(true);
  expect(rec.metrics.t2_r2XGt).toBeUndefined(); // no weak net at paper scale
  expect(rec.tensors!.atEnd).toBe(rec.tensors!.atStart);
}, 120_000);

describe('ImageNet rows: the JPEG folder path (Resize 256, CentreCrop 224) and one diverge step per net', () => {
  let root: string;
  beforeAll(async () => {
    root = await writeSyntheticImageNet(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-inet-')), {
      classes: 2,
      trainPerClass: 2,
      valPerClass: 1,
    });
  });
  // two of the four rows: one depthwise family and one ResNet. The other two (EfficientNet-B0,
  // ResNet-152) take the same data path and training step; their architectures are built, run forward
  // and backward and saved by the model contract tests (packages/models), so the suite stays short
  it.each([
    ['paper-imagenet-mobilenetv3_small', 4],
    ['paper-imagenet-resnet34', 2],
  ])(
    '%s',
    async (id, nfilters) => {
      const backend = await initBackend('wasm');
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pdc-inet-'));
      const run = PAPER_RUNS.find((r) => r.id === id)!;
      const rec = await trainDivergeRun(run, {
        scale: 'paper',
        seed: 1,
        out,
        dataDir: root,
        resume: false,
        backend,
        overrides: { epochs: 1, nfilters, maxStepsPerEpoch: 1, pgdSteps: 1 },
        stream: quiet,
      });
      expect(rec).toMatchObject({ dataset: 'imagenet', scale: 'paper', model: run.model });
      expect(rec.metrics.attackImages).toBe(2);
      expect(Number.isFinite(rec.history[0].net2TrainDc2)).toBe(true);
      expect(rec.tensors!.atEnd).toBe(rec.tensors!.atStart);
    },
    240_000,
  );
});
