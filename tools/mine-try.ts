import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import { initBackend } from '@repro/runtime';
import { mine, infoNce } from '@repro/core-metrics';
(async () => {
  await initBackend('wasm');
  const g = JSON.parse(fs.readFileSync('/work/shared/golden/mine.json', 'utf8'));
  const iters = Number(process.argv[2] ?? 2000), lr = Number(process.argv[3] ?? 1e-4);
  for (const c of g.cases.slice(0, 5)) {
    const n = c.n, d = c.d, rho = c.rho;
    const x = tf.randomNormal([n, d], 0, 1, 'float32', c.seed) as tf.Tensor2D;
    const y = tf.tidy(() => tf.add(tf.mul(x, rho), tf.mul(tf.randomNormal([n, d], 0, 1, 'float32', c.seed + 1), Math.sqrt(1 - rho * rho)))) as tf.Tensor2D;
    let t = Date.now();
    const r = mine(x, y, { iterations: iters, learningRate: lr, seed: 1 });
    const tm = (Date.now() - t) / 1000; t = Date.now();
    const q = infoNce(x, y, { iterations: 300, seed: 1 });
    console.log(d, rho, 'true', c.true_mi_nats, 'mine', r.estimate.toFixed(4), 'held', r.heldOut.toFixed(4), r.verdict, (r.estimate / c.true_mi_nats - 1).toFixed(3), tm + 's', 'infonce', q.estimate.toFixed(3), q.heldOut.toFixed(3), ((Date.now() - t) / 1000) + 's', tf.memory().numTensors);
    tf.dispose([x, y]);
  }
})();
