/**
 * Pictures beside the CSVs: line charts (accuracy per epoch, information-plane paths) and heatmaps
 * (CKA matrices), specified in Vega-Lite, rendered to SVG by Vega (headless, no browser) and to PNG by
 * resvg (its binary ships inside its npm package). Vega 5 / Vega-Lite 5: the 6.x releases are
 * ESM-only with top-level await and cannot be required from CommonJS.
 */
import * as path from 'path';
import { meanInterval } from './claims';
import type { RunRecord } from './record';
import { writeFileAtomic } from '@repro/runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vega = require('vega') as {
  parse(spec: object): object;
  View: new (rt: object, opts: object) => { toSVG(): Promise<string>; finalize(): void };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const vegaLite = require('vega-lite') as { compile(spec: object): { spec: object } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Resvg } = require('@resvg/resvg-js') as {
  Resvg: new (svg: string, opts: object) => { render(): { asPng(): Buffer } };
};

export interface LinePoint {
  series: string;
  x: number;
  y: number;
  /** A band around y (e.g. the 95% interval over seeds), drawn shaded when given. */
  lo?: number;
  hi?: number;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Draw points as well as lines (default true). */
  points?: boolean;
  /** Keep the points' order (for paths such as the information plane) instead of sorting by x. */
  pathOrder?: boolean;
  /** Integer ticks on x (epochs). */
  integerX?: boolean;
}

/** The Vega-Lite frame every chart shares: schema, title, size (480 × 300 by default), white background. */
function chartFrame(o: { title: string; width?: number; height?: number }): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: o.width ?? 480,
    height: o.height ?? 300,
    background: 'white',
  };
}

export function lineChartSpec(data: LinePoint[], o: LineChartOptions): object {
  const x = {
    field: 'x',
    type: 'quantitative',
    title: o.xLabel,
    scale: { zero: false },
    ...(o.integerX ? { axis: { tickMinStep: 1, format: 'd' } } : {}),
  };
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 480 } };
  const line = {
    mark: { type: 'line', point: o.points ?? true },
    encoding: {
      x,
      color,
      y: { field: 'y', type: 'quantitative', title: o.yLabel, scale: { zero: false } },
      ...(o.pathOrder ? { order: { field: 'order', type: 'quantitative' } } : {}),
    },
  };
  const banded = data.some((d) => d.lo !== undefined && d.hi !== undefined);
  const band = {
    mark: { type: 'area', opacity: 0.18 },
    transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
    encoding: { x, color, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
  };
  return {
    ...chartFrame(o),
    data: { values: data.map((d, i) => ({ ...d, order: i })) },
    ...(banded ? { layer: [band, line] } : line),
  };
}

export interface BarPoint {
  /** The bar's label on the x axis. */
  category: string;
  /** Colour group. */
  series: string;
  y: number;
  /** Error bar (e.g. the 95% interval over seeds), drawn when given. */
  lo?: number;
  hi?: number;
}

/** Bars by category (in the given order), coloured by series, with optional error bars. */
export function barChartSpec(
  data: BarPoint[],
  o: { title: string; yLabel: string; width?: number; height?: number },
): object {
  const order = [...new Set(data.map((d) => d.category))];
  const x = {
    field: 'category',
    type: 'nominal',
    sort: order,
    title: null,
    axis: { labelAngle: -20, labelLimit: 200 },
  };
  const layer: object[] = [
    {
      mark: 'bar',
      encoding: {
        x,
        y: { field: 'y', type: 'quantitative', title: o.yLabel },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
  ];
  if (data.some((d) => d.lo !== undefined && d.hi !== undefined))
    layer.push({
      mark: { type: 'rule', color: 'black' },
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
    });
  return {
    ...chartFrame(o),
    data: { values: data },
    layer,
  };
}

export function heatmapSpec(
  matrix: number[][],
  o: {
    title: string;
    rowLabels: string[];
    colLabels: string[];
    xLabel?: string;
    yLabel?: string;
    domain?: [number, number];
    /** Vega colour scheme (default viridis; torch_cka's plot_results uses magma). */
    scheme?: string;
    /** 'bottom-up' puts the first row at the bottom, as imshow(origin='lower') (default top-down). */
    rowOrder?: 'top-down' | 'bottom-up';
    /** Print each cell's value (default true; off for large matrices). */
    cellText?: boolean;
  },
): object {
  const values = matrix.flatMap((row, i) =>
    row.map((v, j) => ({ row: o.rowLabels[i], col: o.colLabels[j], value: v })),
  );
  const rowSort = o.rowOrder === 'bottom-up' ? [...o.rowLabels].reverse() : o.rowLabels;
  const text = {
    mark: { type: 'text', fontSize: 9 },
    encoding: {
      x: { field: 'col', type: 'ordinal', sort: o.colLabels },
      y: { field: 'row', type: 'ordinal', sort: rowSort },
      text: { field: 'value', type: 'quantitative', format: '.2f' },
      color: { value: 'white' },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    background: 'white',
    data: { values },
    width: Math.max(120, 28 * o.colLabels.length),
    height: Math.max(120, 28 * o.rowLabels.length),
    layer: [
      {
        mark: 'rect',
        encoding: {
          x: { field: 'col', type: 'ordinal', sort: o.colLabels, title: o.xLabel ?? null },
          y: { field: 'row', type: 'ordinal', sort: rowSort, title: o.yLabel ?? null },
          color: {
            field: 'value',
            type: 'quantitative',
            title: null,
            scale: { scheme: o.scheme ?? 'viridis', domain: o.domain ?? [0, 1] },
          },
        },
      },
      ...(o.cellText === false ? [] : [text]),
    ],
  };
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(vlSpec: object): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(vlSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, width?: number): Buffer {
  return new Resvg(svg, {
    font: { loadSystemFonts: true },
    ...(width ? { fitTo: { mode: 'width', value: width } } : {}),
  })
    .render()
    .asPng();
}

/** Writes `<base>.svg` and `<base>.png` (atomically); returns their paths. */
export async function writePlot(base: string, vlSpec: object): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(vlSpec);
  const svgPath = `${base}.svg`;
  const pngPath = `${base}.png`;
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, svgToPng(svg, 960));
  return { svg: path.resolve(svgPath), png: path.resolve(pngPath) };
}

/**
 * A point's y and error band from per-seed values: the mean and its 95% Student t interval over the
 * finite values (no band for one value; y NaN when none is finite).
 */
export function meanBand(values: number[]): { y: number; lo?: number; hi?: number } {
  const xs = values.filter((v) => Number.isFinite(v));
  if (!xs.length) return { y: NaN };
  const iv = meanInterval(xs);
  return { y: iv.estimate, ...(Number.isFinite(iv.lo) ? { lo: iv.lo, hi: iv.hi } : {}) };
}

/**
 * One line of a per-epoch plot: at each epoch (up to the shortest history) the mean and 95% band over
 * the records (seeds) of `history[epoch][key]`.
 */
export function epochCurve(records: RunRecord[], key: string, series: string): LinePoint[] {
  const epochs = Math.min(...records.map((r) => r.history.length));
  return Array.from({ length: epochs }, (_, e) => ({
    series,
    x: e + 1,
    ...meanBand(records.map((r) => r.history[e][key])),
  }));
}
