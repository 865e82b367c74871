/**
 * CLI building blocks: each paper package's commander CLI is a few declarations. Common flags:
 * --scale smoke|cpu|paper, --backend, --data-dir, --seeds, --out, --run <id>, --resume (train) or
 * --fresh (reproduce, which otherwise continues where it stopped); subcommands
 * train, eval, reproduce, table. Unknown run ids fail with the list of valid ones; any error prints
 * one clear line and exits non-zero.
 */
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
 * A command-line integer of at least `min` (1: "a positive integer", 0: "a non-negative integer");
 * the error names the flag and the value.
 */
export function parseIntegerFlag(flag: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(
      `${flag}: expected a ${min === 1 ? 'positive' : min === 0 ? 'non-negative' : `>= ${min}`} integer, got '${value}'`,
    );
  return n;
}

/** A command-line number > 0; the error names the flag and the value. */
export function parsePositiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${flag}: expected a positive number, got '${value}'`);
  return n;
}

export function parseSeeds(value: string): number[] {
  const seeds = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new Error(`--seeds: expected non-negative integers like 1,2,3, got '${value}'`);
  return seeds;
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
    .option('--seeds <list>', "comma-separated seeds (default: each run's own)")
    .option('--out <dir>', 'results folder (CSV, plots, runs/)', spec.defaultOut)
    .option(
      '--run <ids>',
      `comma-separated run ids${runRequired ? ' (required)' : ' (default: all)'}: ${spec.runIds.map((r) => r.id).join(', ')}`,
    );
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
    seeds: raw.seeds ? parseSeeds(raw.seeds as string) : undefined,
    out: path.resolve(raw.out as string),
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
