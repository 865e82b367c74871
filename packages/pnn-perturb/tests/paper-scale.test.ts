/**
 * Paper scale cannot run here (no CIFAR-10, no GPU), but its data path and a training step are
 * real: a generated CIFAR-10-format folder, Klachko's recipe (SGD Nesterov, augmentation, the
 * step schedule), one step per epoch at a tiny width.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@repro/runtime';
import { writeSyntheticCifar10 } from '@repro/datasets';
import { findRun } from '../src/runs';
import { trainPnnRun } from '../src/train';

const cifarDir = () => writeSyntheticCifar10(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cifar-')));

it.each(['k1-resnet18-nf44', 'k3-noiseresnet18-ffs3', 'k6-perturb-nm64-unique-mix'])(
  '%s: CIFAR-format data path and one training step',
  async (id) => {
    const backend = await initBackend('wasm');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-paper-'));
    const rec = await trainPnnRun(findRun(id), {
      scale: 'paper',
      seed: 1,
      out,
      dataDir: cifarDir(),
      resume: false,
      backend,
      overrides: { epochs: 1, nfilters: id.startsWith('k6') ? 3 : 4, maxStepsPerEpoch: 1 },
      stream: { write: () => true },
    });
    expect(rec.dataset).toBe('cifar10');
    expect(rec.scale).toBe('paper');
    expect(rec.history).toHaveLength(1);
    expect(Number.isFinite(rec.history[0].trainLoss)).toBe(true);
    expect(rec.overrides).toEqual({ epochs: 1, nfilters: id.startsWith('k6') ? 3 : 4, maxStepsPerEpoch: 1 });
    expect((rec.config as { optimizer: { kind: string; nesterov: boolean } }).optimizer).toMatchObject({
      kind: 'sgd',
      nesterov: true,
    });
  },
  60_000,
);
