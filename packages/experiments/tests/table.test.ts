/** Published-vs-reproduced rows: every status kind from demo run records, byte-stable regeneration. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  buildTable,
  ClaimSpec,
  MeasuredSpec,
  PublishedValue,
  readRunRecords,
  resultsCsv,
  RunRecord,
  RUN_RECORD_SCHEMA,
  writeResultsCsv,
  writeRunRecord,
} from '../src';

function record(runId: string, scale: RunRecord['scale'], seed: number, metrics: Record<string, number>): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
    package: 'demo',
    runId,
    seed,
    scale,
    dataset: scale === 'paper' ? 'cifar10' : 'fashion-mnist',
    model: 'lenet',
    config: {},
    overrides: {},
    history: [
      { epoch: 1, ...metrics },
      { epoch: 2, ...metrics },
    ],
    metrics,
    backend: { name: 'wasm', detail: 'wasm simd, 1 thread', tfjsVersion: '4.22.0' },
    commit: 'abc1234',
    startedAt: '2026-11-23T00:00:00Z',
    wallSeconds: 1,
    complete: true,
  };
}

const cite = (row: string) => ({ paper: 'Demo et al. 2020', table: 'Table 1', row, column: 'top-1 (%)' });
const PUBLISHED: PublishedValue[] = [
  {
    table: 'T1',
    row: 'A',
    metric: 'top1Pct',
    value: 90,
    citation: cite('A'),
    tolerance: { abs: 1, why: 'seed spread ±0.5' },
    runId: 'a',
    command: 'demo train --run a --scale paper',
  },
  {
    table: 'T1',
    row: 'B',
    metric: 'top1Pct',
    value: 90,
    citation: cite('B'),
    tolerance: { abs: 1, why: 'seed spread ±0.5' },
    runId: 'b',
    command: 'demo train --run b --scale paper',
  },
  {
    table: 'T1',
    row: 'C',
    metric: 'top1Pct',
    value: 80,
    citation: cite('C'),
    tolerance: { abs: 1, why: 'seed spread' },
    runId: 'c',
    command: 'demo train --run c --scale paper',
  },
  {
    table: 'T1',
    row: 'E',
    metric: 'top1Pct',
    value: 60,
    citation: cite('E'),
    tolerance: { abs: 1, why: 'seed spread' },
    runId: '',
    command: '',
    unavailable: 'needs pretrained weights this repository does not have',
  },
  {
    table: 'T1',
    row: 'D',
    metric: 'top1Pct',
    value: 70,
    citation: cite('D'),
    tolerance: { abs: 1, why: 'seed spread' },
    runId: 'd',
    command: 'demo train --run d --scale paper',
  },
];
const gap = (hi: string, lo: string, min: number, statement: string): ClaimSpec => ({
  id: `${hi}>${lo}`,
  statement,
  source: { quote: statement, where: 'demo paper' },
  quantity: `${hi} − ${lo} (points)`,
  runIds: [hi, lo],
  command: `demo reproduce --run ${hi},${lo}`,
  threshold: min,
  holdsWhen: 'above',
  measure: (recs) => {
    const v = (id: string) =>
      recs.filter((r) => r.runId === id).map((r) => ({ seed: r.seed, value: r.metrics.top1Pct }));
    return { kind: 'welch', a: v(hi), b: v(lo) };
  },
});
const CLAIMS: ClaimSpec[] = [
  gap('c', 'e', 2, 'c beats e by 2 points'),
  gap('e', 'c', 2, 'e beats c by 2 points'),
  gap('c', 'f', 2, 'c beats f by 2 points'),
  gap('c', 'zz', 1, 'c beats zz'),
];

function records(): RunRecord[] {
  return [
    record('a', 'paper', 1, { top1Pct: 90.4 }),
    record('a', 'paper', 2, { top1Pct: 89.8 }), // match (mean 90.1)
    record('b', 'paper', 1, { top1Pct: 85 }), // outside-tol
    // paper missing (a cpu record of the run's id never fills it); c − e = 4 ± ~1 holds (fails reversed); c − f = 2.5 ± ~3 is inconclusive
    record('c', 'cpu', 1, { top1Pct: 88 }),
    record('c', 'cpu', 2, { top1Pct: 88.5 }),
    record('c', 'cpu', 3, { top1Pct: 87.5 }),
    record('e', 'cpu', 1, { top1Pct: 84 }),
    record('e', 'cpu', 2, { top1Pct: 84.4 }),
    record('e', 'cpu', 3, { top1Pct: 83.6 }),
    record('f', 'cpu', 1, { top1Pct: 84 }),
    record('f', 'cpu', 2, { top1Pct: 86.5 }),
    record('f', 'cpu', 3, { top1Pct: 86 }),
    record('d', 'smoke', 1, { top1Pct: 10 }), // smoke
  ];
}

it('gives every status kind', () => {
  const smoke: MeasuredSpec = {
    id: 'd-top1',
    quantity: 'top-1 (%)',
    why: 'd',
    runIds: ['d'],
    value: (r) => r.metrics.top1Pct,
  };
  const rows = buildTable('demo', records(), PUBLISHED, CLAIMS, [smoke]);
  const status = (row: string, scale: string) => rows.find((r) => r.row === row && r.scale === scale)?.status;
  expect(status('A', 'paper')).toBe('match');
  expect(rows.find((r) => r.row === 'A')!.reproduced).toBe(90.1);
  expect(status('B', 'paper')).toBe('outside-tol');
  expect(rows.find((r) => r.row === 'B')!.delta).toBe(-5);
  // a smaller run's number never sits beside a published value
  expect(rows.filter((r) => r.table === 'T1' && r.scale !== 'paper')).toEqual([]);
  expect(status('C', 'paper')).toBe('missing');
  expect(status('E', 'paper')).toBe('not-reproducible-here');
  expect(rows.find((r) => r.row === 'E')!.note).toMatch(/needs pretrained weights/);
  expect(rows.find((r) => r.row === 'C' && r.scale === 'paper')!.note).toMatch(
    /run with: demo train --run c --scale paper/,
  );
  expect(status('d-top1', 'smoke')).toBe('smoke');
  expect(status('c>e', 'cpu')).toBe('claim-holds');
  expect(status('e>c', 'cpu')).toBe('claim-fails');
  expect(rows.find((r) => r.row === 'e>c')!.reproduced).toBe(-4);
  expect(status('c>f', 'cpu')).toBe('claim-inconclusive');
  expect(rows.find((r) => r.row === 'c>f')!.note).toMatch(
    /n=3\+3, difference of means 2\.50, 95% CI \[-0\.37, 5\.37\] \(Welch t over seeds, df 2\.6\); holds if the interval lies above 2\.00/,
  );
  expect(status('c>zz', 'cpu')).toBe('missing');
  const kinds = new Set(rows.map((r) => r.status));
  for (const k of [
    'match',
    'outside-tol',
    'claim-holds',
    'claim-fails',
    'claim-inconclusive',
    'missing',
    'not-reproducible-here',
    'smoke',
  ])
    expect(kinds).toContain(k);
});

it('measured quantities are context rows: mean and interval per run in the note, no verdict', () => {
  const rows = buildTable(
    'demo',
    records(),
    [],
    [],
    [
      {
        id: 'context-top1',
        quantity: 'top-1 accuracy (%)',
        why: 'how accurate each cpu run is',
        runIds: ['c', 'e'],
        value: (r) => r.metrics.top1Pct,
        label: (id) => `variant ${id}`,
      },
    ],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ table: 'context', row: 'context-top1', scale: 'cpu', status: 'measured' });
  expect(rows[0].reproduced).toBe(86);
  expect(rows[0].note).toMatch(/^context, not a claim: how accurate each cpu run is; top-1 accuracy \(%\): 86\.00 \[/);
  expect(rows[0].note).toMatch(
    /by run: variant c 88\.00 \[86\.76, 89\.24\] \(n=3\), variant e 84\.00 \[83\.01, 84\.99\] \(n=3\)$/,
  );
});

it('writes the shared schema from records on disk, byte-for-byte on regeneration', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-table-'));
  for (const r of records().reverse()) writeRunRecord(path.join(dir, 'runs'), r);
  const build = () => resultsCsv(buildTable('demo', readRunRecords(path.join(dir, 'runs'), 'demo'), PUBLISHED, CLAIMS));
  const csv = build();
  expect(csv.split('\n')[0]).toBe(
    'package,table,row,metric,published,reproduced,delta,tolerance,scale,dataset,model,epochs,seeds,status,note,backend,commit',
  );
  expect(csv).toMatch(/\ndemo,T1,A,top1Pct,90,90\.1,0\.1,1,paper,cifar10,lenet,2,1;2,match,/);
  writeResultsCsv(
    path.join(dir, 'demo.csv'),
    buildTable('demo', readRunRecords(path.join(dir, 'runs'), 'demo'), PUBLISHED, CLAIMS),
  );
  expect(fs.readFileSync(path.join(dir, 'demo.csv'), 'utf8')).toBe(build());
});

it('a corrupt run record fails naming the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-table-'));
  const file = writeRunRecord(dir, record('a', 'cpu', 1, { top1Pct: 1 }));
  fs.writeFileSync(file, '{"schema": "repro.run-record/1", "package": "demo"');
  expect(() => readRunRecords(dir, 'demo')).toThrow(new RegExp(`${file.replace(/[.]/g, '\\.')}: corrupt run record`));
  fs.writeFileSync(file, JSON.stringify({ schema: 'something-else' }));
  expect(() => readRunRecords(dir, 'demo')).toThrow(/not a run record/);
});
