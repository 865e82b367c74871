/**
 * Pictures beside the CSVs: line charts (accuracy per epoch, information-plane paths) and heatmaps
 * (CKA matrices), specified in Vega-Lite, rendered to SVG by Vega (headless, no browser) and to PNG by
 * resvg (its binary ships inside its npm package). Vega 5 / Vega-Lite 5: the 6.x releases are
 * ESM-only with top-level await and cannot be required from CommonJS.
 *
 * Colours: a series' colour (and a line's dash) comes from the package's `style`, one fixed mapping
 * from method or variant name to colour, so that a method is drawn alike in every plot of a package;
 * series it does not name take PALETTE's colours in order of appearance. Legends list the series in
 * the order the data gives them.
 */
import * as path from 'path';
import { meanInterval } from './claims';
import type { RunRecord } from './record';
import { writeFileAtomic } from '@repro/runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vega = require('vega') as {
  parse(spec: object): object;
  /** A named colour scheme: an interpolator over [0, 1] (continuous schemes) or a list of colours. */
  scheme(name: string): ((t: number) => string) | string[] | undefined;
  View: new (rt: object, opts: object) => { toSVG(): Promise<string>; finalize(): void };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const vegaLite = require('vega-lite') as { compile(spec: object): { spec: object } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Resvg } = require('@resvg/resvg-js') as {
  Resvg: new (svg: string, opts: object) => { render(): { asPng(): Buffer } };
};

/** The colours of series a package leaves unnamed, in order of appearance (Vega's tableau10). */
export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

/** How one series is drawn: its colour (CSS) and, for lines, a dash pattern (omitted: solid). */
export interface SeriesStyle {
  color?: string;
  dash?: number[];
}

/**
 * A package's fixed styles, declared once and passed to every plot of the package: the style of a
 * series name (undefined, or no colour: the next PALETTE colour not taken by a named series). `rank`
 * and `all` are the series' position among the plot's series in order of appearance and those series,
 * for ordered variants (e.g. checkpoints shaded by epoch).
 */
export type SeriesStyles = (series: string, rank: number, all: string[]) => SeriesStyle | undefined;

/** The series' colours and dashes, in order of first appearance: explicit Vega-Lite scale domains and ranges. */
export function seriesScales(
  series: string[],
  style?: SeriesStyles,
): { domain: string[]; colors: string[]; dashes?: number[][] } {
  const domain = [...new Set(series)];
  const styles = domain.map((s, i) => style?.(s, i, domain) ?? {});
  const taken = new Set(styles.map((st) => st.color?.toLowerCase()).filter((c) => c !== undefined));
  const free = PALETTE.filter((c) => !taken.has(c));
  const pool = free.length ? free : PALETTE;
  let next = 0;
  const colors = styles.map((st) => st.color ?? pool[next++ % pool.length]);
  const dashes = styles.some((st) => st.dash) ? styles.map((st) => st.dash ?? [1, 0]) : undefined;
  return { domain, colors, ...(dashes ? { dashes } : {}) };
}

/** `#rrggbb` or `rgb(r, g, b)` as [r, g, b] in 0-255. */
function parseColor(c: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c.trim());
  if (hex) return [1, 2, 3].map((i) => parseInt(hex[i], 16)) as [number, number, number];
  const rgb = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/i.exec(c.trim());
  if (rgb) return [1, 2, 3].map((i) => Number(rgb[i])) as [number, number, number];
  throw new Error(`parseColor: unsupported colour '${c}'`);
}

const hex2 = (v: number) =>
  Math.round(Math.min(255, Math.max(0, v)))
    .toString(16)
    .padStart(2, '0');

/**
 * Variant k of n (0 = lightest) of a colour: from halfway to white to a third of the way to black, so
 * that e.g. one method's runs from teachers of growing depth share its hue and darken with depth.
 */
export function shade(color: string, k: number, n: number): string {
  const t = n > 1 ? k / (n - 1) : 0.5;
  const [r, g, b] = parseColor(color);
  const f = (v: number) => (t < 0.5 ? v + (255 - v) * (0.5 - t) : v * (1 - (t - 0.5) * (2 / 3)));
  return `#${hex2(f(r))}${hex2(f(g))}${hex2(f(b))}`;
}

/** WCAG relative luminance of a colour, in [0, 1]. */
export function relativeLuminance(color: string): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = parseColor(color).map(lin);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The colour a Vega colour scheme gives `value` on a linear scale over `domain` (clamped). */
export function schemeColor(scheme: string, domain: [number, number], value: number): string {
  const s = vega.scheme(scheme);
  if (s === undefined) throw new Error(`schemeColor: unknown Vega colour scheme '${scheme}'`);
  const span = domain[1] - domain[0];
  const t = Math.min(1, Math.max(0, span > 0 ? (value - domain[0]) / span : 0.5));
  return typeof s === 'function' ? s(t) : s[Math.min(s.length - 1, Math.floor(t * s.length))];
}

export const DARK_TEXT = '#000000';
export const LIGHT_TEXT = '#ffffff';

/** Black or white, whichever contrasts more with the background colour (WCAG contrast ratio). */
export function textColorOn(background: string): string {
  const l = relativeLuminance(background);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? DARK_TEXT : LIGHT_TEXT;
}

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
  /** The package's colour (and dash) per series name. */
  style?: SeriesStyles;
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
  const scales = seriesScales(
    data.map((d) => d.series),
    o.style,
  );
  // the legend shows each line as a stroke in the line's own colour and dash, not the band's pale fill
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: scales.domain, range: scales.colors },
    legend: { labelLimit: 480, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 2, symbolSize: 300 },
  };
  const dash = scales.dashes
    ? {
        strokeDash: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: scales.domain, range: scales.dashes },
        },
      }
    : {};
  const line = {
    mark: { type: 'line', point: o.points ?? true },
    encoding: {
      x,
      color,
      ...dash,
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

/**
 * Bars by category (in the given order), coloured by series (the package's `style`), with optional
 * error bars. Several series in one category stand side by side (grouped, never stacked).
 */
export function barChartSpec(
  data: BarPoint[],
  o: { title: string; yLabel: string; width?: number; height?: number; style?: SeriesStyles },
): object {
  const order = [...new Set(data.map((d) => d.category))];
  const scales = seriesScales(
    data.map((d) => d.series),
    o.style,
  );
  const grouped = order.some((c) => new Set(data.filter((d) => d.category === c).map((d) => d.series)).size > 1);
  const x = {
    field: 'category',
    type: 'nominal',
    sort: order,
    title: null,
    axis: { labelAngle: -20, labelLimit: 200 },
  };
  const offset = grouped ? { xOffset: { field: 'series', type: 'nominal', sort: scales.domain } } : {};
  const layer: object[] = [
    {
      mark: 'bar',
      encoding: {
        x,
        ...offset,
        y: { field: 'y', type: 'quantitative', title: o.yLabel, stack: null },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: scales.domain, range: scales.colors },
          legend: { labelLimit: 480 },
        },
      },
    },
  ];
  if (data.some((d) => d.lo !== undefined && d.hi !== undefined))
    layer.push({
      mark: { type: 'rule', color: 'black' },
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      encoding: { x, ...offset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
    });
  return {
    ...chartFrame(o),
    data: { values: data },
    layer,
  };
}

/** Short forms of tfjs layer classes (after a leading 'Torch'); other classes are lower-cased. */
const LAYER_ABBREVIATIONS: Record<string, string> = {
  Conv2D: 'conv',
  Conv1D: 'conv1d',
  DepthwiseConv2D: 'dwconv',
  SeparableConv2D: 'sepconv',
  BatchNorm: 'bn',
  BatchNormalization: 'bn',
  LayerNorm: 'ln',
  ReLU: 'relu',
  MaxPool: 'maxpool',
  MaxPooling2D: 'maxpool',
  AvgPool: 'avgpool',
  AveragePooling2D: 'avgpool',
  GlobalAveragePooling2D: 'gap',
  GlobalMaxPooling2D: 'gmp',
  Add: 'add',
  Concatenate: 'concat',
  Dense: 'dense',
  Flatten: 'flatten',
  Dropout: 'dropout',
  Activation: 'act',
};

/** tfjs's toSnakeCase (tfjs-layers generic_utils): how a class name becomes a default layer-name prefix. */
function toSnakeCase(name: string): string {
  const s = name
    .replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
  return s[0] !== '_' ? s : `private${s}`;
}

/**
 * A tfjs auto-generated layer name (`<snake_case(Class)>_<Class><n>`, e.g. `torch_conv2d_TorchConv2D12`,
 * optionally with compareModels' `@site` / `:output` suffix) as its class and counter; undefined for
 * any other name.
 */
export function parseAutoLayerName(name: string): { cls: string; index: string; suffix: string } | undefined {
  const m = /^(.*?)((?:@\d+)?(?::\d+)?)$/.exec(name)!;
  const [base, suffix] = [m[1], m[2]];
  for (let i = base.indexOf('_'); i > 0; i = base.indexOf('_', i + 1)) {
    const prefix = base.slice(0, i);
    const rest = base.slice(i + 1);
    const digits = /\d+$/.exec(rest)?.[0] ?? '';
    // the counter is a tail of the trailing digits (a class such as Conv1 could end in digits too)
    for (let k = digits.length; k >= 1; k--) {
      const cls = rest.slice(0, rest.length - k);
      if (/^[A-Z][A-Za-z0-9]*$/.test(cls) && toSnakeCase(cls) === prefix)
        return { cls, index: rest.slice(rest.length - k), suffix };
    }
  }
  return undefined;
}

/**
 * Axis labels for layer names: each tfjs auto-generated name as `<short class> <counter>` (e.g.
 * `conv 12`, `bn 3`), every other name as it is; a short form that would coincide with another label
 * keeps its full name. `legend` lists each short class once with the full form (`conv N =
 * torch_conv2d_TorchConv2DN`), for the plot's caption.
 */
export function shortLayerLabels(names: string[]): { labels: string[]; legend: string[] } {
  const parsed = names.map(parseAutoLayerName);
  const short = names.map((n, i) => {
    const p = parsed[i];
    if (!p) return n;
    const bare = p.cls.replace(/^Torch(?=[A-Z])/, '');
    return `${LAYER_ABBREVIATIONS[bare] ?? bare.toLowerCase()} ${p.index}${p.suffix}`;
  });
  const count = new Map<string, number>();
  for (const l of short) count.set(l, (count.get(l) ?? 0) + 1);
  // a short form must differ from every other label (short, or a name kept as it is)
  const labels = short.map((l, i) => (parsed[i] && (count.get(l) ?? 0) > 1 ? names[i] : l));
  const legend = new Map<string, string>();
  labels.forEach((l, i) => {
    const p = parsed[i];
    if (!p || l === names[i]) return;
    const key = l.slice(0, l.length - p.index.length - p.suffix.length);
    legend.set(key, `${key}N = ${toSnakeCase(p.cls)}_${p.cls}N`);
  });
  return { labels, legend: [...legend.values()] };
}

/** Words joined by `sep` into lines of at most `width` characters (a longer word gets a line of its own). */
function wrapLines(parts: string[], width: number, sep = ', '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    const next = line ? `${line}${sep}${p}` : p;
    if (line && next.length > width) {
      lines.push(`${line}${sep.trimEnd()}`);
      line = p;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

export interface HeatmapOptions {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  xLabel?: string;
  yLabel?: string;
  /** The quantity the colours show, the colour bar's title (e.g. 'linear CKA (debiased)'). */
  valueLabel?: string;
  domain?: [number, number];
  /** Vega colour scheme (default viridis; torch_cka's plot_results uses magma). */
  scheme?: string;
  /** 'bottom-up' puts the first row at the bottom, as imshow(origin='lower') (default top-down). */
  rowOrder?: 'top-down' | 'bottom-up';
  /** Print each cell's value (default true; off for large matrices), black or white by the cell's luminance. */
  cellText?: boolean;
  /**
   * Show tfjs auto-generated layer names short (`conv 12` for torch_conv2d_TorchConv2D12, see
   * shortLayerLabels) with the full forms in a caption under the title (default true).
   */
  shortLayerNames?: boolean;
}

export function heatmapSpec(matrix: number[][], o: HeatmapOptions): object {
  const shorten = o.shortLayerNames ?? true;
  const rows = shorten ? shortLayerLabels(o.rowLabels) : { labels: o.rowLabels, legend: [] };
  const cols = shorten ? shortLayerLabels(o.colLabels) : { labels: o.colLabels, legend: [] };
  const scheme = o.scheme ?? 'viridis';
  const domain = o.domain ?? [0, 1];
  const values = matrix.flatMap((row, i) =>
    row.map((v, j) => ({
      row: rows.labels[i],
      col: cols.labels[j],
      value: v,
      // the number is readable on any cell: dark text on light cells, light text on dark ones
      textColor: textColorOn(schemeColor(scheme, domain, v)),
    })),
  );
  const rowSort = o.rowOrder === 'bottom-up' ? [...rows.labels].reverse() : rows.labels;
  const text = {
    mark: { type: 'text', fontSize: 9 },
    encoding: {
      x: { field: 'col', type: 'ordinal', sort: cols.labels },
      y: { field: 'row', type: 'ordinal', sort: rowSort },
      text: { field: 'value', type: 'quantitative', format: '.2f' },
      fill: { field: 'textColor', type: 'nominal', scale: null, legend: null },
    },
  };
  const width = Math.max(120, 28 * o.colLabels.length);
  const legend = [...new Set([...rows.legend, ...cols.legend])];
  const caption = legend.length
    ? wrapLines([`layer labels shortened: ${legend[0]}`, ...legend.slice(1)], Math.max(60, Math.floor(width / 5.5)))
    : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: caption.length ? { text: o.title, subtitle: caption } : o.title,
    background: 'white',
    data: { values },
    width,
    height: Math.max(120, 28 * o.rowLabels.length),
    layer: [
      {
        mark: 'rect',
        encoding: {
          x: { field: 'col', type: 'ordinal', sort: cols.labels, title: o.xLabel ?? null },
          y: { field: 'row', type: 'ordinal', sort: rowSort, title: o.yLabel ?? null },
          color: {
            field: 'value',
            type: 'quantitative',
            title: o.valueLabel ?? null,
            scale: { scheme, domain },
            legend: { titleLimit: 400 },
          },
        },
      },
      ...(o.cellText === false ? [] : [text]),
    ],
  };
}

const unescapeXml = (t: string) =>
  t
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * What a chart rendered by renderSvg shows in its legend, in order: each label with its swatch's
 * colour (a line's stroke, a bar's fill), dash (stroke-dasharray) and opacity. For checking plots.
 */
export function legendEntries(svg: string): Array<{ label: string; color: string; dash?: string; opacity: number }> {
  const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  return [
    ...svg.matchAll(/role-legend-symbol"[^>]*><path([^>]*)\/>[^]*?role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g),
  ].map((m) => {
    const stroke = attr(m[1], 'stroke');
    const dash = attr(m[1], 'stroke-dasharray');
    return {
      label: unescapeXml(m[2]),
      color: stroke && stroke !== 'transparent' ? stroke : (attr(m[1], 'fill') ?? ''),
      ...(dash ? { dash } : {}),
      opacity: Number(attr(m[1], 'opacity') ?? 1),
    };
  });
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
    // the SVGs ask for sans-serif; without a family named for it resvg drew DejaVu Serif here
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans', defaultFontFamily: 'DejaVu Sans' },
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
