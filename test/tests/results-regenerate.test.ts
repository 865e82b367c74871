/**
 * Docs from data: every committed file under results/ that a package's `table` writes (its CSV, its
 * claims file, its plots, and results/README.md) is rebuilt here from the committed run records into a
 * temporary folder, and must come out byte for byte as committed; a file the tables write that is not
 * committed fails too. Nothing is written into results/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const ROOT = path.join(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'results');
const PACKAGES = ['pnn-perturb', 'pdc-diverge', 'cka-maskfeat', 'dt-tradeoff-ctc'];

/** Files under results/ that no table writes, with the reason. */
const NOT_FROM_TABLES: Array<[RegExp, string]> = [
  [/^runs\//, 'the run records themselves (the input)'],
  [/^bench\.csv$/, 'written by tools/bench'],
  [/^\.gitkeep$/, 'keeps the folder in git'],
  [
    /^plots\/pdc-diverge\/[^/]+\/gradcam-.*\.png$/,
    "drawn by pdc-diverge's training from its trained nets (not in the records)",
  ],
];

function files(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, base) : [path.relative(base, p).split(path.sep).join('/')];
  });
}

it('every results/ file a table writes regenerates byte for byte from the committed records', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-regen-'));
  for (const pkg of PACKAGES) {
    const r = spawnSync(
      'npx',
      ['tsx', path.join(ROOT, 'packages', pkg, 'src', 'cli.ts'), 'table', '--records', RESULTS, '--out', out],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      },
    );
    expect(`${pkg}: exit ${r.status}\n${r.stderr.slice(-800)}`).toMatch(/exit 0\n/);
  }
  const committed = files(RESULTS).filter((f) => !NOT_FROM_TABLES.some(([re]) => re.test(f)));
  const rebuilt = files(out);
  expect(rebuilt.filter((f) => !committed.includes(f))).toEqual([]); // written but not committed
  expect(committed.filter((f) => !rebuilt.includes(f))).toEqual([]); // committed but no longer written
  const differing = committed.filter(
    (f) => !fs.readFileSync(path.join(RESULTS, f)).equals(fs.readFileSync(path.join(out, f))),
  );
  expect(differing).toEqual([]);
  fs.rmSync(out, { recursive: true, force: true });
}, 300_000);
