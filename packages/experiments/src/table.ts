/**
 * Published vs reproduced. A paper package declares its published values (with their citation and a
 * tolerance chosen before running, with its reason) and its claims (a predicate over reproduced values
 * with the sentence the paper claims); `buildTable` turns run records, never in-memory state, into rows
 * of one schema shared by every package, and `writeResultsCsv` writes them with csv-stringify, sorted
 * stably, numbers as numbers, so the file regenerates byte-for-byte from the same records.
 */
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '@repro/runtime';
import { RunRecord, Scale } from './record';
import type { ClaimResult, ClaimSpec } from './claims';
import { evaluateClaims, formatNumber, meanInterval, unrunClaim } from './claims';

export type Status =
  | 'match'
  | 'outside-tol'
  | 'claim-holds'
  | 'claim-fails'
  | 'claim-inconclusive'
  | 'missing'
  | 'not-reproducible-here'
  | 'measured'
  | 'smoke';

export const STATUS_MEANINGS: Record<Status, string> = {
  match: "reproduced at the paper's scale, within the stated tolerance of the published value",
  'outside-tol': "reproduced at the paper's scale, outside the stated tolerance (a result, not an error)",
  'claim-holds':
    "the paper's claim holds on our runs at the stated scale: the 95% confidence interval over seeds (for a claim in a family, the interval at its Holm step's level) lies on the claim's side of its threshold, and every precondition passed (n, mean, interval, threshold and preconditions in the note)",
  'claim-fails':
    "the paper's claim does not hold on our runs at the stated scale: the interval over seeds lies on the other side of the threshold, and every precondition passed (numbers in the note)",
  'claim-inconclusive':
    'our runs cannot decide the claim at the stated scale: the interval over seeds straddles the threshold (more seeds would narrow it), or a precondition failed (the note names it and its value)',
  missing:
    "not run yet; the note gives the command that runs it (a paper-scale run needs the paper's data, given with --data-dir, and a GPU machine)",
  'not-reproducible-here':
    'no run of this repository produces the published number: it needs pretrained models, data or code the repository does not have (the note says which)',
  measured:
    'context, not a claim: a quantity measured on our runs and shown beside the claims it explains, with its interval over runs and no threshold or verdict (what it shows in the note)',
  smoke: 'a seconds-long smoke run that checks the pipeline, not the number',
};

export const RESULT_COLUMNS = [
  'package',
  'table',
  'row',
  'metric',
  'published',
  'reproduced',
  'delta',
  'tolerance',
  'scale',
  'dataset',
  'model',
  'epochs',
  'seeds',
  'status',
  'note',
  'backend',
  'commit',
] as const;

export type ResultRow = Record<(typeof RESULT_COLUMNS)[number], string | number>;

export interface Citation {
  paper: string;
  table: string;
  row: string;
  column: string;
}

export interface PublishedValue {
  table: string;
  row: string;
  metric: string;
  value: number;
  citation: Citation;
  tolerance: { abs: number; why: string };
  /**
   * The paper-scale run that reproduces it. Only its paper-scale records give the row a value: a smaller
   * run's number never sits beside a published one (a package shows those in rows of its own scale).
   */
  runId: string;
  /** The command that runs it at paper scale. */
  command: string;
  /** Reproduced value from one record (default: record.metrics[metric]). */
  reproducedFrom?: (rec: RunRecord) => number | undefined;
  /**
   * Why no machine with this repository can produce it (data, models or code the repository does not
   * have): its paper-scale row is `not-reproducible-here` with this reason instead of `missing`.
   */
  unavailable?: string;
}

/**
 * A quantity measured on our runs and reported beside the claims as context (status `measured`): no
 * threshold, no verdict. For what a reader needs to read a claim right (e.g. how far a metric strays
 * from the truth in either direction), which is not what the source states.
 */
export interface MeasuredSpec {
  /** The table's row: "context-misstatement". */
  id: string;
  /** What is measured, with its unit (the CSV's metric column). */
  quantity: string;
  /** What it shows and why it is context rather than a claim (said first in the note). */
  why: string;
  /** Runs whose records it reads; every complete record of them gives one value. */
  runIds: string[];
  /** One record's value (undefined: the record lacks it). */
  value(rec: RunRecord): number | undefined;
  /** How a run is named in the note's per-run part (default: its id). */
  label?(runId: string): string;
  /** Decimals in the note (default 2). */
  digits?: number;
  /** Table of the CSV row (default 'context'). */
  table?: string;
}

const SCALE_ORDER: Scale[] = ['paper', 'cpu', 'smoke'];

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function mean(xs: number[]): number {
  return xs.reduce((a, v) => a + v, 0) / xs.length;
}

function describe(records: RunRecord[]) {
  const uniq = (xs: Array<string | number>) => [...new Set(xs.map(String))].join(';');
  return {
    dataset: uniq(records.map((r) => r.dataset)),
    model: uniq(records.map((r) => r.model)),
    epochs: uniq(records.map((r) => r.history.length)),
    seeds: uniq(records.map((r) => r.seed)),
    backend: uniq(records.map((r) => `${r.backend.name} (${r.backend.detail})`)),
    commit: uniq(records.map((r) => r.commit)),
  };
}

function emptyRow(pkg: string, table: string, row: string, metric: string): ResultRow {
  return {
    package: pkg,
    table,
    row,
    metric,
    published: '',
    reproduced: '',
    delta: '',
    tolerance: '',
    scale: '',
    dataset: '',
    model: '',
    epochs: '',
    seeds: '',
    status: 'missing',
    note: '',
    backend: '',
    commit: '',
  };
}

function publishedRows(pkg: string, p: PublishedValue, records: RunRecord[]): ResultRow[] {
  const base = (): ResultRow => ({
    ...emptyRow(pkg, p.table, p.row, p.metric),
    published: p.value,
    tolerance: p.tolerance.abs,
  });
  const rows: ResultRow[] = [];
  const get = p.reproducedFrom ?? ((r: RunRecord) => r.metrics[p.metric]);
  const cite = `${p.citation.paper}, ${p.citation.table}, row ${p.citation.row}, column ${p.citation.column}`;
  const recs = records.filter((r) => r.runId === p.runId && r.scale === 'paper' && r.complete);
  if (recs.length) {
    const vals = recs.map(get).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const m = vals.length ? mean(vals) : null;
    const row = { ...base(), ...describe(recs), scale: 'paper', reproduced: m === null ? '' : round(m) };
    if (m !== null) {
      row.delta = round(m - p.value);
      row.status = Math.abs(m - p.value) <= p.tolerance.abs ? 'match' : 'outside-tol';
      row.note = `${cite}; mean of ${vals.length} seed(s); tolerance: ${p.tolerance.why}`;
    } else row.note = `${cite}; no value in the records`;
    rows.push(row);
  }
  if (!rows.some((r) => r.scale === 'paper')) {
    rows.push(
      p.unavailable
        ? { ...base(), scale: 'paper', status: 'not-reproducible-here', note: `${cite}; ${p.unavailable}` }
        : { ...base(), scale: 'paper', status: 'missing', note: `${cite}; not run; run with: ${p.command}` },
    );
  }
  return rows;
}

/** Every ClaimSpec decided at every scale with records (`evaluateClaims`), and the never-run ones. */
export function claimResults(specs: ClaimSpec[], records: RunRecord[]): ClaimResult[] {
  const results = evaluateClaims(specs, records, SCALE_ORDER);
  return [...results, ...specs.filter((s) => !results.some((r) => r.id === s.id)).map(unrunClaim)];
}

function claimSpecRow(pkg: string, spec: ClaimSpec, r: ClaimResult, records: RunRecord[]): ResultRow {
  const recs = records.filter((x) => spec.runIds.includes(x.runId) && x.scale === r.scale && x.complete);
  return {
    ...emptyRow(pkg, spec.table ?? 'claims', spec.id, spec.quantity),
    ...(recs.length ? describe(recs) : {}),
    scale: r.scale ?? '',
    reproduced: r.estimate === null ? '' : round(r.estimate),
    status: r.verdict,
    note: r.note,
  };
}

/** "mean [lo, hi] (n=5)" of one group of values (Student t, 95%). */
function describeValues(values: number[], digits: number): string {
  const iv = meanInterval(values);
  const ci = Number.isFinite(iv.lo) ? ` [${formatNumber(iv.lo, digits)}, ${formatNumber(iv.hi, digits)}]` : '';
  return `${formatNumber(iv.estimate, digits)}${ci} (n=${values.length})`;
}

/** One row per scale with records of a measured quantity: its mean, and the note with its interval per run. */
function measuredRows(pkg: string, m: MeasuredSpec, records: RunRecord[]): ResultRow[] {
  const rows: ResultRow[] = [];
  const d = m.digits ?? 2;
  for (const scale of SCALE_ORDER) {
    const recs = records.filter((r) => m.runIds.includes(r.runId) && r.scale === scale && r.complete);
    const valued = recs
      .map((r) => ({ run: r.runId, v: m.value(r) }))
      .filter((x): x is { run: string; v: number } => typeof x.v === 'number' && Number.isFinite(x.v));
    if (valued.length === 0) continue;
    const byRun = m.runIds
      .map((id) => ({ id, vs: valued.filter((x) => x.run === id).map((x) => x.v) }))
      .filter((x) => x.vs.length)
      .map((x) => `${m.label?.(x.id) ?? x.id} ${describeValues(x.vs, d)}`);
    const all = valued.map((x) => x.v);
    rows.push({
      ...emptyRow(pkg, m.table ?? 'context', m.id, m.quantity),
      ...describe(recs),
      scale,
      reproduced: round(all.reduce((a, v) => a + v, 0) / all.length),
      status: scale === 'smoke' ? 'smoke' : 'measured',
      note:
        `context, not a claim: ${m.why}; ${m.quantity}: ${describeValues(all, d)}, mean [95% CI, Student t over the values]` +
        (byRun.length > 1 ? `; by run: ${byRun.join(', ')}` : ''),
    });
  }
  return rows;
}

/** Rows for every published value, claim and measured quantity of a package, from its run records; sorted stably. */
export function buildTable(
  pkg: string,
  records: RunRecord[],
  published: PublishedValue[],
  claims: ClaimSpec[],
  measured: MeasuredSpec[] = [],
): ResultRow[] {
  const results = claimResults(claims, records);
  const rows = [
    ...published.flatMap((p) => publishedRows(pkg, p, records)),
    ...claims.flatMap((c) => results.filter((r) => r.id === c.id).map((r) => claimSpecRow(pkg, c, r, records))),
    ...measured.flatMap((m) => measuredRows(pkg, m, records)),
  ];
  const key = (r: ResultRow) => [r.table, r.row, r.metric, SCALE_ORDER.indexOf(r.scale as Scale)].map(String);
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const c = ka[i].localeCompare(kb[i]);
      if (c) return c;
    }
    return 0;
  });
}

export function resultsCsv(rows: ResultRow[]): string {
  return stringify(rows, { header: true, columns: [...RESULT_COLUMNS] });
}

export function writeResultsCsv(file: string, rows: ResultRow[]): void {
  writeFileAtomic(file, resultsCsv(rows));
}
