/**
 * The package's plots drawn from the committed cpu records (into a temporary folder, never results/):
 * one colour per method (vanilla, CTC) and per quantity in every plot, legend swatches in full colour.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { legendEntries } from '@repro/experiments';
import { paper } from '../src/cli';
import { METHOD_COLORS, QUANTITY_COLORS, SECOND_DASH } from '../src/runs';

const ROOT = path.join(__dirname, '..', '..', '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dt-plots-'));
const legend = (f: string) =>
  Object.fromEntries(
    legendEntries(fs.readFileSync(path.join(out, 'plots', 'dt-tradeoff-ctc', 'cpu', `${f}.svg`), 'utf8')).map((e) => [
      e.label,
      e,
    ]),
  );
const quantity = (q: string) => QUANTITY_COLORS.find(([k]) => k === q)![1];

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

it('draws vanilla and CTC in their colours, the strict probe dashed', () => {
  const l = legend('vanilla-vs-ctc-transfer');
  expect(l['vanilla, repo probe']).toMatchObject({ color: METHOD_COLORS.vanilla, opacity: 1 });
  expect(l['CTC, repo probe']).toMatchObject({ color: METHOD_COLORS.CTC, opacity: 1 });
  expect(l['vanilla, strict probe']).toMatchObject({ color: METHOD_COLORS.vanilla, dash: SECOND_DASH.join(',') });
  expect(l['CTC, strict probe']).toMatchObject({ color: METHOD_COLORS.CTC, dash: SECOND_DASH.join(',') });
});

it('draws each quantity in one colour in every per-run plot, of every run', () => {
  for (const run of ['cpu-vanilla', 'cpu-ctc']) {
    const acc = legend(`${run}-accuracy-by-epoch`);
    const transfer = legend(`${run}-transfer-by-epoch`);
    expect(acc['transferability: strict probe (BN frozen, last epoch)'].color).toBe(quantity('strict probe'));
    expect(transfer['strict probe'].color).toBe(quantity('strict probe'));
    expect(acc['transferability: repo probe (BN train mode, best epoch)'].color).toBe(transfer['repo probe'].color);
    expect(acc['discriminability: source test accuracy'].color).toBe(
      legend(`${run}-source-by-epoch`)['source test accuracy'].color,
    );
    const plane = Object.values(legend(`${run}-information-plane`));
    expect(plane.map((e) => e.color)).toEqual([quantity('I(T;Y source)'), quantity('I(T;Y target)')]);
  }
  const colors = [...QUANTITY_COLORS.map(([, c]) => c), ...Object.values(METHOD_COLORS)];
  expect(new Set(colors).size).toBe(colors.length); // no quantity looks like a method
});
