/**
 * Where a W1 / W2 training step spends its time, per tfjs kernel (tf.profile), on the chosen backend.
 *
 *   npx tsx tools/bench/profile.ts w2            # REPRO_NATIVE=0 for the pure wasm kernels
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendPreference } from '@repro/runtime';
import { createModel } from '@repro/models';
import { Optimizer, trainableVariables } from '@repro/experiments';

async function main(): Promise<void> {
  const which = (process.argv[2] ?? 'w2').toLowerCase();
  if (which !== 'w1' && which !== 'w2') throw new Error(`profile: unknown workload '${which}'; available: w1, w2`);
  const info = await initBackend(parseBackendPreference(process.argv[3]));
  console.log(`backend ${info.name} (${info.detail})`);
  const m = which === 'w1'
    ? createModel('lenet', { inputShape: [28, 28, 1], numClasses: 10, nfilters: 32, firstFilterSize: 3, filterSize: 3, seed: 0 })
    : createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10, nfilters: 16, seed: 0 });
  const shape = which === 'w1' ? [28, 28, 1] : [32, 32, 3];
  const x = tf.randomNormal([64, ...shape]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10);
  const opt = new Optimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const vars = trainableVariables(m);
  const step = () => opt.step(vars, () => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  for (let i = 0; i < 2; i++) step();
  let t = performance.now();
  for (let i = 0; i < 5; i++) step();
  console.log(`train step ${((performance.now() - t) / 5).toFixed(1)} ms (batch 64)`);
  const prof = await tf.profile(() => {
    step();
  });
  const agg = new Map<string, number>();
  // '__op' entries wrap the kernels they run (e.g. fusedConv2d__op around FusedConv2D): not counted twice
  for (const k of prof.kernels) if (!k.name.endsWith('__op')) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...agg.values()].reduce((a, b) => a + b, 0);
  console.log(`kernel time ${total.toFixed(1)} ms in one profiled step`);
  for (const [k, v] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`  ${k.padEnd(28)} ${v.toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%`);
  }
  t = performance.now();
  for (let i = 0; i < 5; i++) {
    const o = m.predict(x) as tf.Tensor;
    o.dataSync();
    o.dispose();
  }
  console.log(`inference ${((performance.now() - t) / 5).toFixed(1)} ms (batch 64)`);
}

main().catch((err: Error) => {
  console.error(`profile: ${err.message}`);
  process.exit(1);
});
