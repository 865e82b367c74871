/**
 * `compare` on model folders someone shared: layer names that look like paths stay in the files'
 * content (every file lands in --out), and a model.json whose weight shard lies outside its folder
 * is refused before anything is written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { saveModel } from '@repro/models';
import { runCompare } from '../src';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'fashion-mnist');

let base: string;
beforeAll(async () => {
  await initBackend('wasm');
});
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-compare-hostile-'));
});

/**
 * A small saved model on 28x28x1 images whose activation layer is called `name` (tfjs names must start
 * with a letter or digit, and may hold '/' and '.').
 */
async function saved(dir: string, name: string): Promise<string> {
  const input = tf.input({ shape: [28, 28, 1] });
  const flat = tf.layers.flatten({ name: 'flat' }).apply(input);
  const hidden = tf.layers.dense({ units: 6, name: 'hidden', kernelInitializer: 'glorotNormal' }).apply(flat);
  const act = tf.layers.activation({ activation: 'tanh', name }).apply(hidden);
  const out = tf.layers.dense({ units: 3, name: 'logits' }).apply(act) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

const files = (dir: string) =>
  (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();

it('layers named a/../../x: the files go to --out only', async () => {
  const a = await saved(path.join(base, 'models', 'a'), 'a/../../../../escape-a');
  const b = await saved(path.join(base, 'models', 'b'), 'b/../../escape-b');
  const out = path.join(base, 'out');
  const res = await runCompare({
    modelA: a,
    modelB: b,
    layersA: 'a/../../../../escape-a,logits',
    layersB: 'b/../../escape-b',
    data: 'fashion-mnist:test',
    dataDir: FIXTURE,
    limit: '16',
    batchSize: '8',
    out,
    backend: 'wasm',
  });
  expect(res.layersA).toEqual(['a/../../../../escape-a', 'logits']);
  expect(files(base)).toEqual(
    [
      'models/a/model.json',
      'models/a/weights.bin',
      'models/b/model.json',
      'models/b/weights.bin',
      'out/cka.csv',
      'out/cka.json',
      'out/cka.png',
      'out/cka.svg',
    ].sort(),
  );
}, 60_000);

it('a weight shard outside the model folder: refused, naming the entry, nothing written', async () => {
  const a = await saved(path.join(base, 'models', 'a'), 'act');
  const b = await saved(path.join(base, 'models', 'b'), 'act');
  // B's weights moved next to the folders and model.json pointed at them: a valid shard, outside B's folder
  fs.renameSync(path.join(b, 'weights.bin'), path.join(base, 'models', 'outside.bin'));
  const json = JSON.parse(fs.readFileSync(path.join(b, 'model.json'), 'utf8')) as {
    weightsManifest: Array<{ paths: string[] }>;
  };
  json.weightsManifest[0].paths = ['../outside.bin'];
  fs.writeFileSync(path.join(b, 'model.json'), JSON.stringify(json));
  const out = path.join(base, 'out');
  await expect(
    runCompare({ modelA: a, modelB: b, dataDir: FIXTURE, limit: '16', batchSize: '8', out, backend: 'wasm' }),
  ).rejects.toThrow(
    `${path.join(b, 'model.json')}: weight shard weightsManifest[0].paths[0] "../outside.bin" climbs out of ${b}`,
  );
  expect(fs.existsSync(out)).toBe(false);
}, 60_000);
