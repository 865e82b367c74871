/**
 * The shared commander argument parsers of every paper CLI: each bad value fails with an error that
 * names the flag, what it expects and the value given, at parse time (before an action runs).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import {
  FLAG_LIMITS,
  buildPaperCli,
  checkOutputDir,
  checkOutputFile,
  integerFlag,
  nonNegativeInt,
  nonNegativeNumber,
  numberFlag,
  parseIntegerFlag,
  parsePositiveNumber,
  parseSeeds,
  positiveInt,
  positiveNumber,
  probability,
} from '../src';

describe('integer flags', () => {
  it('accept integers in range, written as the README writes them (1e4)', () => {
    expect(positiveInt('--epochs')('30')).toBe(30);
    expect(positiveInt('--iter-num', FLAG_LIMITS.iterations)('1e4')).toBe(10_000);
    expect(positiveInt('--iter-num', FLAG_LIMITS.iterations)('2e+4')).toBe(20_000);
    expect(nonNegativeInt('--start-epoch')(' 0 ')).toBe(0);
    expect(integerFlag('--batch-size', 4, 64)('64')).toBe(64);
    expect(positiveInt('--limit')(7)).toBe(7);
  });

  it.each([
    ['0', /--epochs: expected a positive integer, got '0'/],
    ['-3', /--epochs: expected a positive integer, got '-3'/],
    ['2.5', /--epochs: expected a positive integer, got '2.5'/],
    ['', /--epochs: expected a positive integer, got ''/],
    [' ', /--epochs: expected a positive integer/],
    ['abc', /--epochs: expected a positive integer, got 'abc'/],
    ['0x10', /got '0x10'/],
    ['Infinity', /got 'Infinity'/],
    ['NaN', /got 'NaN'/],
    ['1e400', /got '1e400'/],
    ['9007199254740993', /got '9007199254740993'/],
  ])('positiveInt refuses %j naming the flag', (value, message) => {
    expect(() => positiveInt('--epochs')(value)).toThrow(message);
  });

  it('an upper bound is stated in the message (absurd sizes fail before any allocation)', () => {
    expect(() => positiveInt('--batch-size', FLAG_LIMITS.batchSize)('1e9')).toThrow(
      `--batch-size: expected an integer from 1 to ${FLAG_LIMITS.batchSize}, got '1e9'`,
    );
    expect(() => positiveInt('--hidden', FLAG_LIMITS.width)(FLAG_LIMITS.width + 1)).toThrow(/--hidden: .* to 8192/);
    expect(() => integerFlag('--num-classes', 2)('1')).toThrow("--num-classes: expected an integer >= 2, got '1'");
  });

  it('nonNegativeInt accepts 0 and refuses an empty string (which Number() reads as 0)', () => {
    expect(nonNegativeInt('--seed')('0')).toBe(0);
    expect(() => nonNegativeInt('--seed')('')).toThrow("--seed: expected a non-negative integer, got ''");
    expect(() => parseIntegerFlag('--start-epoch', '', 0)).toThrow(/--start-epoch: expected a non-negative integer/);
  });
});

describe('number flags', () => {
  it('positiveNumber: finite and > 0', () => {
    expect(positiveNumber('--lr')('0.4')).toBe(0.4);
    expect(positiveNumber('--lr')('8e-5')).toBe(8e-5);
    for (const bad of ['0', '-1', 'Infinity', '1e999', 'NaN', '', 'fast'])
      expect(() => positiveNumber('--lr')(bad)).toThrow(`--lr: expected a finite number > 0, got '${bad}'`);
    expect(() => parsePositiveNumber('--lr', 'Infinity')).toThrow(/--lr: expected a finite number > 0/);
  });

  it('nonNegativeNumber, probability and ranges', () => {
    expect(nonNegativeNumber('--weight_decay')('0')).toBe(0);
    expect(() => nonNegativeNumber('--weight_decay')('-1e-4')).toThrow(/--weight_decay: expected a finite number >= 0/);
    expect(probability('--nce_m')('1')).toBe(1);
    expect(() => probability('--nce_m')('1.5')).toThrow("--nce_m: expected a number in [0, 1], got '1.5'");
    const momentum = numberFlag('--momentum', { min: 0, max: 1, maxExclusive: true });
    expect(momentum('0.9')).toBe(0.9);
    expect(() => momentum('1')).toThrow("--momentum: expected a number in [0, 1), got '1'");
  });
});

describe('--seeds', () => {
  it('comma-separated distinct integers from 0 to the stated bound', () => {
    expect(parseSeeds('1, 2,3')).toEqual([1, 2, 3]);
    expect(() => parseSeeds('1,1')).toThrow("--seeds: seed 1 is given twice in '1,1'");
    expect(() => parseSeeds('1,x')).toThrow(/--seeds: expected comma-separated integers .* got '1,x' \('x'\)/);
    expect(() => parseSeeds('1e400')).toThrow(/--seeds: .*'1e400'/);
    expect(() => parseSeeds(String(FLAG_LIMITS.seed + 1))).toThrow(/--seeds: expected .* from 0 to 1000000/);
    expect(() => parseSeeds(',')).toThrow(/--seeds: expected/);
  });
});

describe('output paths', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cli-args-'));
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');

  it('a folder, or one that can be created; not a file or under one', () => {
    expect(checkOutputDir('--out', dir)).toBe(dir);
    expect(checkOutputDir('--out', path.join(dir, 'new', 'deeper'))).toBe(path.join(dir, 'new', 'deeper'));
    expect(() => checkOutputDir('--out', file)).toThrow(`--out ${file}: exists and is not a folder`);
    expect(() => checkOutputDir('--out', path.join(file, 'x'))).toThrow(
      /--out .*: cannot create it, .*a-file is not a folder/,
    );
    expect(checkOutputFile('--json', path.join(dir, 'r.json'))).toBe(path.join(dir, 'r.json'));
    expect(() => checkOutputFile('--json', dir)).toThrow(/--json .*: is a folder, expected a file name/);
    expect(() => checkOutputFile('--json', path.join(file, 'r.json'))).toThrow(/--json .*a-file is not a folder/);
    // nothing was created
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
  });
});

describe('at parse time', () => {
  it('commander runs the parser before the action', async () => {
    let ran = false;
    const cmd = new Command()
      .exitOverride()
      .option('--epochs <n>', 'epochs', positiveInt('--epochs', FLAG_LIMITS.epochs))
      .action(() => {
        ran = true;
      });
    await expect(cmd.parseAsync(['--epochs', '0'], { from: 'user' })).rejects.toThrow(
      "--epochs: expected an integer from 1 to 10000, got '0'",
    );
    expect(ran).toBe(false);
    await cmd.parseAsync(['--epochs', '3'], { from: 'user' });
    expect(cmd.opts().epochs).toBe(3);
  });

  it('the paper CLIs: --seeds and --out are checked before train runs', async () => {
    const trained: unknown[] = [];
    const program = buildPaperCli({
      name: 'p',
      description: 'd',
      runIds: [{ id: 'a', description: 'a run' }],
      defaultScale: 'cpu',
      defaultOut: os.tmpdir(),
      train: (o) => {
        trained.push(o);
        return Promise.resolve();
      },
      evaluate: () => Promise.resolve(),
      reproduce: () => Promise.resolve(),
      table: () => Promise.resolve(),
    }).exitOverride();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cli-args-')), 'f');
    fs.writeFileSync(file, '');
    await expect(program.parseAsync(['train', '--run', 'a', '--seeds', '2,2'], { from: 'user' })).rejects.toThrow(
      /--seeds: seed 2 is given twice/,
    );
    await expect(program.parseAsync(['train', '--run', 'a', '--out', file], { from: 'user' })).rejects.toThrow(
      /--out .*: exists and is not a folder/,
    );
    expect(trained).toHaveLength(0);
    await program.parseAsync(['train', '--run', 'a', '--seeds', '1,3'], { from: 'user' });
    expect(trained).toMatchObject([{ seeds: [1, 3], runs: ['a'] }]);
  });
});

it('smoke output goes to the git-ignored .cache/smoke-results beside the results unless --out says otherwise', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-smoke-out-'));
  const seen: string[] = [];
  const program = buildPaperCli({
    name: 'p',
    description: 'd',
    runIds: [{ id: 'a', description: 'a run' }],
    defaultScale: 'cpu',
    defaultOut: path.join(root, 'results'),
    train: () => Promise.resolve(),
    evaluate: () => Promise.resolve(),
    reproduce: (o) => {
      seen.push(o.out);
      return Promise.resolve();
    },
    table: (o) => {
      seen.push(o.out);
      return Promise.resolve();
    },
  }).exitOverride();
  await program.parseAsync(['reproduce', '--scale', 'smoke'], { from: 'user' });
  await program.parseAsync(['table', '--scale', 'smoke'], { from: 'user' });
  await program.parseAsync(['reproduce'], { from: 'user' });
  await program.parseAsync(['reproduce', '--scale', 'smoke', '--out', path.join(root, 'results')], { from: 'user' });
  expect(seen).toEqual([
    path.join(root, '.cache', 'smoke-results'),
    path.join(root, '.cache', 'smoke-results'),
    path.join(root, 'results'),
    path.join(root, 'results'),
  ]);
});
