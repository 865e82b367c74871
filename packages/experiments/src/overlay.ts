/**
 * Heat-map overlays (Grad-CAM figures) as PNG: a grid of tiles, each a grey or RGB image with an
 * optional heat map in [0, 1] blended over it in the jet colour map, enlarged by nearest neighbour.
 * With a title, column or row labels or tile captions, the pixel grid is embedded in an SVG that adds
 * the text, rendered by resvg as the other plots are (plot.ts). Written atomically.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '@repro/runtime';
import { svgToPng } from './plot';

export interface OverlayTile {
  /** [h·w·c] pixels in [0, 1], row-major, c = 1 (grey) or 3 (RGB). */
  image: ArrayLike<number>;
  /** [h·w] in [0, 1]; omitted: the image alone. */
  heat?: ArrayLike<number>;
  /** A line of text under the tile (e.g. the class a Grad-CAM explains). */
  caption?: string;
}

export interface OverlayGridOptions {
  h: number;
  w: number;
  channels: 1 | 3;
  /** Enlargement (default 4). */
  scale?: number;
  /** Weight of the heat map (default 0.5). */
  alpha?: number;
  /** Pixels between tiles (default 2, white). */
  gap?: number;
  /** A title above the grid. */
  title?: string;
  /** What each column shows, above it ('\n' breaks a line). */
  colLabels?: string[];
  /** What each row shows, left of it. */
  rowLabels?: string[];
}

/** Jet colour map of t ∈ [0, 1] to RGB in [0, 1]. */
export function jet(t: number): [number, number, number] {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * @param rows tiles by row (every tile h × w × channels). @param opts.scale enlargement (default 4),
 * opts.alpha weight of the heat map (default 0.5), opts.gap pixels between tiles (default 2, white);
 * opts.title, opts.colLabels, opts.rowLabels and the tiles' captions add text around the grid.
 */
export function writeOverlayGridPng(file: string, rows: OverlayTile[][], opts: OverlayGridOptions): void {
  const { h, w, channels } = opts;
  const scale = opts.scale ?? 4;
  const alpha = opts.alpha ?? 0.5;
  const gap = opts.gap ?? 2;
  const cols = Math.max(...rows.map((r) => r.length));
  if (!rows.length || cols === 0) throw new Error(`writeOverlayGridPng(${file}): no tiles`);
  for (const [what, labels, n] of [
    ['colLabels', opts.colLabels, cols],
    ['rowLabels', opts.rowLabels, rows.length],
  ] as const)
    if (labels && labels.length !== n)
      throw new Error(`writeOverlayGridPng(${file}): ${labels.length} ${what} for ${n} ${what.slice(0, 3)}s`);
  const captioned = rows.some((r) => r.some((t) => t.caption !== undefined));
  // room under each row of tiles for the captions
  const captionH = captioned ? 14 : 0;
  const tileW = w * scale;
  const rowPitch = h * scale + gap + captionH;
  const png = new PNG({ width: cols * (tileW + gap) + gap, height: rows.length * rowPitch + gap });
  png.data.fill(255);
  rows.forEach((row, r) =>
    row.forEach((tile, c) => {
      if (tile.image.length !== h * w * channels)
        throw new Error(
          `writeOverlayGridPng(${file}): tile ${r},${c} has ${tile.image.length} values, expected ${h * w * channels}`,
        );
      if (tile.heat && tile.heat.length !== h * w)
        throw new Error(
          `writeOverlayGridPng(${file}): heat map ${r},${c} has ${tile.heat.length} values, expected ${h * w}`,
        );
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const p = y * w + x;
          const rgb =
            channels === 1
              ? [tile.image[p], tile.image[p], tile.image[p]]
              : [tile.image[3 * p], tile.image[3 * p + 1], tile.image[3 * p + 2]];
          if (tile.heat) {
            const j = jet(tile.heat[p]);
            for (let k = 0; k < 3; k++) rgb[k] = (1 - alpha) * rgb[k] + alpha * j[k];
          }
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const X = gap + c * (tileW + gap) + x * scale + dx;
              const Y = gap + r * rowPitch + y * scale + dy;
              const o = 4 * (Y * png.width + X);
              for (let k = 0; k < 3; k++) png.data[o + k] = Math.round(255 * Math.min(1, Math.max(0, rgb[k])));
              png.data[o + 3] = 255;
            }
          }
        }
      }
    }),
  );
  const grid = PNG.sync.write(png);
  if (!opts.title && !opts.colLabels && !opts.rowLabels && !captioned) {
    writeFileAtomic(file, grid);
    return;
  }
  // the text around the grid: an SVG with the grid embedded pixel for pixel, rendered by resvg
  const font = 'font-family="sans-serif" fill="#000"';
  const colLines = (opts.colLabels ?? []).map((l) => l.split('\n'));
  const titleH = opts.title ? 22 : 0;
  const colH = colLines.length ? 14 * Math.max(...colLines.map((l) => l.length)) + 6 : 0;
  const left = opts.rowLabels ? Math.ceil(6.5 * Math.max(...opts.rowLabels.map((l) => l.length))) + 14 : 0;
  const top = titleH + colH;
  const width = Math.max(left + png.width, opts.title ? Math.ceil(7.5 * opts.title.length) + 12 : 0);
  const height = top + png.height;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<image x="${left}" y="${top}" width="${png.width}" height="${png.height}" image-rendering="optimizeSpeed" href="data:image/png;base64,${grid.toString('base64')}"/>`,
  ];
  if (opts.title)
    parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" ${font}>${esc(opts.title)}</text>`);
  colLines.forEach((lines, c) => {
    const x = left + gap + c * (tileW + gap) + tileW / 2;
    lines.forEach((line, k) =>
      parts.push(
        `<text x="${x}" y="${titleH + 12 + 14 * k}" text-anchor="middle" font-size="11" ${font}>${esc(line)}</text>`,
      ),
    );
  });
  (opts.rowLabels ?? []).forEach((label, r) => {
    const y = top + gap + r * rowPitch + (h * scale) / 2 + 4;
    parts.push(`<text x="${left - 8}" y="${y}" text-anchor="end" font-size="11" ${font}>${esc(label)}</text>`);
  });
  rows.forEach((row, r) =>
    row.forEach((tile, c) => {
      if (tile.caption === undefined) return;
      const x = left + gap + c * (tileW + gap) + tileW / 2;
      const y = top + gap + r * rowPitch + h * scale + 11;
      parts.push(`<text x="${x}" y="${y}" text-anchor="middle" font-size="10" ${font}>${esc(tile.caption)}</text>`);
    }),
  );
  parts.push('</svg>');
  writeFileAtomic(file, svgToPng(parts.join('\n')));
}
