import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
(async () => {
  await initBackend('wasm');
  const net = tf.sequential({ layers: [tf.layers.dense({ units: 64, activation: 'relu', inputShape: [10] }), tf.layers.dense({ units: 64, activation: 'relu' }), tf.layers.dense({ units: 64, activation: 'relu' }), tf.layers.dense({ units: 1 })] });
  const opt = tf.train.adam(1e-4);
  const x = tf.randomNormal([1000, 10]);
  const step = () => { const c = opt.minimize(() => tf.mean(net.apply(x) as tf.Tensor) as tf.Scalar, true); c!.dispose(); };
  for (let i = 0; i < 5; i++) step();
  const prof = await tf.profile(() => { step(); });
  const agg: Record<string, number> = {};
  for (const k of prof.kernels) agg[k.name] = (agg[k.name] ?? 0) + (k.kernelTimeMs as number);
  console.log(Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 12));
  let t = Date.now(); for (let i = 0; i < 50; i++) step(); console.log('ms/step', (Date.now() - t) / 50);
})();
