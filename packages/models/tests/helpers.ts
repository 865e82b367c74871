import * as fs from 'fs';
import * as path from 'path';

export function loadGolden<T = any>(name: string): T {
  const dirs = [process.env.REPRO_GOLDEN_DIR, path.join(__dirname, '..', '..', '..', '..', 'shared', 'golden')].filter((d): d is string => Boolean(d));
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return JSON.parse(fs.readFileSync(p, 'utf8')) as T;
  }
  throw new Error(`golden file ${name} not found in ${dirs.join(', ')} (set REPRO_GOLDEN_DIR)`);
}

export function flat(a: unknown): number[] {
  return Array.isArray(a) ? (a as unknown[]).flatMap(flat) : [a as number];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
