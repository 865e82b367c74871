/**
 * Paper scale cannot run here (no CIFAR-100, no GPU), but its data path and recipe are real: a
 * generated cifar-100-binary folder, RepDistiller's SGD recipe and step schedule, crop + flip
 * augmentation, the resnet56 → resnet20 pair at a tiny width with every method, one step per epoch.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@repro/runtime';
import { writeSyntheticCifar100 } from '@repro/datasets';
import { PAPER_RUNS, trainDistillRun } from '../src';

it('paper-cifar100-resnet56-resnet20: CIFAR-100 data path, the recipe, one step of every student', async () => {
  const backend = await initBackend('wasm');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cka-paper-'));
  const run = PAPER_RUNS.find((r) => r.id === 'paper-cifar100-resnet56-resnet20')!;
  const rec = await trainDistillRun(run, {
    scale: 'paper',
    seed: 1,
    out,
    dataDir: writeSyntheticCifar100(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c100-')), { train: 128, test: 50 }),
    resume: false,
    backend,
    overrides: {
      epochs: 1,
      teacherEpochs: 1,
      maxStepsPerEpoch: 1,
      nfilters: 2,
      generator: { dim: 8, encoderDepth: 1, decoderDepth: 1, heads: 2 },
    },
    stream: { write: () => true },
  });
  expect(rec).toMatchObject({ dataset: 'cifar100', scale: 'paper' });
  expect(rec.config).toMatchObject({ batchSize: 64, epochs: 1, stages: ['stage2', 'features_conv'] });
  expect(rec.config.optimizer).toEqual({ kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  for (const m of ['vanilla', 'kd', 'mgd', 'ickd', 'dpk'])
    expect(Number.isFinite(rec.metrics[`${m}TestAccPct`])).toBe(true);
  expect(Number.isFinite(rec.metrics.dpkCka_features_conv)).toBe(true);
  expect(Number.isFinite(rec.history[0].dpk_stage2_maskRatio)).toBe(true);
  expect(rec.tensors!.atEnd).toBe(rec.tensors!.atStart);
}, 180_000);
