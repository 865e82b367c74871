import * as fs from 'fs';
import * as path from 'path';

/** Reference values kept in the repository: test/golden (provenance in its README). */
export function loadGolden<T = unknown>(name: string): T {
  const p = path.join(__dirname, '..', '..', '..', 'test', 'golden', name);
  if (!fs.existsSync(p)) throw new Error(`golden file ${p} not found (test/golden is part of the repository)`);
  return JSON.parse(fs.readFileSync(p, 'utf8')) as T;
}

export function flat(a: unknown): number[] {
  return Array.isArray(a) ? (a as unknown[]).flatMap(flat) : [a as number];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
