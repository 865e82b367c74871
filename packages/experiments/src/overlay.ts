/**
 * Heat-map overlays (Grad-CAM figures) as PNG: a grid of tiles, each a grey or RGB image with an
 * optional heat map in [0, 1] blended over it in the jet colour map, enlarged by nearest neighbour.
 * Written atomically with pngjs.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '@repro/runtime';

export interface OverlayTile {
  /** [h·w·c] pixels in [0, 1], row-major, c = 1 (grey) or 3 (RGB). */
  image: ArrayLike<number>;
  /** [h·w] in [0, 1]; omitted: the image alone. */
  heat?: ArrayLike<number>;
}

/** Jet colour map of t ∈ [0, 1] to RGB in [0, 1]. */
export function jet(t: number): [number, number, number] {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/**
 * @param rows tiles by row (every tile h × w × channels). @param opts.scale enlargement (default 4),
 * opts.alpha weight of the heat map (default 0.5), opts.gap pixels between tiles (default 2, white).
 */
export function writeOverlayGridPng(
  file: string,
  rows: OverlayTile[][],
  opts: { h: number; w: number; channels: 1 | 3; scale?: number; alpha?: number; gap?: number },
): void {
  const { h, w, channels } = opts;
  const scale = opts.scale ?? 4;
  const alpha = opts.alpha ?? 0.5;
  const gap = opts.gap ?? 2;
  const cols = Math.max(...rows.map((r) => r.length));
  if (!rows.length || cols === 0) throw new Error(`writeOverlayGridPng(${file}): no tiles`);
  const png = new PNG({ width: cols * (w * scale + gap) + gap, height: rows.length * (h * scale + gap) + gap });
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
              const X = gap + c * (w * scale + gap) + x * scale + dx;
              const Y = gap + r * (h * scale + gap) + y * scale + dy;
              const o = 4 * (Y * png.width + X);
              for (let k = 0; k < 3; k++) png.data[o + k] = Math.round(255 * Math.min(1, Math.max(0, rgb[k])));
              png.data[o + 3] = 255;
            }
          }
        }
      }
    }),
  );
  writeFileAtomic(file, PNG.sync.write(png));
}
