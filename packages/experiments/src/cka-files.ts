/**
 * Files of a model comparison (compareModels of @repro/models): torch_cka's `export()` as JSON, the
 * same matrix as a long CSV, and the heatmap torch_cka's `plot_results` draws (layers of A up the y
 * axis from the bottom, layers of B along x, magma, a colour bar), as PNG and SVG. Every file is
 * written atomically, after the comparison has finished.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'csv-stringify/sync';
import { safeJoin, writeFileAtomic, writeJsonAtomic } from '@repro/runtime';
import type { CompareResult } from '@repro/models';
import { ckaExport } from '@repro/models';
import { heatmapSpec, writePlot } from './plot';

export interface CkaFiles {
  json: string;
  csv: string;
  png: string;
  svg: string;
}

/** The long CSV: one row per (layer of A, layer of B). */
export function ckaCsv(r: CompareResult): string {
  const rows = r.layersA.flatMap((la, i) =>
    r.layersB.map((lb, j) => ({
      model1_name: r.modelNames[0],
      model2_name: r.modelNames[1],
      dataset1_name: r.dataNames[0],
      dataset2_name: r.dataNames[1],
      model1_layer: la,
      model2_layer: lb,
      cka: r.matrix[i][j],
      estimator: r.estimator,
      weighting: r.weighting,
      batches: r.batches,
      examples: r.examples,
    })),
  );
  return stringify(rows, { header: true });
}

/**
 * Writes `<base>.json`, `<base>.csv`, `<base>.png` and `<base>.svg` under `outDir`. `base` may come
 * from a record (a student's name): one that climbs out of `outDir` is refused before anything is written.
 */
export async function writeCkaFiles(r: CompareResult, outDir: string, base = 'cka', title?: string): Promise<CkaFiles> {
  const stem = safeJoin(outDir, base, 'CKA file name');
  fs.mkdirSync(path.dirname(stem), { recursive: true });
  const spec = heatmapSpec(r.matrix, {
    title: title ?? `${r.modelNames[0]} vs ${r.modelNames[1]} (${r.estimator} CKA, ${r.batches} batches)`,
    rowLabels: r.layersA,
    colLabels: r.layersB,
    yLabel: `Layers ${r.modelNames[0]}`,
    xLabel: `Layers ${r.modelNames[1]}`,
    // the colour bar names the statistic the matrix holds (minibatch linear CKA, its HSIC estimator)
    valueLabel: `linear CKA (${r.estimator})`,
    scheme: 'magma',
    rowOrder: 'bottom-up',
    cellText: r.layersA.length * r.layersB.length <= 400,
    // debiased CKA can be slightly negative; the scale shows it rather than clipping
    domain: [Math.min(0, ...r.matrix.flat()), 1],
  });
  const plot = await writePlot(stem, spec);
  writeJsonAtomic(`${stem}.json`, ckaExport(r));
  writeFileAtomic(`${stem}.csv`, ckaCsv(r));
  return { json: `${stem}.json`, csv: `${stem}.csv`, ...plot };
}
