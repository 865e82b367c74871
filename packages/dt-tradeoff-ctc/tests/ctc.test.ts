/**
 * CTC's pieces against hand-computed values (the formulas of ctc/criterion.py, ctc/memory.py and
 * ctc/instance.py), the learning-rate schedules against util.py, and the probe's cosine.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, initBackend } from '@repro/runtime';
import {
  CPU_RUNS,
  PAPER_RUNS,
  REPO_PROBE,
  checkpointEpochs,
  contrastIndices,
  contrastScores,
  crdNceLoss,
  ctcLr,
  instanceLoss,
  memoryBank,
  momentumUpdate,
  negativesByClass,
  probeLr,
  vanillaLr,
} from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

it('the CRD NCE loss is Eq. 18 with Pn = 1/n and m = K', () => {
  const x = [
    [0.5, 0.01, 0.02],
    [0.1, 0.3, 0.001],
  ];
  const n = 10;
  const m = 2;
  const pn = 1 / n;
  let want = 0;
  for (const row of x) {
    want -= Math.log(row[0] / (row[0] + m * pn + 1e-7));
    for (const v of row.slice(1)) want -= Math.log((m * pn) / (v + m * pn + 1e-7));
  }
  want /= x.length;
  const t = tf.tensor2d(x);
  const got = crdNceLoss(t, n);
  expect(got.dataSync()[0]).toBeCloseTo(want, 5);
  tf.dispose([t, got]);
});

it('instance discrimination is cross-entropy against the examples own indices', () => {
  const logits = tf.tensor2d([
    [1, 2, 3, 0],
    [0.5, -1, 0, 2],
  ]);
  const idx = Int32Array.from([2, 0]);
  const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
  const want = (-(3 - lse([1, 2, 3, 0])) - (0.5 - lse([0.5, -1, 0, 2]))) / 2;
  const got = instanceLoss(logits, idx);
  expect(got.dataSync()[0]).toBeCloseTo(want, 5);
  tf.dispose([logits, got]);
});

it('memory updates move the batch slots by momentum and renormalise them; the rest stay', () => {
  const mem = memoryBank(5, 3, new Rng(1), 'test_memory');
  const before = mem.arraySync() as number[][];
  const x = tf.tensor2d([
    [1, 0, 0],
    [0, 2, 0],
  ]);
  momentumUpdate(mem, Int32Array.from([1, 3]), x, 0.5);
  const after = mem.arraySync() as number[][];
  const expectRow = (old: number[], v: number[]) => {
    const m = old.map((o, k) => 0.5 * o + 0.5 * v[k]);
    const norm = Math.hypot(...m);
    return m.map((a) => a / norm);
  };
  expectRow(before[1], [1, 0, 0]).forEach((v, k) => expect(after[1][k]).toBeCloseTo(v, 5));
  expectRow(before[3], [0, 2, 0]).forEach((v, k) => expect(after[3][k]).toBeCloseTo(v, 5));
  for (const i of [0, 2, 4]) expect(after[i]).toEqual(before[i]);
  tf.dispose([mem, x]);
});

it('contrast indices: the own index first, then K distinct other-class negatives', () => {
  const labels = Int32Array.from([0, 0, 1, 1, 1, 0, 1, 0]);
  const neg = negativesByClass(labels, 2);
  const idx = contrastIndices(Int32Array.from([0, 2]), labels, neg, 3, new Rng(4));
  const rows = [Array.from(idx.slice(0, 4)), Array.from(idx.slice(4, 8))];
  expect(rows[0][0]).toBe(0);
  expect(rows[1][0]).toBe(2);
  expect(rows[0].slice(1).every((i) => labels[i] === 1)).toBe(true);
  expect(rows[1].slice(1).every((i) => labels[i] === 0)).toBe(true);
  expect(new Set(rows[0].slice(1)).size).toBe(3);
  // more negatives than other-class images: drawn with replacement
  const many = contrastIndices(Int32Array.from([0]), labels, neg, 9, new Rng(4));
  expect(many.length).toBe(10);
});

it('the NCE normaliser Z is set by the first batch and then frozen (unless renormalised)', () => {
  const rng = new Rng(2);
  const m1 = memoryBank(6, 4, rng.fork('a'), 'test_m1');
  const m2 = memoryBank(6, 4, rng.fork('b'), 'test_m2');
  const z = tf.tidy(() => tf.variable(tf.tensor1d([-1, -1]), false, 'test_z'));
  const v = tf.tidy(() => tf.div<tf.Tensor2D>(tf.ones([2, 4]), 2));
  const idx = Int32Array.from([0, 1, 2, 3, 4, 5]); // b = 2 rows of K + 1 = 3
  const first = tf.tidy(() => {
    const s = contrastScores(v, v, m1, m2, idx, 2, 0.1, z, false);
    return tf.mean(s.out1).dataSync()[0];
  });
  const zs = Array.from(z.dataSync());
  expect(zs[0]).toBeGreaterThan(0);
  // scores / (mean · n): the first batch's mean score is 1/n
  expect(first).toBeCloseTo(1 / 6, 4);
  momentumUpdate(
    m2,
    Int32Array.from([0, 1]),
    tf.tidy(() => tf.ones<tf.Rank.R2>([2, 4])),
    0,
  );
  tf.tidy(() => contrastScores(v, v, m1, m2, idx, 2, 0.1, z, false));
  expect(Array.from(z.dataSync())).toEqual(zs);
  tf.tidy(() => contrastScores(v, v, m1, m2, idx, 2, 0.1, z, true));
  expect(Array.from(z.dataSync())).toEqual(zs);
  tf.dispose([m1, m2, z, v]);
});

it('the scores are exp(<mem[idx], v>/T)/Z, as gathering the memory rows and a batched product gives them', () => {
  const rng = new Rng(5);
  const m1 = memoryBank(7, 3, rng.fork('a'), 'test_s1');
  const m2 = memoryBank(7, 3, rng.fork('b'), 'test_s2');
  const z = tf.tidy(() => tf.variable(tf.tensor1d([2, 3]), false, 'test_sz'));
  const v1 = tf.tensor2d([
    [0.6, 0.8, 0],
    [0, 0.6, 0.8],
  ]);
  const v2 = tf.tensor2d([
    [1, 0, 0],
    [0, 0, 1],
  ]);
  const idx = Int32Array.from([0, 3, 5, 2, 6, 1]); // b = 2, K = 2
  const got = tf.tidy(() => {
    const s = contrastScores(v1, v2, m1, m2, idx, 2, 0.5, z, false);
    return [s.out1.arraySync(), s.out2.arraySync()] as number[][][];
  });
  const M1 = m1.arraySync() as number[][];
  const M2 = m2.arraySync() as number[][];
  const V1 = v1.arraySync();
  const V2 = v2.arraySync();
  const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i], 0);
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++) {
      const r = idx[i * 3 + j];
      expect(got[0][i][j]).toBeCloseTo(Math.exp(dot(M2[r], V1[i]) / 0.5) / 2, 5);
      expect(got[1][i][j]).toBeCloseTo(Math.exp(dot(M1[r], V2[i]) / 0.5) / 3, 5);
    }
  tf.dispose([m1, m2, z, v1, v2]);
});

it('learning rates follow util.py', () => {
  const paper = PAPER_RUNS[0];
  const lr = vanillaLr(paper);
  // warm-up 0.05·epoch/5 for epochs 1-5, then 0.05·(0.1 + 0.9·0.5·(1 + cos(π·epoch/201)))
  expect(lr(0)).toBeCloseTo(0.01, 12);
  expect(lr(4)).toBeCloseTo(0.05, 12);
  expect(lr(5)).toBeCloseTo(0.05 * (0.1 + 0.45 * (1 + Math.cos((Math.PI * 6) / 201))), 12);
  expect(lr(199)).toBeCloseTo(0.05 * (0.1 + 0.45 * (1 + Math.cos((Math.PI * 200) / 201))), 12);
  const ctc = PAPER_RUNS.find((r) => r.kind === 'ctc')!;
  const c = ctcLr(ctc);
  expect(c(0)).toBeCloseTo(0.05 * 0.5 * (1 + Math.cos(Math.PI / 201)), 12);
  expect(c(199)).toBeCloseTo(0.05 * 0.5 * (1 + Math.cos((200 * Math.PI) / 201)), 12);
  expect(c(200)).toBeCloseTo(0.005 * 0.5 * (1 + Math.cos(Math.PI / 101)), 12);
  expect(c(299)).toBeCloseTo(0.005 * 0.5 * (1 + Math.cos((100 * Math.PI) / 101)), 12);
  expect(probeLr(REPO_PROBE, 0)).toBeCloseTo(0.4, 12);
  expect(probeLr(REPO_PROBE, 15)).toBeCloseTo(0.2, 12);
});

it('the README settings and the kept checkpoints', () => {
  const t = PAPER_RUNS.find((r) => r.id === 'paper-ctc-transferability')!.ctc!;
  expect([t.a, t.b, t.instanceT, t.instanceM, t.nceT, t.nceM]).toEqual([0.5, 1.0, 0.1, 0.9, 0.1, 0.9]);
  const d = PAPER_RUNS.find((r) => r.id === 'paper-ctc-discriminability')!.ctc!;
  expect([d.a, d.b, d.instanceT, d.instanceM, d.nceT, d.nceM]).toEqual([0.1, 1.0, 0.5, 0.9, 0.4, 0.9]);
  for (const c of [t, d]) {
    expect([c.stageTwoEpoch, c.weightDecayCoef, c.updateMemoryBank, c.nceK, c.stageTwoDecayRate]).toEqual([
      200,
      2.0,
      true,
      16384,
      0.1,
    ]);
    expect([c.trainProjector, c.renormalizeNce]).toEqual([false, false]);
  }
  expect(checkpointEpochs(PAPER_RUNS[0])).toHaveLength(101);
  expect(checkpointEpochs(CPU_RUNS[0])).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40]);
});
