/**
 * The package's plots drawn from the committed cpu records (into a temporary folder, never results/):
 * one colour per variant in every plot, legend swatches in the lines' colours.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { legendEntries } from '@repro/experiments';
import { paper } from '../src/cli';
import { CPU_RUNS, ROW_COLORS, SMOOTHED_DASH } from '../src/runs';

const ROOT = path.join(__dirname, '..', '..', '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-plots-'));
const legend = (f: string) =>
  legendEntries(fs.readFileSync(path.join(out, 'plots', 'pnn-perturb', 'cpu', `${f}.svg`), 'utf8'));

beforeAll(async () => {
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

it("draws each variant in its row's colour in the variants plot and in its own runs' plots", () => {
  const variants = legend('variants');
  expect(variants.map((e) => e.label.split(':')[0])).toEqual(['A', 'Am', 'B', 'C', 'D']);
  for (const e of variants) {
    expect(e.color).toBe(ROW_COLORS[e.label.split(':')[0]]);
    expect(e.opacity).toBe(1);
  }
  for (const run of CPU_RUNS) {
    const [truth, smoothed] = legend(`${run.id}.seed1`);
    expect(truth).toMatchObject({ label: 'true accuracy', color: ROW_COLORS[run.row] });
    expect(smoothed).toMatchObject({ color: ROW_COLORS[run.row], dash: SMOOTHED_DASH.join(',') });
  }
  expect(new Set(['A', 'Am', 'B', 'C', 'D'].map((r) => ROW_COLORS[r])).size).toBe(5);
});
