/**
 * The distance-correlation memory check of issue 3: dcor2 of X (n × 512) and Y (n × 10) at
 * n = 50,000 (the blocked path), reporting wall time and the process's peak resident memory
 * (VmHWM from /proc/self/status: the high-water mark, which includes the wasm heap).
 *   npx tsx tools/bench/dcor-memory.ts [n] [blockRows]
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { dcor2 } from '@repro/core-metrics';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main() {
  const n = Number(process.argv[2] ?? 50000);
  const blockRows = process.argv[3] ? Number(process.argv[3]) : undefined;
  const info = await initBackend();
  const x = tf.randomNormal<tf.Rank.R2>([n, 512], 0, 1, 'float32', 1);
  const y = tf.tidy<tf.Tensor2D>(() =>
    tf.add(tf.tanh(x.slice([0, 0], [-1, 10])), tf.randomNormal([n, 10], 0, 1, 'float32', 2)),
  );
  const before = peakRssMiB();
  const t = Date.now();
  const r = dcor2(x, y, { method: 'blocked', blockRows });
  const v = r.dataSync()[0];
  const secs = (Date.now() - t) / 1000;
  console.log(
    JSON.stringify({
      n,
      p: 512,
      q: 10,
      dcor2: v,
      seconds: secs,
      peakRssMiB: Math.round(peakRssMiB()),
      peakRssBeforeMiB: Math.round(before),
      backend: `${info.name} (${info.detail})`,
      blockRows: blockRows ?? 'default',
    }),
  );
  tf.dispose([x, y, r]);
}

main().catch((e) => {
  process.stderr.write(`dcor-memory: ${(e as Error).message}\n`);
  process.exit(1);
});
