/**
 * Run records: one JSON file per (run, seed) with everything a result table needs and everything
 * needed to tell results apart: resolved config, CLI overrides, per-epoch metrics, final metrics,
 * seed, scale, dataset, backend, commit and wall time. Tables are generated from these files only.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BackendInfo, assertSafeId, readFileInside, resolveInside, writeJsonAtomic } from '@repro/runtime';

export type Scale = 'smoke' | 'cpu' | 'paper';
export const SCALES: readonly Scale[] = ['smoke', 'cpu', 'paper'];
export const RUN_RECORD_SCHEMA = 'repro.run-record/1';

export interface RunRecord {
  schema: typeof RUN_RECORD_SCHEMA;
  package: string;
  runId: string;
  seed: number;
  scale: Scale;
  dataset: string;
  model: string;
  /** The fully resolved run configuration. */
  config: Record<string, unknown>;
  /** Values given on the command line that changed the configuration. */
  overrides: Record<string, unknown>;
  /** Per-epoch metrics. */
  history: Array<Record<string, number>>;
  /** Final / summary metrics (e.g. best true accuracy). */
  metrics: Record<string, number>;
  /** Small per-run data for claims (e.g. smoothed-accuracy spread). */
  extra?: Record<string, unknown>;
  backend: BackendInfo;
  /** CPU model and core count of the machine that ran it. */
  hardware?: string;
  commit: string;
  startedAt: string;
  wallSeconds: number;
  complete: boolean;
  /** tf.memory().numTensors when the run started and after it disposed everything: equal when nothing leaked. */
  tensors?: { atStart: number; atEnd: number };
}

export function hardwareDescription(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

export function gitCommit(cwd = process.cwd()): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  // dirty = uncommitted changes to tracked files other than results/ (which runs themselves rewrite)
  const dirty = spawnSync(
    'git',
    ['status', '--porcelain', '--untracked-files=no', '--', ':/', ':(exclude,top)results'],
    { cwd, encoding: 'utf8' },
  );
  return r.stdout.trim() + (dirty.status === 0 && dirty.stdout.trim() ? '-dirty' : '');
}

/**
 * A finished run's record: what the run knows (ids, config, history, metrics) plus what every record
 * carries (schema, hardware, the commit of the code in `codeDir`, start time, wall time, complete).
 */
export function newRunRecord(
  r: Pick<
    RunRecord,
    | 'package'
    | 'runId'
    | 'seed'
    | 'scale'
    | 'dataset'
    | 'model'
    | 'config'
    | 'overrides'
    | 'history'
    | 'metrics'
    | 'backend'
  > & { extra?: Record<string, unknown>; started: Date; codeDir: string },
): RunRecord {
  const { started, codeDir, ...rest } = r;
  return {
    schema: RUN_RECORD_SCHEMA,
    ...rest,
    hardware: hardwareDescription(),
    commit: gitCommit(codeDir),
    startedAt: started.toISOString(),
    wallSeconds: (Date.now() - started.getTime()) / 1000,
    complete: true,
  };
}

/**
 * Mean of `metric` over the last k epochs minus its mean over the k before (e.g. accuracy points):
 * ≈ 0 when training has reached its plateau; NaN with fewer than 2k epochs.
 */
export function plateauGain(history: Array<Record<string, number>>, metric: string, k = 3): number {
  if (history.length < 2 * k) return NaN;
  const m = (xs: Array<Record<string, number>>) => xs.reduce((a, h) => a + h[metric], 0) / xs.length;
  return m(history.slice(-k)) - m(history.slice(-2 * k, -k));
}

/** A run record larger than this is refused (the largest committed ones are a few hundred kB). */
export const RUN_RECORD_MAX_BYTES = 64 * 2 ** 20;

/**
 * <dir>/<package>/<scale>/<runId>.seed<seed>.json. The fields become file names: package and run id
 * must be safe ids, scale one of SCALES and seed a non-negative integer (an error names the field).
 */
export function runRecordPath(dir: string, rec: Pick<RunRecord, 'package' | 'runId' | 'seed' | 'scale'>): string {
  assertSafeId(rec.package, 'run record field package');
  assertSafeId(rec.runId, 'run record field runId');
  if (!SCALES.includes(rec.scale))
    throw new Error(`run record field scale '${String(rec.scale)}' is not one of ${SCALES.join(', ')}`);
  if (!Number.isSafeInteger(rec.seed) || rec.seed < 0)
    throw new Error(`run record field seed ${String(rec.seed)} is not a non-negative integer`);
  return path.join(dir, rec.package, rec.scale, `${rec.runId}.seed${rec.seed}.json`);
}

export function writeRunRecord(dir: string, rec: RunRecord): string {
  const p = runRecordPath(dir, rec);
  writeJsonAtomic(p, rec);
  return p;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A record read from `file` (in the folder <package>/<scale>): every field a table, a plot or a file
 * name is built from is checked, so that a record from another worker can neither write outside the
 * output folder nor fail half-way through a table. Errors name the file and the field.
 */
function validate(file: string, r: Partial<RunRecord>, pkg: string, scale: string): RunRecord {
  if (!isObject(r) || r.schema !== RUN_RECORD_SCHEMA)
    throw new Error(
      `${file}: not a run record (schema ${String(isObject(r) ? r.schema : undefined)}, expected ${RUN_RECORD_SCHEMA})`,
    );
  for (const k of ['package', 'runId', 'scale', 'dataset', 'model', 'commit'] as const) {
    if (typeof r[k] !== 'string') throw new Error(`${file}: run record field '${k}' is missing or not a string`);
  }
  assertSafeId(r.package, `${file}: run record field 'package'`);
  if (r.package !== pkg)
    throw new Error(`${file}: run record field 'package' is '${r.package}', but the file is in the folder of ${pkg}`);
  assertSafeId(r.runId, `${file}: run record field 'runId'`);
  if (!SCALES.includes(r.scale as Scale)) throw new Error(`${file}: unknown scale '${r.scale}'`);
  if (r.scale !== scale)
    throw new Error(`${file}: run record field 'scale' is '${r.scale}', but the file is in the folder ${scale}`);
  if (typeof r.seed !== 'number' || !Array.isArray(r.history) || !isObject(r.metrics))
    throw new Error(`${file}: run record lacks seed, history or metrics`);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0)
    throw new Error(`${file}: run record field 'seed' is ${r.seed}, not a non-negative integer`);
  if (!r.history.every(isObject)) throw new Error(`${file}: run record field 'history' is not a list of objects`);
  if (!isObject(r.config)) throw new Error(`${file}: run record field 'config' is missing or not an object`);
  if (!isObject(r.backend) || typeof r.backend.name !== 'string')
    throw new Error(`${file}: run record field 'backend' is missing or has no name`);
  if (r.extra !== undefined && !isObject(r.extra))
    throw new Error(`${file}: run record field 'extra' is not an object`);
  return r as RunRecord;
}

/** Parses one record file, `relative` to `root` (a regular file inside root, of bounded size). */
function readRecordFile(
  root: string,
  relative: string,
  pkg: string,
  scale: string,
): { file: string; record: RunRecord } {
  const file = path.join(root, relative);
  const text = readFileInside(root, relative, {
    what: `${root}: run record`,
    maxBytes: RUN_RECORD_MAX_BYTES,
    limit: 'the bound on a run record',
  }).toString('utf8');
  let parsed: Partial<RunRecord>;
  try {
    parsed = JSON.parse(text) as Partial<RunRecord>;
  } catch (err) {
    throw new Error(`${file}: corrupt run record (${(err as Error).message})`, { cause: err });
  }
  return { file, record: validate(file, parsed, pkg, scale) };
}

/**
 * All run records of `pkg` under `dir` (every scale) with their files, sorted by scale, run id and seed.
 * Only regular files inside `dir` are read (a FIFO, a folder named *.json, a link out of `dir` is an error).
 */
export function readRunRecordFiles(dir: string, pkg: string): Array<{ file: string; record: RunRecord }> {
  assertSafeId(pkg, 'package');
  if (!fs.lstatSync(path.join(dir, pkg), { throwIfNoEntry: false })) return [];
  // folders are listed only after they are known to be inside dir (a link out of it is not listed)
  const root = resolveInside(dir, pkg, `${dir}: records folder`);
  const out: Array<{ file: string; record: RunRecord }> = [];
  for (const scale of fs.readdirSync(root).sort()) {
    const sub = resolveInside(dir, path.join(pkg, scale), `${dir}: records folder`);
    if (!fs.statSync(sub).isDirectory()) continue;
    for (const f of fs
      .readdirSync(sub)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      out.push(readRecordFile(dir, path.join(pkg, scale, f), pkg, scale));
    }
  }
  return out.sort((a, b) => recordOrder(a.record, b.record));
}

/** Record order everywhere: scale, run id, seed. */
function recordOrder(a: RunRecord, b: RunRecord): number {
  return a.scale.localeCompare(b.scale) || a.runId.localeCompare(b.runId) || a.seed - b.seed;
}

/** All run records of `pkg` under `dir` (every scale), sorted by scale, run id and seed. */
export function readRunRecords(dir: string, pkg: string): RunRecord[] {
  return readRunRecordFiles(dir, pkg).map((r) => r.record);
}

/** What two records of the same job must agree on (not when or where they ran). */
function outcome(r: RunRecord): string {
  return JSON.stringify([r.config, r.history, r.metrics, r.dataset, r.model, r.complete]);
}

/**
 * The records of `pkg` from several output folders (each an --out folder holding runs/, or a runs/
 * folder itself), e.g. one per worker. A job recorded in two folders must agree (same config,
 * history and metrics); two that disagree are an error naming both files.
 */
export function mergeRunRecords(dirs: string[], pkg: string): RunRecord[] {
  const byJob = new Map<string, { file: string; record: RunRecord }>();
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new Error(`--records: ${dir} does not exist`);
    const runs = fs.existsSync(path.join(dir, 'runs', pkg)) ? path.join(dir, 'runs') : dir;
    const entries = readRunRecordFiles(runs, pkg);
    if (entries.length === 0)
      throw new Error(
        `--records: ${dir} holds no run records of ${pkg} (expected ${path.join(dir, 'runs', pkg, '<scale>', '*.json')} or ${path.join(dir, pkg, '<scale>', '*.json')})`,
      );
    for (const entry of entries) {
      const r = entry.record;
      const id = `${r.scale}:${r.runId}:seed${r.seed}`;
      const seen = byJob.get(id);
      if (!seen) byJob.set(id, entry);
      else if (outcome(seen.record) !== outcome(r)) {
        throw new Error(
          `two records of ${pkg} ${id} disagree: ${seen.file} and ${entry.file} (config, history or metrics differ); keep one`,
        );
      }
    }
  }
  return [...byJob.values()].map((e) => e.record).sort(recordOrder);
}
