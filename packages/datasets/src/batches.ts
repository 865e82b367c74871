/**
 * Batches as tensors, made lazily: each batch is converted from uint8 to float32 on the fly
 * (normalisation, padding, grey→RGB and seeded augmentation included), so the whole dataset never
 * exists as a float tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@repro/runtime';
import { ImageDataset, exampleBytes } from './dataset';

export interface Augmentation {
  /** Random crop after zero-padding each side by this many pixels (CIFAR: 4). */
  cropPadding?: number;
  /** Random horizontal flip with probability 0.5. */
  horizontalFlip?: boolean;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this generator (one permutation per call); unshuffled when absent. */
  shuffle?: Rng;
  /** Augment with this generator. */
  augment?: Augmentation & { rng: Rng };
  /** Per-channel mean and std on the [0,1] scale; pixels become (x/255 − mean)/std. Default: x/255. */
  normalize?: { mean: readonly number[]; std: readonly number[] };
  /** Zero-pad (after normalisation: with the normalised value of black) to this square size, e.g. 28 → 32. */
  padTo?: number;
  /** Output channels: 3 repeats a grey channel. Default: the dataset's. */
  channels?: 1 | 3;
  /** Drop a last incomplete batch. Default false. */
  dropLast?: boolean;
}

export interface Batch {
  /** [b, h, w, c] float32 */
  x: tf.Tensor4D;
  /** [b] int32 labels */
  y: tf.Tensor1D;
  /** Dataset indices of the examples, in batch order. */
  indices: Int32Array;
}

export function batchCount(ds: ImageDataset, opts: Pick<BatchOptions, 'batchSize' | 'dropLast'>): number {
  return opts.dropLast ? Math.floor(ds.size / opts.batchSize) : Math.ceil(ds.size / opts.batchSize);
}

/** Output [h, w, c] of batches made with these options. */
export function batchShape(ds: ImageDataset, opts: Pick<BatchOptions, 'padTo' | 'channels'>): [number, number, number] {
  const [h, w, c] = ds.shape;
  const size = opts.padTo ?? 0;
  if (opts.padTo !== undefined && (opts.padTo < h || opts.padTo < w)) {
    throw new Error(`padTo ${opts.padTo} is smaller than the ${h}x${w} images of ${ds.name}`);
  }
  const outC = opts.channels ?? c;
  if (outC !== c && !(c === 1 && outC === 3))
    throw new Error(`cannot turn ${c}-channel ${ds.name} images into ${outC} channels`);
  return [Math.max(h, size), Math.max(w, size), outC];
}

/**
 * Fills `out` (b·H·W·C float32) with the examples `idx`, applying padding, channel repetition,
 * normalisation and augmentation. Exposed for workers that build batches outside tfjs.
 */
export function fillBatch(ds: ImageDataset, idx: ArrayLike<number>, opts: BatchOptions, out: Float32Array): void {
  const [h, w, c] = ds.shape;
  const [H, W, C] = batchShape(ds, opts);
  const offY = Math.floor((H - h) / 2);
  const offX = Math.floor((W - w) / 2);
  const mean = opts.normalize?.mean ?? new Array<number>(c).fill(0);
  const std = opts.normalize?.std ?? new Array<number>(c).fill(1);
  if (mean.length !== c || std.length !== c) {
    throw new Error(`normalize: ${mean.length} means / ${std.length} stds for ${c}-channel ${ds.name}`);
  }
  const scale = std.map((s) => 1 / (255 * s));
  const black = mean.map((m, k) => 0 - m / std[k] + 0); // + 0 turns -0 into 0
  const aug = opts.augment;
  const pad = aug?.cropPadding ?? 0;
  const per = H * W * C;
  for (let b = 0; b < idx.length; b++) {
    const px = exampleBytes(ds, idx[b]);
    // random crop = shift the (padded) image by (dy, dx) in [-pad, pad]; random flip = mirror x
    const dy = pad > 0 ? aug!.rng.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? aug!.rng.int(2 * pad + 1) - pad : 0;
    const flip = aug?.horizontalFlip ? aug.rng.next() < 0.5 : false;
    const base = b * per;
    for (let y = 0; y < H; y++) {
      const sy = y - offY + dy;
      for (let x = 0; x < W; x++) {
        const xx = flip ? W - 1 - x : x;
        const sx = xx - offX + dx;
        const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        const o = base + (y * W + x) * C;
        for (let k = 0; k < C; k++) {
          const sc = c === 1 ? 0 : k;
          out[o + k] = inside ? px[(sy * w + sx) * c + sc] * scale[sc] - mean[sc] / std[sc] : black[sc];
        }
      }
    }
  }
}

/** Yields batches of tensors; the caller disposes `x` and `y` of each batch. */
export function* batches(ds: ImageDataset, opts: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const order = opts.shuffle ? opts.shuffle.permutation(ds.size) : Int32Array.from({ length: ds.size }, (_, i) => i);
  const [H, W, C] = batchShape(ds, opts);
  const count = batchCount(ds, opts);
  for (let k = 0; k < count; k++) {
    const indices = order.slice(k * opts.batchSize, Math.min(ds.size, (k + 1) * opts.batchSize));
    const data = new Float32Array(indices.length * H * W * C);
    fillBatch(ds, indices, opts, data);
    const labels = new Int32Array(indices.length);
    for (let b = 0; b < indices.length; b++) labels[b] = ds.labels[indices[b]]!;
    yield { x: tf.tensor4d(data, [indices.length, H, W, C]), y: tf.tensor1d(labels, 'int32'), indices };
  }
}
