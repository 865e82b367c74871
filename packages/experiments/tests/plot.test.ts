/** Plots render to SVG and PNG (a PNG written by this test was looked at during development). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import {
  DARK_TEXT,
  LIGHT_TEXT,
  PALETTE,
  SeriesStyles,
  barChartSpec,
  heatmapSpec,
  jet,
  lineChartSpec,
  parseAutoLayerName,
  relativeLuminance,
  renderSvg,
  schemeColor,
  seriesScales,
  shade,
  shortLayerLabels,
  textColorOn,
  writeOverlayGridPng,
  writePlot,
} from '../src';

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

describe('heatmap cells, colour bar and layer labels', () => {
  const cellTexts = (svg: string) =>
    Object.fromEntries(
      [...svg.matchAll(/<text[^>]*fill="(#[0-9a-f]{6})"[^>]*>(-?\d\.\d\d)<\/text>/g)].map((m) => [m[2], m[1]]),
    );

  it.each(['magma', 'viridis'])(
    'prints dark numbers on light cells and light numbers on dark cells (%s)',
    async (scheme) => {
      const svg = await renderSvg(
        heatmapSpec([[0.95, 0.05]], { title: 'CKA', rowLabels: ['a'], colLabels: ['x', 'y'], scheme }),
      );
      expect(cellTexts(svg)).toEqual({ '0.95': DARK_TEXT, '0.05': LIGHT_TEXT });
      // the text colour is chosen from the colour the cell is really drawn in
      const fills = [...svg.matchAll(/aria-roledescription="rect mark" d="[^"]*" fill="([^"]+)"/g)].map((m) => m[1]);
      expect(fills).toEqual([schemeColor(scheme, [0, 1], 0.95), schemeColor(scheme, [0, 1], 0.05)]);
      expect(textColorOn(fills[0])).toBe(DARK_TEXT);
      expect(textColorOn(fills[1])).toBe(LIGHT_TEXT);
    },
  );

  it('gives every value from 0 to 1 a text colour of contrast at least 4.5 against its cell', () => {
    for (const scheme of ['magma', 'viridis'])
      for (let v = 0; v <= 1.0001; v += 0.01) {
        const bg = relativeLuminance(schemeColor(scheme, [0, 1], v));
        const fg = relativeLuminance(textColorOn(schemeColor(scheme, [0, 1], v)));
        const contrast = (Math.max(bg, fg) + 0.05) / (Math.min(bg, fg) + 0.05);
        expect(contrast).toBeGreaterThanOrEqual(4.5);
      }
  });

  it('titles the colour bar with the quantity shown', async () => {
    const svg = await renderSvg(
      heatmapSpec([[0.5]], { title: 't', rowLabels: ['a'], colLabels: ['b'], valueLabel: 'linear CKA (debiased)' }),
    );
    expect(svg).toMatch(/role-legend-title[^]*?>linear CKA \(debiased\)<\/text>/);
  });

  it('shows tfjs auto-generated layer names short and distinct, the full forms in a caption', async () => {
    const names = [
      'torch_conv2d_TorchConv2D12',
      'torch_batch_norm_TorchBatchNorm3',
      're_lu_ReLU1',
      'torch_conv2d_TorchConv2D13',
      'global_average_pooling2d_GlobalAveragePooling2D8',
      'stage1',
      'torch_conv2d_TorchConv2D2@1',
    ];
    const { labels, legend } = shortLayerLabels(names);
    expect(labels).toEqual(['conv 12', 'bn 3', 'relu 1', 'conv 13', 'gap 8', 'stage1', 'conv 2@1']);
    expect(legend).toContain('conv N = torch_conv2d_TorchConv2DN');
    expect(legend).toContain('gap N = global_average_pooling2d_GlobalAveragePooling2DN');
    expect(parseAutoLayerName('features_conv')).toBeUndefined();
    expect(parseAutoLayerName('conv2d_Conv2D1')).toEqual({ cls: 'Conv2D', index: '1', suffix: '' });
    // a short form that another label already is keeps its full name
    expect(shortLayerLabels(['torch_conv2d_TorchConv2D1', 'conv 1']).labels).toEqual([
      'torch_conv2d_TorchConv2D1',
      'conv 1',
    ]);
    const svg = await renderSvg(
      heatmapSpec(
        names.map(() => names.map(() => 0.5)),
        { title: 'CKA', rowLabels: names, colLabels: names },
      ),
    );
    const axisLabels = [...svg.matchAll(/role-axis-label[^]*?<\/g>/g)].flatMap((g) =>
      [...g[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
    );
    expect(axisLabels.filter((l) => l.startsWith('conv'))).toHaveLength(6); // 3 per axis, none alike
    expect(new Set(axisLabels).size).toBe(names.length);
    expect(axisLabels.some((l) => l.includes('…'))).toBe(false);
    expect(svg).toContain('conv N = torch_conv2d_TorchConv2DN');
  });
});

describe('series colours', () => {
  const lineStrokes = (svg: string) =>
    Object.fromEntries(
      [...svg.matchAll(/aria-roledescription="line mark" d="[^"]*" stroke="([^"]+)"/g)].map((m, i) => [i, m[1]]),
    );
  const legendSymbols = (svg: string) =>
    [...svg.matchAll(/role-legend-symbol[^>]*><path[^>]*?stroke="([^"]+)"[^>]*?opacity="([\d.]+)"/g)].map((m) => ({
      stroke: m[1],
      opacity: m[2],
    }));

  it("draws legend swatches in the line's full colour, not the band's pale fill", async () => {
    const data = [1, 2, 3].flatMap((e) => [
      { series: 'A', x: e, y: 80 + e, lo: 79 + e, hi: 81 + e },
      { series: 'B', x: e, y: 70 + e, lo: 69 + e, hi: 71 + e },
    ]);
    const svg = await renderSvg(lineChartSpec(data, { title: 't', xLabel: 'x', yLabel: 'y' }));
    const lines = Object.values(lineStrokes(svg));
    expect(lines).toHaveLength(2);
    expect(legendSymbols(svg)).toEqual(lines.map((stroke) => ({ stroke, opacity: '1' })));
  });

  it("gives a series the package's colour whatever the plot's other series, and dashes where asked", async () => {
    const style: SeriesStyles = (s) =>
      ({ vanilla: { color: '#9d755d' }, DPK: { color: '#4c78a8' }, 'DPK held': { color: '#4c78a8', dash: [6, 3] } })[s];
    const one = seriesScales(['other', 'DPK', 'vanilla'], style);
    const two = seriesScales(['vanilla', 'DPK'], style);
    expect(one.colors[one.domain.indexOf('DPK')]).toBe('#4c78a8');
    expect(two.colors[two.domain.indexOf('DPK')]).toBe('#4c78a8');
    expect(one.colors[one.domain.indexOf('vanilla')]).toBe(two.colors[two.domain.indexOf('vanilla')]);
    // an unnamed series takes the first palette colour no named series has
    expect(one.colors[0]).toBe(PALETTE[1]);
    expect(one.dashes).toBeUndefined();
    const data = [1, 2].flatMap((x) => ['DPK', 'DPK held'].map((series) => ({ series, x, y: x })));
    const svg = await renderSvg(lineChartSpec(data, { title: 't', xLabel: 'x', yLabel: 'y', style }));
    expect(svg).toMatch(/aria-roledescription="line mark"[^>]*stroke="#4c78a8"[^>]*stroke-dasharray="6,3"/);
    const bars = await renderSvg(
      barChartSpec([{ category: 'c', series: 'DPK', y: 1 }], { title: 't', yLabel: 'y', style }),
    );
    expect(bars).toMatch(/aria-roledescription="bar" d="[^"]*" fill="#4c78a8"/);
  });

  it('shades one colour from light to dark for ordered variants', () => {
    const [l0, l1, l2] = [0, 1, 2].map((k) => relativeLuminance(shade('#f58518', k, 3)));
    expect(l0).toBeGreaterThan(l1);
    expect(l1).toBeGreaterThan(l2);
    expect(shade('#f58518', 1, 3)).toBe('#f58518');
  });

  it('puts several series of one category side by side, not stacked', async () => {
    const svg = await renderSvg(
      barChartSpec(
        [
          { category: 'stage1', series: 'kd', y: 0.9, lo: 0.85, hi: 0.95 },
          { category: 'stage1', series: 'dpk', y: 0.8, lo: 0.75, hi: 0.85 },
        ],
        { title: 't', yLabel: 'CKA' },
      ),
    );
    const rects = [...svg.matchAll(/aria-roledescription="bar" d="M([\d.]+),([\d.]+)h([\d.]+)v([\d.]+)h/g)].map((m) =>
      m.slice(1).map(Number),
    );
    expect(rects).toHaveLength(2);
    const [a, b] = rects;
    expect(a[0] + a[2]).toBeLessThanOrEqual(b[0]); // side by side
    expect(a[1] + a[3]).toBeCloseTo(b[1] + b[3]); // the same baseline
    expect(a[3] / b[3]).toBeCloseTo(0.9 / 0.8, 2); // heights in proportion to the values (no stack)
  });
});

it('labels an overlay grid: title, column and row labels, tile captions; the tiles keep their pixels', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-overlay-'));
  const image = new Float32Array(4).fill(0.5);
  const heat = new Float32Array([0, 1, 0, 1]);
  const rows = [[{ image }, { image, heat, caption: 'explains: Coat' }]];
  const opts = { h: 2, w: 2, channels: 1 as const, scale: 20, gap: 2, alpha: 1 };
  const plain = path.join(dir, 'plain.png');
  const labelled = path.join(dir, 'labelled.png');
  writeOverlayGridPng(
    plain,
    rows.map((r) => r.map(({ image: im, heat: ht }) => ({ image: im, heat: ht }))),
    opts,
  );
  writeOverlayGridPng(labelled, rows, {
    ...opts,
    title: 'Grad-CAM',
    colLabels: ['test image', 'Baseline\nGrad-CAM'],
    rowLabels: ['#0 true: Coat'],
  });
  const a = PNG.sync.read(fs.readFileSync(plain));
  const b = PNG.sync.read(fs.readFileSync(labelled));
  expect(b.width).toBeGreaterThan(a.width);
  expect(b.height).toBeGreaterThan(a.height);
  const px = (p: PNG, x: number, y: number) =>
    Array.from(p.data.subarray(4 * (y * p.width + x), 4 * (y * p.width + x) + 3));
  // the grid sits at the bottom right, below the labels and right of the row labels
  const [dx, dy] = [b.width - a.width, b.height - a.height - 14];
  for (const [x, y] of [
    [5, 5],
    [30, 10],
    [50, 30],
  ])
    expect(px(b, dx + x, dy + y)).toEqual(px(a, x, y));
  const dark = (p: PNG, x0: number, y0: number, x1: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(p, x, y).every((v) => v < 128)) n++;
    return n;
  };
  expect(dark(b, 0, 0, b.width, dy)).toBeGreaterThan(20); // title and column labels
  expect(dark(b, 0, dy, dx, b.height)).toBeGreaterThan(20); // the row label
  expect(dark(b, dx, b.height - 14, b.width, b.height)).toBeGreaterThan(10); // the caption
  expect(() => writeOverlayGridPng(labelled, rows, { ...opts, colLabels: ['one'] })).toThrow(/1 colLabels for 2 cols/);
});
