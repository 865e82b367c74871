/**
 * The distillation losses, as their reference code computes them (each returns a scalar owned by the
 * caller; teacher tensors are constants):
 * - kdLoss: Hinton KD as RepDistiller's DistillKL: KL(softmax(t/T) ‖ softmax(s/T)) summed over classes,
 *   averaged over the batch, × T².
 * - mgdLoss: MGD (mgd.py get_dis_loss): Σ (G(mask ⊙ align(S)) − T)² / N.
 * - ickdLoss: ICKD-C (ICKD.py): per example the C×C inter-channel Gram F Fᵀ of the embedded student map
 *   and of the teacher map, each row L2-normalised, Σ (G_s − G_t)² / (C · N).
 * - dpkMaskRatio: DPK's dynamic mask ratio from the student-teacher CKA of the batch (engine.py
 *   train_resnet_two_epoch, mode 'cka'): max(1 − CKA, 0.1), and the fallback when the CKA is not finite,
 *   ≤ 0.1 or ≥ 1.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';

export function kdLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logPs = tf.logSoftmax(tf.div(studentLogits, temperature));
    const logPt = tf.logSoftmax(tf.div(teacherLogits, temperature));
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1);
    return tf.mul<tf.Scalar>(tf.mean(kl), temperature * temperature);
  });
}

/** MGD's random channel mask [n, 1, 1, c]: 0 where U(0,1) < λ, else 1 (mgd.py, classification). */
export function mgdChannelMask(n: number, channels: number, lambda: number, rng: Rng): tf.Tensor4D {
  const m = new Float32Array(n * channels);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < lambda ? 0 : 1;
  return tf.tensor4d(m, [n, 1, 1, channels]);
}

export function mgdLoss(generated: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div<tf.Scalar>(tf.sum(tf.square(tf.sub(generated, teacher))), generated.shape[0]));
}

/** [n, h, w, c] → per example the row-normalised C×C Gram, [n, c, c]. */
function channelGram(f: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, w, c] = f.shape;
    const flat = tf.reshape<tf.Rank.R3>(f, [n, h * w, c]);
    const g = tf.matMul(flat, flat, true, false);
    // F.normalize(dim=2): x / max(‖x‖₂, 1e-12)
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(g), -1, true)), 1e-12);
    return tf.div<tf.Tensor3D>(g, norm);
  });
}

export function ickdLoss(embeddedStudent: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const [n, , , c] = teacher.shape;
    const d = tf.sub(channelGram(embeddedStudent), channelGram(teacher));
    return tf.div<tf.Scalar>(tf.sum(tf.square(d)), c * n);
  });
}

export interface MaskRatioRule {
  fallbackRatio: number;
  minRatio: number;
}

/** ratio = max(1 − cka, minRatio); the fallback when cka is NaN/±∞, ≤ 0.1 or ≥ 1 (engine.py). */
export function dpkMaskRatio(cka: number, rule: MaskRatioRule): number {
  if (!Number.isFinite(cka) || cka <= 0.1 || cka >= 1) return rule.fallbackRatio;
  return Math.max(1 - cka, rule.minRatio);
}

/**
 * DPK's per-example random masks [n, tokens]: 1 at num_mask = max(⌊tokens · ratio⌋, minMasked)
 * positions drawn without replacement (at most tokens − 1, so the student encoder sees a token).
 */
export function dpkMask(n: number, tokens: number, ratio: number, minMasked: number, rng: Rng): tf.Tensor2D {
  const k = Math.min(tokens - 1, Math.max(Math.floor(tokens * ratio), minMasked));
  const m = new Float32Array(n * tokens);
  for (let i = 0; i < n; i++) {
    const p = rng.permutation(tokens);
    for (let j = 0; j < k; j++) m[i * tokens + p[j]] = 1;
  }
  return tf.tensor2d(m, [n, tokens]);
}
