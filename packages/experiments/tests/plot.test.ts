/** Plots render to SVG and PNG (a PNG written by this test was looked at during development). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { barChartSpec, heatmapSpec, jet, lineChartSpec, writeOverlayGridPng, writePlot } from '../src';

it('renders a line chart and a heatmap to SVG and PNG', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-plot-'));
  const data = [1, 2, 3].flatMap((e) => [
    { series: 'true', x: e, y: 80 + e },
    { series: 'smoothed', x: e, y: 82 - e },
  ]);
  const line = await writePlot(
    path.join(dir, 'acc'),
    lineChartSpec(data, { title: 'Accuracy', xLabel: 'epoch', yLabel: '%', integerX: true }),
  );
  const heat = await writePlot(
    path.join(dir, 'cka'),
    heatmapSpec(
      [
        [1, 0.2],
        [0.4, 0.9],
      ],
      { title: 'CKA', rowLabels: ['l1', 'l2'], colLabels: ['m1', 'm2'] },
    ),
  );
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

it('draws a shaded band where points carry lo/hi (spread over seeds)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-plot-'));
  const data = [1, 2, 3].map((e) => ({ series: 'A (n=5)', x: e, y: 80 + e, lo: 79 + e, hi: 81 + e }));
  const spec = lineChartSpec(data, { title: 'Mean and 95% CI', xLabel: 'epoch', yLabel: '%', integerX: true }) as {
    layer?: Array<{ mark: { type: string } }>;
  };
  expect(spec.layer?.map((l) => l.mark.type)).toEqual(['area', 'line']);
  const plain = lineChartSpec(
    data.map(({ series, x, y }) => ({ series, x, y })),
    { title: 't', xLabel: 'x', yLabel: 'y' },
  ) as { layer?: unknown };
  expect(plain.layer).toBeUndefined();
  const out = await writePlot(path.join(dir, 'band'), spec);
  // the area mark renders as a filled path with the band's opacity
  expect(fs.readFileSync(out.svg, 'utf8')).toMatch(/opacity="0\.18"|fill-opacity="0\.18"/);
});

it('renders a bar chart with error bars', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-plot-'));
  const spec = barChartSpec(
    [
      { category: 'R²(X, GT)', series: 'bcdcor', y: 0.3, lo: 0.25, hi: 0.35 },
      { category: 'R²(X|Y, GT)', series: 'P_DC', y: 0.1, lo: 0.05, hi: 0.15 },
    ],
    { title: 'Table 2 analogue', yLabel: 'R²' },
  );
  const out = await writePlot(path.join(dir, 'bars'), spec);
  const svg = fs.readFileSync(out.svg, 'utf8');
  expect(svg).toContain('R²(X|Y, GT)');
  expect(svg).toContain('Table 2 analogue');
});

it('writes heat-map overlays as a PNG grid: tile size, image pixels, jet colours', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-overlay-'));
  const file = path.join(dir, 'cam.png');
  const image = new Float32Array(4).fill(0.5); // 2x2 grey
  const heat = new Float32Array([0, 1, 0, 1]);
  writeOverlayGridPng(file, [[{ image }, { image, heat }]], { h: 2, w: 2, channels: 1, scale: 3, gap: 1, alpha: 1 });
  const png = PNG.sync.read(fs.readFileSync(file));
  expect([png.width, png.height]).toEqual([2 * (2 * 3 + 1) + 1, 2 * 3 + 2]);
  const px = (x: number, y: number) =>
    Array.from(png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 3));
  expect(px(1, 1)).toEqual([128, 128, 128]); // the plain tile
  const tile2 = 1 + 2 * 3 + 1;
  expect(px(tile2, 1)).toEqual(jet(0).map((v) => Math.round(255 * v))); // heat 0: dark blue
  expect(px(tile2 + 3, 1)).toEqual(jet(1).map((v) => Math.round(255 * v))); // heat 1: dark red
  expect(jet(0)[2]).toBeGreaterThan(jet(0)[0]);
  expect(jet(1)[0]).toBeGreaterThan(jet(1)[2]);
  expect(() => writeOverlayGridPng(file, [[{ image: new Float32Array(3) }]], { h: 2, w: 2, channels: 1 })).toThrow(
    /tile 0,0 has 3 values, expected 4/,
  );
});
