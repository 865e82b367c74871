/**
 * Contrastive Temporal Coding's two losses, as DTennant/dt-tradeoff computes them (ctc/instance.py,
 * ctc/memory.py, ctc/criterion.py; built on CRD, HobbitLong/RepDistiller):
 * - stage 1, instance discrimination (Wu et al. 2018): the feature through a linear projector,
 *   L2-normalised, scored against a memory bank with one slot per training image (divided by the
 *   temperature), cross-entropy with the image's own index as the target; after the step the slots of
 *   the batch move to normalize(m·slot + (1 − m)·x);
 * - stage 2, CRD's NCE between the current network's embedding and the frozen snapshot's, each
 *   against the other's momentum memory, with K negatives drawn from other-class images.
 * The memories are tf.Variables (checkpointed with the run). Memory updates run after the optimizer
 * step, on the values of the forward pass, as the reference's custom backward and no_grad blocks do.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';

const EPS = 1e-7;

/** A PyTorch nn.Linear(in, out): weight and bias U(−1/√in, 1/√in), stable variable names for checkpoints. */
export class Linear {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  constructor(inDim: number, outDim: number, rng: Rng, name: string) {
    const bound = 1 / Math.sqrt(inDim);
    const u = (n: number) => Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * bound);
    // tf.variable keeps its own reference: the initial tensors are freed by the tidy
    this.kernel = tf.tidy(() => tf.variable(tf.tensor2d(u(inDim * outDim), [inDim, outDim]), true, `${name}/kernel`));
    this.bias = tf.tidy(() => tf.variable(tf.tensor1d(u(outDim)), true, `${name}/bias`));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel), this.bias);
  }
  get variables(): tf.Variable[] {
    return [this.kernel, this.bias];
  }
  dispose(): void {
    tf.dispose([this.kernel, this.bias]);
  }
}

export function l2normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true))));
}

/** A memory bank [n, dim], initialised U(−stdv, stdv) with stdv = 1/√(dim/3), as both references do. */
export function memoryBank(n: number, dim: number, rng: Rng, name: string): tf.Variable {
  const stdv = 1 / Math.sqrt(dim / 3);
  const v = Float32Array.from({ length: n * dim }, () => (2 * rng.next() - 1) * stdv);
  return tf.tidy(() => tf.variable(tf.tensor2d(v, [n, dim]), false, name));
}

/** mem[idx] ← normalize(m·mem[idx] + (1 − m)·x) (m = 0: overwrite with normalize(x)). */
export function momentumUpdate(mem: tf.Variable, idx: Int32Array, x: tf.Tensor2D, m: number): void {
  tf.tidy(() => {
    const i = tf.tensor1d(idx, 'int32');
    const rows = l2normalize(tf.add(tf.mul(tf.gather(mem, i), m), tf.mul(x, 1 - m)));
    mem.assign(tf.tensorScatterUpdate(mem, tf.expandDims(i, 1), rows));
  });
}

/**
 * Stage 1 logits: normalize(projector(f)) · memᵀ / T [b, n]; the loss is cross-entropy against the
 * examples' own indices. Returns the logits and the normalised projection (for the memory update).
 */
export function instanceLogits(
  f: tf.Tensor2D,
  projector: Linear,
  memory: tf.Variable,
  temperature: number,
): { logits: tf.Tensor2D; x: tf.Tensor2D } {
  const x = l2normalize(projector.apply(f));
  return { logits: tf.div(tf.matMul(x, memory, false, true), temperature), x };
}

/** Cross-entropy of instance logits against the examples' dataset indices. */
export function instanceLoss(logits: tf.Tensor2D, indices: Int32Array): tf.Scalar {
  return tf.tidy(() =>
    tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
      tf.oneHot(tf.tensor1d(indices, 'int32'), logits.shape[1]),
      logits,
    ),
  );
}

/**
 * CRD's contrastive loss "Eq. 18" on scores x [b, K + 1] (column 0 the positive): with noise
 * distribution Pn = 1/nData and m = K, −(Σ log(P⁺/(P⁺ + m·Pn)) + Σ log(m·Pn/(P⁻ + m·Pn)))/b.
 */
export function crdNceLoss(x: tf.Tensor2D, nData: number): tf.Scalar {
  return tf.tidy(() => {
    const [b, k1] = x.shape;
    const m = k1 - 1;
    const mPn = m / nData;
    const pos = tf.slice(x, [0, 0], [b, 1]);
    const neg = tf.slice(x, [0, 1], [b, m]);
    const logD1 = tf.log(tf.div(pos, tf.add(pos, mPn + EPS)));
    const logD0 = tf.log(tf.div(tf.fill(neg.shape, mPn), tf.add(neg, mPn + EPS)));
    return tf.div<tf.Scalar>(tf.neg(tf.add(tf.sum(logD1), tf.sum(logD0))), b);
  });
}

/**
 * Contrast indices [b, K + 1] for a batch (cifar100.py `mode='exact'`): the example's own index, then
 * K indices of training images of another class, without replacement unless K exceeds their count.
 */
export function contrastIndices(
  indices: Int32Array,
  labels: Int32Array,
  negativesByClass: Int32Array[],
  k: number,
  rng: Rng,
): Int32Array {
  const out = new Int32Array(indices.length * (k + 1));
  indices.forEach((i, r) => {
    const pool = negativesByClass[labels[i]];
    out[r * (k + 1)] = i;
    if (k > pool.length) {
      for (let j = 0; j < k; j++) out[r * (k + 1) + 1 + j] = pool[Math.floor(rng.next() * pool.length)];
    } else {
      // partial Fisher–Yates on a copy of the pool's first positions
      const p = pool.slice();
      for (let j = 0; j < k; j++) {
        const s = j + Math.floor(rng.next() * (p.length - j));
        const t = p[j];
        p[j] = p[s];
        p[s] = t;
        out[r * (k + 1) + 1 + j] = p[j];
      }
    }
  });
  return out;
}

/** For every class, the training indices of the other classes. */
export function negativesByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  return Array.from({ length: numClasses }, (_, c) => {
    const out: number[] = [];
    labels.forEach((l, i) => {
      if (l !== c) out.push(i);
    });
    return Int32Array.from(out);
  });
}

/**
 * CRD's ContrastMemory forward: scores exp(<mem_other[idx], v>/T)/Z for both views; Z (one per view)
 * comes from `z` (a [2] variable, −1 = not set): set from the first batch as mean·nData and then kept,
 * as the reference does, unless `renormalize` (then the batch's own mean·nData every time).
 */
export function contrastScores(
  v1: tf.Tensor2D,
  v2: tf.Tensor2D,
  memV1: tf.Variable,
  memV2: tf.Variable,
  contrastIdx: Int32Array,
  k: number,
  temperature: number,
  z: tf.Variable,
  renormalize: boolean,
): { out1: tf.Tensor2D; out2: tf.Tensor2D } {
  const b = v1.shape[0];
  const nData = memV1.shape[0];
  // <mem[idx[i, j]], v_i> as one [b, n] product with the whole memory, then the K + 1 entries of each
  // row picked out: the same numbers as gathering b·(K + 1) memory rows and a batched product
  // (memory.py), without materialising a [b, K + 1, dim] tensor (67 MB per view at b 128, K 1024)
  const flat = new Int32Array(contrastIdx.length);
  for (let i = 0; i < b; i++)
    for (let j = 0; j <= k; j++) flat[i * (k + 1) + j] = i * nData + contrastIdx[i * (k + 1) + j];
  const pick = tf.tensor1d(flat, 'int32');
  const scores = (v: tf.Tensor2D, mem: tf.Variable) =>
    tf.exp(
      tf.div(
        tf.reshape(tf.gather(tf.reshape(tf.matMul(v, mem, false, true), [b * nData]), pick), [b, k + 1]),
        temperature,
      ),
    ) as tf.Tensor2D;
  // out_v2 scores the teacher view against the student memory, out_v1 the student view against the teacher memory
  const outV2 = scores(v2, memV1);
  const outV1 = scores(v1, memV2);
  let zs = z.dataSync();
  if (renormalize || zs[0] < 0 || zs[1] < 0) {
    const z1 = tf.mean(outV1).dataSync()[0] * nData;
    const z2 = tf.mean(outV2).dataSync()[0] * nData;
    const next = [renormalize || zs[0] < 0 ? z1 : zs[0], renormalize || zs[1] < 0 ? z2 : zs[1]];
    if (!renormalize) tf.tidy(() => z.assign(tf.tensor1d(next)));
    zs = Float32Array.from(next);
  }
  return { out1: tf.div(outV1, zs[0]), out2: tf.div(outV2, zs[1]) };
}

/** What one CTC step needs: the network's and the snapshot's feature taps, CTC's modules and memories. */
export interface CtcParts {
  /** The network's [feature, logits] in training mode. */
  features: tf.LayersModel;
  /** The frozen snapshot's [feature, logits] (inference mode). */
  snapshotFeatures: tf.LayersModel;
  projector: Linear;
  embedS: Linear;
  embedT: Linear;
  instanceMemory: tf.Variable;
  memoryV1: tf.Variable;
  memoryV2: tf.Variable;
  /** The NCE normalisers [Z_v1, Z_v2] (−1: not set). */
  z: tf.Variable;
  nData: number;
}

export interface CtcWeights {
  a: number;
  b: number;
  instanceT: number;
  instanceM: number;
  nceT: number;
  nceM: number;
  nceK: number;
  renormalizeNce: boolean;
}

/** Stage 1 (loops.py L113-120): CE + a·instance discrimination; the instance memory updated after the step. */
export function ctcStage1Step(
  p: CtcParts,
  c: CtcWeights,
  opt: { step(vars: tf.Variable[], f: () => tf.Scalar): number },
  vars: tf.Variable[],
  x: tf.Tensor4D,
  y1h: tf.Tensor,
  indices: Int32Array,
): { loss: number; ce: number; instance: number } {
  const kept: tf.Tensor2D[] = [];
  let parts = [0, 0];
  const loss = opt.step(vars, () => {
    const [f, logits] = p.features.apply(x, { training: true }) as tf.Tensor[];
    const ce = tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(y1h, logits);
    const inst = instanceLogits(f as tf.Tensor2D, p.projector, p.instanceMemory, c.instanceT);
    const id = instanceLoss(inst.logits, indices);
    kept.push(tf.keep(inst.x.clone()));
    parts = [ce.dataSync()[0], id.dataSync()[0]];
    return tf.add(ce, tf.mul(id, c.a));
  });
  momentumUpdate(p.instanceMemory, indices, kept[0], c.instanceM);
  tf.dispose(kept);
  return { loss, ce: parts[0], instance: parts[1] };
}

/**
 * Stage 2 (loops.py L122-135): CE + b·(NCE of the current embedding against the snapshot's memory
 * and of the snapshot's embedding against the current memory); both memories updated after the step.
 */
export function ctcStage2Step(
  p: CtcParts,
  c: CtcWeights,
  opt: { step(vars: tf.Variable[], f: () => tf.Scalar): number },
  vars: tf.Variable[],
  x: tf.Tensor4D,
  y1h: tf.Tensor,
  indices: Int32Array,
  contrastIdx: Int32Array,
): { loss: number; ce: number; nce: number } {
  const kept: tf.Tensor2D[] = [];
  let parts = [0, 0];
  const fT = tf.tidy(() => (p.snapshotFeatures.predict(x) as tf.Tensor[])[0] as tf.Tensor2D);
  const loss = opt.step(vars, () => {
    const [f, logits] = p.features.apply(x, { training: true }) as tf.Tensor[];
    const ce = tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(y1h, logits);
    const v1 = l2normalize(p.embedS.apply(f as tf.Tensor2D));
    const v2 = l2normalize(p.embedT.apply(fT));
    const s = contrastScores(v1, v2, p.memoryV1, p.memoryV2, contrastIdx, c.nceK, c.nceT, p.z, c.renormalizeNce);
    const nce = tf.add(crdNceLoss(s.out1, p.nData), crdNceLoss(s.out2, p.nData));
    kept.push(tf.keep(v1.clone()), tf.keep(v2.clone()));
    parts = [ce.dataSync()[0], nce.dataSync()[0]];
    return tf.add(ce, tf.mul(nce, c.b));
  });
  fT.dispose();
  momentumUpdate(p.memoryV1, indices, kept[0], c.nceM);
  momentumUpdate(p.memoryV2, indices, kept[1], c.nceM);
  tf.dispose(kept);
  return { loss, ce: parts[0], nce: parts[1] };
}
