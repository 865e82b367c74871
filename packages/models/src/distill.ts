/**
 * The extra networks of feature distillation (trained with the student, discarded after):
 * - mgdGenerator (MGD, Yang et al. ECCV 2022, mgd.py): a 1×1 align conv when the student's channels
 *   differ from the teacher's, the random channel mask (a second input [1, 1, C_T] of 0/1, drawn by the
 *   caller), then the generator conv3×3 → ReLU → conv3×3 in teacher channels.
 * - ickdEmbed (ICKD, Liu et al. ICCV 2021, ICKD.py): conv1×1 (C_S → C_T, no bias) + BN.
 * - dpkGenerator (DPK, Qiu et al., "Better Teacher Better Student", as its own code implements it,
 *   modeling_pretrain.py PretrainVisionTransformer.forward(x, y, mask)): feature maps as tokens (patch 1,
 *   one token per position); a student ViT encoder over the student tokens at the unmasked positions, a
 *   teacher encoder over the teacher tokens at the masked positions, one shared linear encoder→decoder
 *   projection, fixed sine-cosine position embeddings, the two token sets merged back into the full grid
 *   (every position holds a student or a teacher token, no mask tokens), a ViT decoder and a linear head
 *   predicting every token in teacher channels. Inputs [student tokens [N, C_S], teacher tokens [N, C_T],
 *   mask [N] (1 = masked: the teacher's token)]; output [N, C_T].
 */
import * as tf from '@tensorflow/tfjs';
import { SeedSequence, Sym, bn, conv } from './blocks';
import { AddPositionEmbedding, LayerNorm, MaskMerge, TransformerBlock } from './layers/transformer';
import { ChannelScale } from './layers/activations';

export function mgdGenerator(o: {
  /** Student map [h, w, C_S]. */
  studentShape: [number, number, number];
  teacherChannels: number;
  seed?: number;
  name?: string;
}): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const ct = o.teacherChannels;
  const s = tf.input({ shape: o.studentShape, name: 'student' });
  const mask = tf.input({ shape: [1, 1, ct], name: 'channel_mask' });
  const aligned =
    o.studentShape[2] !== ct
      ? conv(s, seeds, { filters: ct, kernel: 1, bias: true, init: 'torch-default', name: 'align' })
      : s;
  const masked = new ChannelScale({}).apply([aligned, mask]) as Sym;
  let g = conv(masked, seeds, { filters: ct, kernel: 3, pad: 1, bias: true, init: 'torch-default' });
  g = tf.layers.reLU({}).apply(g) as Sym;
  g = conv(g, seeds, { filters: ct, kernel: 3, pad: 1, bias: true, init: 'torch-default', name: 'generation' });
  return tf.model({ inputs: [s, mask], outputs: g, name: o.name ?? 'mgd_generator' });
}

export function ickdEmbed(o: {
  studentShape: [number, number, number];
  teacherChannels: number;
  seed?: number;
  name?: string;
}): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const s = tf.input({ shape: o.studentShape, name: 'student' });
  const e = bn(
    conv(s, seeds, { filters: o.teacherChannels, kernel: 1, bias: false, init: 'torch-default' }),
    'embed_bn',
  );
  return tf.model({ inputs: s, outputs: e, name: o.name ?? 'ickd_embed' });
}

export interface DpkGeneratorOptions {
  /** Feature-map grid [h, w]: h·w tokens. */
  grid: [number, number];
  studentChannels: number;
  teacherChannels: number;
  /** Encoder width (DPK ImageNet stage 4: 512). */
  encoderDim: number;
  /** Decoder width (512). */
  decoderDim: number;
  /** Blocks per encoder (6) and in the decoder (4). */
  encoderDepth: number;
  decoderDepth: number;
  heads: number;
  mlpRatio?: number;
  seed?: number;
  name?: string;
}

const xavierDense = (units: number, seeds: SeedSequence, name?: string) =>
  tf.layers.dense({
    units,
    name,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.next() }),
    biasInitializer: tf.initializers.zeros(),
  });

export function dpkGenerator(o: DpkGeneratorOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const n = o.grid[0] * o.grid[1];
  const s = tf.input({ shape: [n, o.studentChannels], name: 'student_tokens' });
  const t = tf.input({ shape: [n, o.teacherChannels], name: 'teacher_tokens' });
  const m = tf.input({ shape: [n], name: 'mask' });
  const encoder = (x: Sym, keys: 'unmasked' | 'masked', who: string): Sym => {
    let h = xavierDense(o.encoderDim, seeds, `${who}_patch_embed`).apply(x) as Sym;
    h = new AddPositionEmbedding({ grid: o.grid }).apply(h) as Sym;
    for (let k = 0; k < o.encoderDepth; k++)
      h = new TransformerBlock({
        dim: o.encoderDim,
        heads: o.heads,
        mlpRatio: o.mlpRatio,
        keys,
        seed: seeds.next(),
        name: `${who}_block${k}`,
      }).apply([h, m]) as Sym;
    return new LayerNorm({ name: `${who}_norm` }).apply(h) as Sym;
  };
  const toDecoder = xavierDense(o.decoderDim, seeds, 'encoder_to_decoder');
  const fromStudent = toDecoder.apply(encoder(s, 'unmasked', 'student')) as Sym;
  const fromTeacher = toDecoder.apply(encoder(t, 'masked', 'teacher')) as Sym;
  let d = new MaskMerge({}).apply([fromTeacher, fromStudent, m]) as Sym;
  d = new AddPositionEmbedding({ grid: o.grid }).apply(d) as Sym;
  for (let k = 0; k < o.decoderDepth; k++)
    d = new TransformerBlock({
      dim: o.decoderDim,
      heads: o.heads,
      mlpRatio: o.mlpRatio,
      seed: seeds.next(),
      name: `decoder_block${k}`,
    }).apply(d) as Sym;
  d = new LayerNorm({ name: 'decoder_norm' }).apply(d) as Sym;
  const out = xavierDense(o.teacherChannels, seeds, 'head').apply(d) as Sym;
  return tf.model({ inputs: [s, t, m], outputs: out, name: o.name ?? 'dpk_generator' });
}

/**
 * Disposes a model and every weight it holds. tfjs's LayersModel.dispose frees a layer's weights when
 * its reference count reaches 0, but a layer applied at two call sites of one model (DPK's shared
 * encoder→decoder projection) keeps a count of 1 and its weights would leak.
 */
export function disposeModel(model: tf.LayersModel): void {
  const vars = model.weights.map((w) => (w as unknown as { val: tf.Variable }).val);
  model.dispose();
  for (const v of vars) if (!v.isDisposed) v.dispose();
}
