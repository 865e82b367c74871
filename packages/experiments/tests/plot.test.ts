/** Plots render to SVG and PNG (a PNG written by this test was looked at during development). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { heatmapSpec, lineChartSpec, writePlot } from '../src';

it('renders a line chart and a heatmap to SVG and PNG', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-plot-'));
  const data = [1, 2, 3].flatMap((e) => [{ series: 'true', x: e, y: 80 + e }, { series: 'smoothed', x: e, y: 82 - e }]);
  const line = await writePlot(path.join(dir, 'acc'), lineChartSpec(data, { title: 'Accuracy', xLabel: 'epoch', yLabel: '%', integerX: true }));
  const heat = await writePlot(path.join(dir, 'cka'), heatmapSpec([[1, 0.2], [0.4, 0.9]], { title: 'CKA', rowLabels: ['l1', 'l2'], colLabels: ['m1', 'm2'] }));
  for (const p of [line, heat]) {
    const svg = fs.readFileSync(p.svg, 'utf8');
    expect(svg).toMatch(/^<svg/);
    const png = fs.readFileSync(p.png);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.length).toBeGreaterThan(5000);
  }
  expect(fs.readFileSync(line.svg, 'utf8')).toContain('smoothed');
  expect(fs.readFileSync(heat.svg, 'utf8')).toContain('0.90');
});
