/**
 * `table --records` on records from other workers, through the CLI (no training: the table only):
 * a record whose runId climbs out of the output folder, and folders without records, are errors
 * with exit status 1 and leave nothing behind.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const CLI = path.join(__dirname, '..', 'src', 'cli.ts');
const ROOT = path.join(__dirname, '..', '..', '..');
// a committed record, read (never written): a realistic one to tamper with
const COMMITTED = path.join(ROOT, 'results', 'runs', 'pnn-perturb', 'cpu', 'cpu-a-3x3.seed1.json');

function cli(args: string[]) {
  return spawnSync('npx', ['tsx', CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
}

/** Every entry under `dir`, relative. */
const entries = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();

it('a record whose runId climbs out of --out: exit 1, the file and field named, nothing written', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-hostile-'));
  const worker = path.join(base, 'worker');
  const dir = path.join(worker, 'runs', 'pnn-perturb', 'cpu');
  fs.mkdirSync(dir, { recursive: true });
  const rec = JSON.parse(fs.readFileSync(COMMITTED, 'utf8')) as { runId: string };
  fs.copyFileSync(COMMITTED, path.join(dir, 'cpu-a-3x3.seed1.json'));
  const bad = path.join(dir, 'cpu-a-3x3.seed2.json');
  fs.writeFileSync(bad, JSON.stringify({ ...rec, runId: '../../../../escape/pwned' }));
  const out = path.join(base, 'out');
  const r = cli(['table', '--scale', 'cpu', '--records', worker, '--out', out]);
  expect(r.stderr).toContain(
    `pnn-perturb: ${bad}: run record field 'runId' "../../../../escape/pwned" is not a safe id`,
  );
  expect(r.status).toBe(1);
  expect(fs.existsSync(out)).toBe(false);
  expect(entries(base)).toEqual(
    ['worker', 'worker/runs', 'worker/runs/pnn-perturb', 'worker/runs/pnn-perturb/cpu'].concat(
      ['cpu-a-3x3.seed1.json', 'cpu-a-3x3.seed2.json'].map((f) => `worker/runs/pnn-perturb/cpu/${f}`),
    ),
  );
}, 60_000);

it('folders without records: exit 1 with a message naming the folder, nothing written', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-norecords-'));
  const empty = path.join(base, 'empty');
  fs.mkdirSync(path.join(empty, 'runs', 'pnn-perturb', 'smoke'), { recursive: true });
  const out = path.join(base, 'out');
  const r = cli(['table', '--scale', 'smoke', '--records', empty, '--out', out]);
  expect(r.stderr).toContain(`pnn-perturb: --records: ${empty} holds no run records of pnn-perturb`);
  expect(r.status).toBe(1);
  expect(fs.existsSync(out)).toBe(false);
}, 60_000);

it('table on an --out without records (a mistyped folder): exit 1 naming it, nothing written', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pnn-typo-')), 'resluts');
  const r = cli(['table', '--out', out]);
  expect(r.stderr).toContain(`pnn-perturb: --out ${out} holds no run records of pnn-perturb`);
  expect(r.status).toBe(1);
  expect(fs.existsSync(out)).toBe(false);
}, 60_000);
