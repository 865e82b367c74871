/** The files of a model comparison: torch_cka's export fields, the long CSV, the heatmap. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import type { CompareResult } from '@repro/models';
import { writeCkaFiles } from '../src';

const result: CompareResult = {
  matrix: [
    [1, 0.5, -0.01],
    [0.4, 0.9, 0.2],
  ],
  layersA: ['c1', 'fc'],
  layersB: ['c1', 'c2', 'fc'],
  modelNames: ['teacher', 'student'],
  dataNames: ['fashion-mnist:test', 'fashion-mnist:test'],
  batches: 3,
  examples: 150,
  estimator: 'debiased',
  weighting: 'equal',
};

it('writes JSON (torch_cka export fields), a long CSV and the heatmap as PNG and SVG', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cka-files-'));
  const f = await writeCkaFiles(result, dir);
  const json = JSON.parse(fs.readFileSync(f.json, 'utf8')) as Record<string, unknown>;
  expect(json).toMatchObject({
    model1_name: 'teacher',
    model2_name: 'student',
    CKA: result.matrix,
    model1_layers: ['c1', 'fc'],
    model2_layers: ['c1', 'c2', 'fc'],
    dataset1_name: 'fashion-mnist:test',
    dataset2_name: 'fashion-mnist:test',
  });
  const rows = parse<Record<string, string>>(fs.readFileSync(f.csv, 'utf8'), { columns: true });
  expect(rows).toHaveLength(6);
  expect(rows[2]).toMatchObject({ model1_layer: 'c1', model2_layer: 'fc', cka: '-0.01' });
  expect(fs.readFileSync(f.png).subarray(1, 4).toString()).toBe('PNG');
  const svg = fs.readFileSync(f.svg, 'utf8');
  for (const label of ['Layers teacher', 'Layers student', 'c2']) expect(svg).toContain(label);
  expect(fs.readdirSync(dir).sort()).toEqual(['cka.csv', 'cka.json', 'cka.png', 'cka.svg']);
});
