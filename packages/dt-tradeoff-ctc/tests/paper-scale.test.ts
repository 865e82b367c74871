/**
 * The paper-scale data path on generated files: CIFAR-100 (cifar-100-binary) as the source and
 * CINIC-10 (PNG folders, probe on train, evaluated on valid) as the target, ResNeXt32-16x4d, one CTC
 * training step per epoch through both stages, and the analysis of every checkpoint. The real run
 * is for a GPU machine (README); this checks that everything it needs is wired.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { writeSyntheticCifar100, writeSyntheticCinic10 } from '@repro/datasets';
import { PAPER_RUNS, loadRunData, trainDtRun } from '../src';

it('CIFAR-100 -> CINIC-10 with ResNeXt32-16x4d: data, both CTC stages, probes and MINE', async () => {
  const backend = await initBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-paper-'));
  writeSyntheticCifar100(dir, { train: 32, test: 10 });
  writeSyntheticCinic10(dir, { perClass: 1 });
  const base = PAPER_RUNS.find((r) => r.id === 'paper-ctc-transferability')!;
  const tiny = { learningRate: 1e-3, iterations: 5, hidden: 8, batchSize: 4 };
  const run = {
    ...base,
    epochs: 2,
    batchSize: 16,
    saveFreq: 2,
    probe: { ...base.probe, epochs: 1, batchSize: 10 },
    mine: { ...base.mine, everyEpochs: 2, examples: 10, xt: tiny, ty: tiny, spreadSeeds: [] },
    ctc: { ...base.ctc!, stageTwoEpoch: 1, nceK: 8 },
  };
  const d = loadRunData(run, { scale: 'paper', dataDir: dir });
  expect([d.sourceTrain.numClasses, d.probeTrain.numClasses, d.probeTest.split]).toEqual([100, 10, 'valid']);
  expect(d.label).toBe('cifar100 -> cinic10');
  const before = tf.memory().numTensors;
  const rec = await trainDtRun(run, {
    scale: 'paper',
    seed: 1,
    out: path.join(dir, 'out'),
    dataDir: dir,
    resume: false,
    backend,
    maxStepsPerEpoch: 1,
    stream: { write: () => true },
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(rec.model).toBe('resnext32_16x4d');
  expect(rec.history.map((h) => Number.isFinite(h.trainLoss))).toEqual([true, true]);
  expect(rec.history[0].trainInstance).toBeGreaterThan(0);
  expect(rec.history[1].trainNce).toBeGreaterThan(0);
  const a = rec.extra!.checkpoints as Array<{ epoch: number; mine?: object }>;
  expect(a.map((x) => x.epoch)).toEqual([0, 2]);
  // CINIC-10 is a different dataset: MINE has no target labels on the source images, I(T;Y_target) is not estimated
  expect(a.every((x) => x.mine !== undefined)).toBe(true);
}, 240_000);
