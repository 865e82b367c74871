/**
 * savedModelAccuracies, what every paper's `eval` prints: a saved model with NaN weights, or one for
 * other images or classes, is refused naming its folder instead of giving an accuracy.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '@repro/runtime';
import { loadDataset } from '@repro/datasets';
import { createModel, disposeModel, saveModel } from '@repro/models';
import { savedModelAccuracies } from '../src';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-saved-model-'));

beforeAll(async () => {
  await initBackend('wasm');
});

async function save(name: string, numClasses: number, nan = false): Promise<string> {
  const dir = path.join(root, name);
  const m = createModel('plaincnn', { inputShape: [28, 28, 1], numClasses, seed: 1, depth: 6, nfilters: 4 });
  await saveModel(m, dir);
  disposeModel(m);
  if (nan) {
    const bin = path.join(dir, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)[0] = NaN;
    fs.writeFileSync(bin, bytes);
  }
  return dir;
}

it('evaluates a good model; refuses NaN weights and a model for other classes, naming the folder', async () => {
  const { data: test, info } = loadDataset('fashion-mnist', 'test', { fixture: true });
  const opts = { normalize: info.normalize, what: 'run x seed 1' };
  const [ok] = await savedModelAccuracies([{ name: 'good', dir: await save('good', 10) }], test, opts);
  expect(ok.accuracyPct).toBeGreaterThanOrEqual(0);
  const nan = await save('nan', 10, true);
  await expect(savedModelAccuracies([{ name: 'nan', dir: nan }], test, opts)).rejects.toThrow(
    new RegExp(`^${nan}: weight \\S+ \\[3, 3, 1, 4\\] holds NaN at index 0 .*refusing to use it`),
  );
  const two = await save('two', 2);
  await expect(savedModelAccuracies([{ name: 'two', dir: two }], test, opts)).rejects.toThrow(
    `${two}: the model has 2 outputs but the fashion-mnist test data has 10 classes`,
  );
});
