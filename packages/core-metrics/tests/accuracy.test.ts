import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@repro/runtime';
import { accuracy, smoothedAccuracy, smoothedAccuracyTrace } from '../src';
import { expectNoLeak, loadGolden } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('accuracy', () => {
  it('is Σcorrect / n', () => {
    const logits = tf.tensor2d([
      [0.1, 0.9],
      [0.8, 0.2],
      [0.3, 0.7],
      [0.6, 0.4],
    ]);
    const labels = tf.tensor1d([1, 0, 0, 0], 'int32');
    const a = accuracy(logits, labels);
    expect(a.dataSync()[0]).toBeCloseTo(0.75, 7);
    a.dispose();
    expectNoLeak(() => accuracy(logits, labels));
    expect(() => accuracy(logits, tf.tensor1d([1, 0], 'int32'))).toThrow(/labels must be \[4\]/);
    tf.dispose([logits, labels]);
  });
});

describe('smoothedAccuracy (PNN original Monitor)', () => {
  const g = loadGolden<{
    smoothed_accuracy_case: {
      batch_acc_pct: number[];
      ema_trace_pct: number[];
      smoothed_reported_pct: number;
      true_pct: number;
    };
  }>('pnn.json').smoothed_accuracy_case;

  it('reproduces the golden EMA trace and the reported value', () => {
    const trace = smoothedAccuracyTrace(g.batch_acc_pct, { smoothness: 0.7 });
    trace.forEach((v, i) => expect(v).toBeCloseTo(g.ema_trace_pct[i], 6));
    expect(smoothedAccuracy(g.batch_acc_pct, { smoothness: 0.7 })).toBeCloseTo(g.smoothed_reported_pct, 6);
    const truePct = g.batch_acc_pct.reduce((a, b) => a + b, 0) / g.batch_acc_pct.length;
    expect(truePct).toBeCloseTo(g.true_pct, 6);
  });

  it('skips incomplete batches and continues from a carried-over EMA', () => {
    expect(smoothedAccuracy([50, 100, 0], { batchSizes: [10, 10, 3], batchSize: 10 })).toBeCloseTo(
      0.7 * 15 + 0.3 * 100,
      10,
    );
    expect(smoothedAccuracy([100], { initial: 50 })).toBeCloseTo(65, 10);
    expect(() => smoothedAccuracy([1], { smoothness: 1 })).toThrow(/smoothness must be in \[0, 1\)/);
  });
});
