/**
 * CLI building blocks: each paper package's commander CLI is a few declarations. Common flags:
 * --scale smoke|cpu|paper, --backend, --data-dir, --seeds, --out, --run <id>, --resume (train) or
 * --fresh (reproduce, which otherwise continues where it stopped); subcommands
 * train, eval, reproduce, table. Unknown run ids fail with the list of valid ones; any error prints
 * one clear line and exits non-zero.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_PREFERENCES, BackendPreference, parseBackendPreference } from '@repro/runtime';
import { SCALES, Scale } from './record';
import { Shard, parseShard } from './reproduce';
import { InterruptedError, watchParent } from './jobs';

export interface CommonOptions {
  scale: Scale;
  backend?: BackendPreference;
  dataDir?: string;
  /** Seeds given with --seeds (undefined: each run's own default seeds). */
  seeds?: number[];
  /** The results folder: CSVs, plots and runs/ (run records, checkpoints) go under it. */
  out: string;
  /**
   * train: --resume (true) continues each run from its checkpoint. reproduce continues by default
   * ('if-compatible': finished runs skipped, partial runs resumed when their checkpoint has the same
   * configuration); with --fresh it is false.
   */
  resume: boolean | 'if-compatible';
  /** reproduce --fresh: retrain every selected run from scratch. */
  fresh: boolean;
  /** reproduce --list: print the jobs still to train, one JSON object per line, and train nothing. */
  list: boolean;
  /** reproduce --shard i/n: only this shard's jobs. */
  shard?: Shard;
  /** table --records <dir...>: merge the run records of these output folders (default: --out). */
  records?: string[];
  /** Run ids given with --run (undefined: all runs of the scale). */
  runs?: string[];
}

export interface PaperCliSpec {
  name: string;
  description: string;
  /** Valid run ids, with a one-line description each. */
  runIds: Array<{ id: string; description: string }>;
  defaultScale: Scale;
  /** Where results go by default (the repository's results/). */
  defaultOut: string;
  train(o: CommonOptions): Promise<void>;
  evaluate(o: CommonOptions): Promise<void>;
  reproduce(o: CommonOptions): Promise<void>;
  table(o: CommonOptions): Promise<void>;
  /** Extra text for --help (run id ↔ paper row map, budgets). */
  epilog?: string;
}

/**
 * Upper bounds of the size flags, far above every recipe here (the paper-scale runs use batches of 512,
 * 240 epochs, 2·10⁴ MINE iterations, widths up to 2048), low enough that a typo fails at parse time with
 * the flag's name instead of 'Invalid array length' (or hours of work) later.
 */
export const FLAG_LIMITS = {
  /** Training or probe epochs. */
  epochs: 10_000,
  /** Examples per batch. */
  batchSize: 65_536,
  /** Optimisation steps (MINE iterations). */
  iterations: 1_000_000,
  /** Network widths: hidden units, embedding sizes. */
  width: 8_192,
  /** Negatives per example of a contrastive loss (the paper's CTC: 16384). */
  negatives: 65_536,
  /** Seeds (models derive seeds like 1000·seed + k, which must stay distinct 32-bit values). */
  seed: 1_000_000,
} as const;

/**
 * A flag's parser: commander calls it at parse time (before any data loads) with the string given;
 * the run functions call the same parser on their string-or-number options. Throws an error that
 * names the flag, what it expects and the value given.
 */
export type FlagParser<T = number> = (value: string | number) => T;

/** Decimal numbers: 3, -2, 0.5, .5, 1e4, 2.5E-3 (not '', hex, 'Infinity', 'NaN' or 1_000). */
const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function toNumber(value: string | number): number {
  if (typeof value === 'number') return value;
  return NUMBER_SYNTAX.test(value.trim()) ? Number(value) : NaN;
}

const fail = (flag: string, expected: string, value: string | number): never => {
  throw new Error(`${flag}: expected ${expected}, got '${value}'`);
};

/** An integer in [min, max] (max: at most Number.MAX_SAFE_INTEGER); 1e4 is 10000. */
export function integerFlag(flag: string, min: number, max: number = Number.MAX_SAFE_INTEGER): FlagParser {
  const expected =
    max < Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 1
        ? 'a positive integer'
        : min === 0
          ? 'a non-negative integer'
          : `an integer >= ${min}`;
  return (value) => {
    const n = toNumber(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) fail(flag, expected, value);
    return n;
  };
}

/** An integer >= 1 (and <= max when given): epochs, iterations, batch sizes, limits. */
export const positiveInt = (flag: string, max?: number): FlagParser => integerFlag(flag, 1, max);

/** An integer >= 0 (and <= max when given): start epochs, seeds. */
export const nonNegativeInt = (flag: string, max?: number): FlagParser => integerFlag(flag, 0, max);

export interface NumberRange {
  min?: number;
  max?: number;
  /** min itself is not allowed (e.g. a learning rate > 0). */
  minExclusive?: boolean;
  /** max itself is not allowed (e.g. a momentum < 1). */
  maxExclusive?: boolean;
}

/** A finite number in a range; the error says the range. */
export function numberFlag(flag: string, range: NumberRange = {}): FlagParser {
  const { min, max, minExclusive = false, maxExclusive = false } = range;
  const expected =
    min !== undefined && max !== undefined
      ? `a number in ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`
      : min !== undefined
        ? `a finite number ${minExclusive ? '>' : '>='} ${min}`
        : max !== undefined
          ? `a finite number ${maxExclusive ? '<' : '<='} ${max}`
          : 'a finite number';
  return (value) => {
    const n = toNumber(value);
    if (
      !Number.isFinite(n) ||
      (min !== undefined && (minExclusive ? n <= min : n < min)) ||
      (max !== undefined && (maxExclusive ? n >= max : n > max))
    )
      fail(flag, expected, value);
    return n;
  };
}

/** A finite number > 0 (and <= max when given): learning rates, temperatures. */
export const positiveNumber = (flag: string, max?: number): FlagParser =>
  numberFlag(flag, { min: 0, minExclusive: true, max });

/** A finite number >= 0: weight decays, loss weights. */
export const nonNegativeNumber = (flag: string, max?: number): FlagParser => numberFlag(flag, { min: 0, max });

/** A number in [0, 1]: fractions, memory momenta. */
export const probability = (flag: string): FlagParser => numberFlag(flag, { min: 0, max: 1 });

/**
 * A command-line integer of at least `min` (1: "a positive integer", 0: "a non-negative integer");
 * the error names the flag and the value. (The older spelling of `integerFlag(flag, min)(value)`.)
 */
export function parseIntegerFlag(flag: string, value: string, min = 1): number {
  return integerFlag(flag, min)(value);
}

/** A command-line finite number > 0; the error names the flag and the value. */
export function parsePositiveNumber(flag: string, value: string): number {
  return positiveNumber(flag)(value);
}

/**
 * --seeds: comma-separated distinct integers from 0 to FLAG_LIMITS.seed, e.g. 1,2,3 (commander's
 * parser for the flag).
 */
export function parseSeeds(value: string): number[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const seed = nonNegativeInt('--seeds', FLAG_LIMITS.seed);
  const seeds = items.map((s) => {
    try {
      return seed(s);
    } catch {
      throw new Error(
        `--seeds: expected comma-separated integers from 0 to ${FLAG_LIMITS.seed} like 1,2,3, got '${value}' ('${s}')`,
      );
    }
  });
  if (seeds.length === 0)
    throw new Error(
      `--seeds: expected comma-separated integers from 0 to ${FLAG_LIMITS.seed} like 1,2,3, got '${value}'`,
    );
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new Error(`--seeds: seed ${twice} is given twice in '${value}'`);
  return seeds;
}

/** The nearest existing folder of `p` or an ancestor (what mkdir -p would create under). */
function existingAncestor(p: string): string {
  let dir = path.resolve(p);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  return dir;
}

/**
 * Checks an output folder flag before any work: `dir` is a folder or can be created (it is not a file
 * and no ancestor is one). Returns `dir`. So that a run does not fail at its last step, when it writes.
 */
export function checkOutputDir(flag: string, dir: string): string {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
    throw new Error(`${flag} ${dir}: exists and is not a folder`);
  const base = existingAncestor(dir);
  if (!fs.statSync(base).isDirectory()) throw new Error(`${flag} ${dir}: cannot create it, ${base} is not a folder`);
  return dir;
}

/** Checks an output file flag before any work: `file` is not a folder and its folder can be created. */
export function checkOutputFile(flag: string, file: string): string {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory())
    throw new Error(`${flag} ${file}: is a folder, expected a file name`);
  const base = existingAncestor(path.dirname(path.resolve(file)));
  if (!fs.statSync(base).isDirectory()) throw new Error(`${flag} ${file}: cannot create it, ${base} is not a folder`);
  return file;
}

export function checkRunIds(ids: string[] | undefined, valid: string[]): void {
  for (const id of ids ?? []) {
    if (!valid.includes(id)) throw new Error(`unknown run id '${id}'; valid run ids: ${valid.join(', ')}`);
  }
}

type SubcommandKind = 'train' | 'reproduce' | 'table' | 'other';

function addCommon(cmd: Command, spec: PaperCliSpec, runRequired: boolean, kind: SubcommandKind): Command {
  if (kind === 'reproduce') {
    cmd.option(
      '--fresh',
      'retrain every selected run from scratch (default: continue: skip finished runs, resume partial ones)',
      false,
    );
  }
  if (kind === 'reproduce') {
    cmd.option('--list', 'print the jobs still to train (one JSON object per line: id, command, cost) and exit', false);
    cmd.option(
      '--shard <i/n>',
      'run shard i of n (balanced by cost); "n" alone takes i from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX',
    );
  }
  if (kind === 'table') {
    cmd.option('--records <dirs...>', 'merge the run records of these output folders (one per worker); default: --out');
  }
  if (kind === 'train') cmd.option('--resume', 'continue each run from its last checkpoint', false);
  if (kind === 'train')
    cmd.addOption(
      new Option(
        '--resume-if-compatible',
        'resume where the checkpoint has this configuration, else start over (used by reproduce)',
      ).hideHelp(),
    );
  return cmd
    .addOption(
      new Option(
        '--scale <scale>',
        "smoke (seconds, tests) | cpu (Fashion-MNIST here) | paper (the papers' data and recipes)",
      )
        .choices([...SCALES])
        .default(spec.defaultScale),
    )
    .addOption(new Option('--backend <name>', 'compute backend (or REPRO_BACKEND)').choices([...BACKEND_PREFERENCES]))
    .option('--data-dir <dir>', 'dataset folder (or REPRO_DATA_DIR); default: the Debian Fashion-MNIST location')
    .option('--seeds <list>', `comma-separated seeds, 0 to ${FLAG_LIMITS.seed} (default: each run's own)`, parseSeeds)
    .option(
      '--out <dir>',
      `results folder (CSV, plots, runs/) (default: ${spec.defaultOut}; with --scale smoke: ${smokeOut(spec)}, so that a smoke run never touches the committed results)`,
    )
    .option(
      '--run <ids>',
      `comma-separated run ids${runRequired ? ' (required)' : ' (default: all)'}: ${spec.runIds.map((r) => r.id).join(', ')}`,
    );
}

/** Where smoke runs go unless --out says otherwise: beside the results, in the git-ignored .cache/. */
function smokeOut(spec: PaperCliSpec): string {
  return path.join(path.dirname(spec.defaultOut), '.cache', 'smoke-results');
}

function toCommon(
  raw: Record<string, unknown>,
  spec: PaperCliSpec,
  runRequired: boolean,
  kind: SubcommandKind,
): CommonOptions {
  const runs =
    typeof raw.run === 'string'
      ? raw.run
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  if (runRequired && !runs?.length)
    throw new Error(`--run is required; valid run ids: ${spec.runIds.map((r) => r.id).join(', ')}`);
  checkRunIds(
    runs,
    spec.runIds.map((r) => r.id),
  );
  return {
    scale: raw.scale as Scale,
    backend: parseBackendPreference(raw.backend as string | undefined),
    dataDir: raw.dataDir as string | undefined,
    seeds: raw.seeds as number[] | undefined,
    out: path.resolve(
      checkOutputDir(
        '--out',
        typeof raw.out === 'string' ? raw.out : raw.scale === 'smoke' ? smokeOut(spec) : spec.defaultOut,
      ),
    ),
    resume: raw.resumeIfCompatible
      ? 'if-compatible'
      : kind === 'reproduce'
        ? raw.fresh
          ? false
          : 'if-compatible'
        : Boolean(raw.resume),
    fresh: Boolean(raw.fresh),
    list: Boolean(raw.list),
    shard: typeof raw.shard === 'string' ? parseShard(raw.shard) : undefined,
    records: Array.isArray(raw.records) ? (raw.records as string[]).map((d) => path.resolve(d)) : undefined,
    runs,
  };
}

export function buildPaperCli(spec: PaperCliSpec): Command {
  const program = new Command().name(spec.name).description(spec.description).showHelpAfterError();
  if (spec.epilog) program.addHelpText('after', `\n${spec.epilog}`);
  const sub = (
    name: string,
    description: string,
    runRequired: boolean,
    action: (o: CommonOptions) => Promise<void>,
  ) => {
    const kind: SubcommandKind = name === 'train' || name === 'reproduce' || name === 'table' ? name : 'other';
    const cmd = addCommon(new Command(name).description(description), spec, runRequired, kind);
    cmd.action(async (raw: Record<string, unknown>) => action(toCommon(raw, spec, runRequired, kind)));
    program.addCommand(cmd);
  };
  sub('train', 'train the given runs (one record per run and seed under <out>/runs)', true, (o) => spec.train(o));
  sub('eval', 'evaluate the saved final models of the given runs', true, (o) => spec.evaluate(o));
  sub(
    'reproduce',
    'train every run of the scale (continuing where a previous reproduce stopped), then write the table and plots',
    false,
    (o) => spec.reproduce(o),
  );
  sub('table', 'regenerate <out>/<package>.csv and the plots from the run records (no training)', false, (o) =>
    spec.table(o),
  );
  return program;
}

/** Parses argv and runs; on error prints `<name>: <message>` and exits 1. */
export async function runCli(program: Command, argv = process.argv): Promise<void> {
  // `reproduce --list | head`: a reader that stops early is not an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  watchParent();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`${program.name()}: ${(err as Error).message}\n`);
    // the shell's convention for a process stopped by a signal: 128 + its number
    process.exit(err instanceof InterruptedError ? 128 + (os.constants.signals[err.signal] ?? 15) : 1);
  }
}
