/**
 * Where a W1 / W2 / W5 training step or a W6 PGD-40 attack goes, per tfjs kernel (tf.profile), on
 * the chosen backend.
 *
 *   npx tsx tools/bench/profile.ts w2            # REPRO_NATIVE=0 for the pure wasm kernels
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendPreference } from '@repro/runtime';
import { trainWorkload } from './train-workloads';
import { StepWorkload, w5Workload, w6Workload } from './pdc-workloads';

/** Mean milliseconds of `reps` calls. */
function meanMs(fn: () => void, reps: number): number {
  const t = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t) / reps;
}

async function main(): Promise<void> {
  const id = (process.argv[2] ?? 'w2').toUpperCase();
  if (!['W1', 'W2', 'W5', 'W6'].includes(id))
    throw new Error(`unknown workload '${process.argv[2]}'; available: w1, w2, w5, w6`);
  const info = await initBackend(parseBackendPreference(process.argv[3]));
  console.log(`backend ${info.name} (${info.detail})`);
  const w: StepWorkload & { inferStep?: () => void } =
    id === 'W5'
      ? w5Workload()
      : id === 'W6'
        ? w6Workload()
        : (() => {
            const t = trainWorkload(id as 'W1' | 'W2');
            return { name: t.name, step: t.trainStep, inferStep: t.inferStep, dispose: t.dispose };
          })();
  for (let i = 0; i < 2; i++) w.step();
  console.log(`${w.name}: ${meanMs(w.step, id === 'W6' ? 2 : 5).toFixed(1)} ms per step`);
  // per kernel, the median over 5 profiled steps (single steps move by ±30% on a shared machine)
  const rounds = 5;
  const perRound = new Map<string, number[]>();
  const calls = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    const prof = await tf.profile(() => {
      w.step();
    });
    const agg = new Map<string, number>();
    // '__op' entries wrap the kernels they run (e.g. fusedConv2d__op around FusedConv2D): not counted twice
    for (const k of prof.kernels)
      if (!k.name.endsWith('__op')) {
        agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
        if (r === 0) calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
      }
    for (const [k, v] of agg) perRound.set(k, [...(perRound.get(k) ?? []), v]);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const agg = new Map([...perRound].map(([k, v]) => [k, median(v)] as const));
  const total = [...agg.values()].reduce((a, b) => a + b, 0);
  const nCalls = [...calls.values()].reduce((a, b) => a + b, 0);
  console.log(
    `kernel time ${total.toFixed(1)} ms per step (median of ${rounds} profiled steps per kernel), ${nCalls} kernel calls`,
  );
  for (const [k, v] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(
      `  ${k.padEnd(28)} ${v.toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${String(calls.get(k)).padStart(4)} calls`,
    );
  }
  if (w.inferStep) console.log(`inference ${meanMs(w.inferStep, 5).toFixed(1)} ms (batch 64)`);
  w.dispose();
}

main().catch((err: Error) => {
  console.error(`profile: ${err.message}`);
  process.exit(1);
});
