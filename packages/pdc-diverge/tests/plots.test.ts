/**
 * The package's plots drawn from the committed cpu records (into a temporary folder, never results/):
 * one colour per network in every plot, legend swatches in the lines' colours; the Grad-CAM grid's
 * labels (drawn during training) on two untrained nets.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { loadDataset } from '@repro/datasets';
import { createModel, disposeModel } from '@repro/models';
import { legendEntries } from '@repro/experiments';
import { paper } from '../src/cli';
import { writeGradCamFigure } from '../src/diverge';
import { NET_COLORS } from '../src/runs';

const ROOT = path.join(__dirname, '..', '..', '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pdc-plots-'));
const svg = (f: string) => fs.readFileSync(path.join(out, 'plots', 'pdc-diverge', 'cpu', `${f}.svg`), 'utf8');
const legend = (f: string) => Object.fromEntries(legendEntries(svg(f)).map((e) => [e.label, e]));

beforeAll(async () => {
  await initBackend('wasm');
  await paper.table({
    scale: 'cpu',
    out,
    records: [path.join(ROOT, 'results')],
    resume: false,
    fresh: false,
    list: false,
  });
}, 120_000);
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

it('draws each network in one colour and under one name in every plot', () => {
  const fgm = legend('cpu-convnet-diverge-fgm');
  const pgd = legend('cpu-convnet-diverge-pgd');
  const acc = legend('cpu-convnet-diverge-test-accuracy');
  for (const l of [fgm, pgd, acc]) {
    expect(l['Baseline (net 0)'].color).toBe(NET_COLORS.baseline);
    expect(l['Ours (net 2)'].color).toBe(NET_COLORS.ours);
    expect(l['f1 (white box)'].color).toBe(NET_COLORS.f1);
    expect(Object.values(l).every((e) => e.opacity === 1)).toBe(true);
  }
  expect(acc.net1.color).toBe(NET_COLORS.between);
  const dc2 = legendEntries(svg('cpu-convnet-diverge-train-dc2'));
  expect(dc2.map((e) => [e.label.split(':')[0], e.color])).toEqual([
    ['net1', NET_COLORS.between],
    ['Ours (net 2)', NET_COLORS.ours],
  ]);
});

it("labels the Grad-CAM grid: a title, what each column shows, each row's true class, the class each map explains", () => {
  const { data, info } = loadDataset('fashion-mnist', 'test', { fixture: true });
  const nets = [1, 2].map((seed) =>
    createModel('convnet', { inputShape: [28, 28, 1], numClasses: 10, nfilters: 8, seed }),
  );
  const file = path.join(out, 'gradcam.png');
  const before = tf.memory().numTensors;
  try {
    writeGradCamFigure(
      file,
      [
        { label: 'Baseline (net 0)', model: nets[0] },
        { label: 'Ours (net 2)', model: nets[1] },
      ],
      data,
      info.normalize,
      2,
      'Grad-CAM (features_conv), test',
    );
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    nets.forEach(disposeModel);
  }
  const png = PNG.sync.read(fs.readFileSync(file));
  // 3 tiles of 112 px (28 × 4) plus gaps, and room for the row labels on the left
  expect(png.width).toBeGreaterThan(3 * 114 + 2 + 40);
  // labels above the tiles: dark pixels in the band above the first tile row
  let dark = 0;
  for (let y = 0; y < 40; y++) for (let x = 0; x < png.width; x++) if (png.data[4 * (y * png.width + x)] < 100) dark++;
  expect(dark).toBeGreaterThan(100);
});
