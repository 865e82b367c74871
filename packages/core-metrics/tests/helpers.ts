import * as path from 'path';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';

/** The reference values kept in the repository: test/golden (provenance in its README). */
export const GOLDEN_DIR = path.join(__dirname, '..', '..', '..', 'test', 'golden');

export function goldenPath(name: string): string {
  const p = path.join(GOLDEN_DIR, name);
  if (!fs.existsSync(p)) throw new Error(`golden file ${p} not found (test/golden is part of the repository)`);
  return p;
}

export function loadGolden<T = unknown>(name: string): T {
  return JSON.parse(fs.readFileSync(goldenPath(name), 'utf8')) as T;
}

/** |a − b| ≤ abs + rel·|b| */
export function expectClose(actual: number, expected: number, tol: { abs: number; rel: number }, what = ''): void {
  const bound = tol.abs + tol.rel * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= bound)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (|Δ| = ${Math.abs(actual - expected)} > ${bound})`);
  }
}

/** Runs fn, returns its scalar's value and disposes it. */
export function value(fn: () => tf.Scalar): number {
  const s = fn();
  const v = s.dataSync()[0];
  s.dispose();
  return v;
}

/** Asserts that fn leaves no tensor behind (after one warm-up call). */
export function expectNoLeak(fn: () => unknown): void {
  const run = () => {
    const out = fn();
    if (out instanceof tf.Tensor) out.dispose();
  };
  run();
  const before = tf.memory().numTensors;
  run();
  expect(tf.memory().numTensors).toBe(before);
}

export function randn(seed: number, n: number, p: number, meanShift = 0): tf.Tensor2D {
  return tf.add<tf.Tensor2D>(tf.randomNormal([n, p], 0, 1, 'float32', seed), meanShift);
}
