/**
 * The package's plots drawn from the committed cpu records (into a temporary folder, never results/):
 * one colour per method in every plot, legend swatches in the lines' colours, readable heatmap
 * numbers, a titled colour bar, distinct layer labels and the per-minibatch figure's axis titles.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DARK_TEXT, LIGHT_TEXT, legendEntries, textColorOn } from '@repro/experiments';
import { paper } from '../src/cli';
import { METHOD_COLORS, METHOD_LABELS, Method } from '../src/runs';

const RESULTS = path.join(__dirname, '..', '..', '..', 'results');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cka-plots-'));
const svg = (f: string) => fs.readFileSync(path.join(out, 'plots', 'cka-maskfeat', 'cpu', `${f}.svg`), 'utf8');
const legend = (f: string) => Object.fromEntries(legendEntries(svg(f)).map((e) => [e.label, e]));

beforeAll(async () => {
  await paper.table({ scale: 'cpu', out, records: [RESULTS], resume: false, fresh: false, list: false });
}, 120_000);
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

it('draws each method in one colour in every plot (bars, curves, CKA bars, capacity gain)', () => {
  const bars = legend('cpu-methods-accuracy');
  const curves = legend('cpu-methods-test-accuracy-by-epoch');
  const cka = legend('cpu-methods-cka-to-teacher');
  const gain = legend('cpu-capacity-gain-by-teacher-depth');
  for (const m of Object.keys(METHOD_COLORS) as Method[]) {
    expect(bars[METHOD_LABELS[m]].color).toBe(METHOD_COLORS[m]);
    expect(curves[m].color).toBe(METHOD_COLORS[m]);
    expect(cka[m].color).toBe(METHOD_COLORS[m]);
  }
  expect(gain.KD.color).toBe(METHOD_COLORS.kd);
  expect(gain.DPK.color).toBe(METHOD_COLORS.dpk);
  expect(legend('cpu-capacity-accuracy').DPK.color).toBe(METHOD_COLORS.dpk);
  // the comparison networks keep their colour from the bars to the curves
  expect(bars['comparison network wide'].color).toBe(curves.wide.color);
  // capacity runs: every student its own shade, the same in the curves and the CKA bars
  const capCurves = legend('cpu-capacity-test-accuracy-by-epoch');
  const capCka = legend('cpu-capacity-cka-to-teacher');
  const students = ['kd-t4', 'kd-t6', 'kd-t8', 'kd-t10', 'dpk-t4', 'dpk-t6', 'dpk-t8', 'dpk-t10'];
  expect(new Set(students.map((s) => capCurves[s].color)).size).toBe(students.length);
  for (const s of students) expect(capCka[s].color).toBe(capCurves[s].color);
});

it('draws legend swatches in the full colour of the lines', () => {
  const s = svg('cpu-methods-test-accuracy-by-epoch');
  const strokes = new Set(
    [...s.matchAll(/aria-roledescription="line mark" d="[^"]*" stroke="([^"]+)"/g)].map((m) => m[1]),
  );
  const entries = legendEntries(s);
  expect(entries).toHaveLength(7);
  for (const e of entries) {
    expect(strokes.has(e.color)).toBe(true);
    expect(e.opacity).toBe(1);
  }
  // DPK's two stages: one colour, the second stage dashed
  const stages = legend('cpu-methods-dpk-cka');
  expect(stages['dpk stage2'].color).toBe(METHOD_COLORS.dpk);
  expect(stages['dpk stage3']).toMatchObject({ color: METHOD_COLORS.dpk, dash: '6,3' });
});

it('prints every heatmap number in the colour that contrasts with its cell, under a titled colour bar', () => {
  const s = svg('cpu-methods-heatmaps.seed1/kd-vs-teacher');
  const fills = [...s.matchAll(/aria-roledescription="rect mark" d="[^"]*" fill="([^"]+)"/g)].map((m) => m[1]);
  const texts = [...s.matchAll(/aria-roledescription="text mark"[^>]*fill="([^"]+)">(-?[\d.]+)<\/text>/g)];
  expect(fills).toHaveLength(25);
  expect(texts).toHaveLength(25);
  texts.forEach((t, i) => expect(t[1]).toBe(textColorOn(fills[i])));
  expect(texts.some((t) => t[1] === DARK_TEXT)).toBe(true);
  expect(s).toMatch(/role-legend-title[^]*?>linear CKA \(debiased\)<\/text>/);
  // the per-minibatch figure: light and dark cells alike (no numbers), its axes say what the cells are
  const pm = svg('cpu-methods-per-minibatch.seed1/kd-vs-teacher');
  expect(pm).not.toContain('Sample Index');
  expect(pm).toContain('row of 20 minibatches (minibatches sorted by CKA, ascending)');
  expect(pm).toContain('column: minibatch rank within its row (rank = 20 × row + column)');
  expect(pm).toContain('linear CKA (debiased)');
  expect(LIGHT_TEXT).not.toBe(DARK_TEXT);
});

it('labels the layers of an every-layer comparison distinctly, the full names in the caption and the CSV', () => {
  const s = svg('cpu-methods-comparisons.seed1/two-architectures');
  // one group of labels per axis: x (model B's layers) first, then y (model A's)
  const [x, y] = [...s.matchAll(/role-axis-label[^]*?<\/g>/g)].map((g) =>
    [...g[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
  );
  const json = JSON.parse(
    fs.readFileSync(
      path.join(out, 'plots', 'cka-maskfeat', 'cpu', 'cpu-methods-comparisons.seed1', 'two-architectures.json'),
      'utf8',
    ),
  ) as { model1_layers: string[]; model2_layers: string[] };
  expect(new Set(x).size).toBe(json.model2_layers.length);
  expect(new Set(y).size).toBe(json.model1_layers.length);
  const labels = [...x, ...y];
  expect(labels.some((l) => l.includes('…'))).toBe(false);
  expect(labels).toEqual(expect.arrayContaining(['conv 27', 'bn 25', 'relu 5', 'gap 8', 'stage1', 'logits']));
  expect(s).toContain('conv N = torch_conv2d_TorchConv2DN');
  expect(json.model2_layers).toContain('torch_conv2d_TorchConv2D27');
});
