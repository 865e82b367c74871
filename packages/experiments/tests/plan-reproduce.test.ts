/**
 * Which jobs `reproduce` trains: a record of the same configuration is finished; another configuration
 * is stale; the run's list of seeds is not part of a job's configuration (adding a seed trains only it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { planReproduce, runRecordPath } from '../src';

function writeRecord(out: string, seed: number, config: Record<string, unknown>) {
  const file = runRecordPath(path.join(out, 'runs'), { package: 'demo', runId: 'r', seed, scale: 'cpu' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ complete: true, config }));
}

it('adding seeds to a run keeps its finished seeds; any other change makes them stale', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-plan-'));
  for (const seed of [1, 2, 3]) writeRecord(out, seed, { alpha: 2, epochs: 20, seeds: [1, 2, 3] });
  const jobs = (config: Record<string, unknown>) => [1, 2, 3, 4].map((seed) => ({ runId: 'r', seed, config }));
  const more = planReproduce(out, 'demo', 'cpu', jobs({ alpha: 2, epochs: 20, seeds: [1, 2, 3, 4] }), { fresh: false });
  expect(more.finished.map((j) => j.seed)).toEqual([1, 2, 3]);
  expect(more.todo.map((j) => j.seed)).toEqual([4]);
  const other = planReproduce(out, 'demo', 'cpu', jobs({ alpha: 0.5, epochs: 20, seeds: [1, 2, 3, 4] }), {
    fresh: false,
  });
  expect(other.finished).toEqual([]);
  expect(other.stale.map((j) => j.seed)).toEqual([1, 2, 3]);
  fs.rmSync(out, { recursive: true, force: true });
});
