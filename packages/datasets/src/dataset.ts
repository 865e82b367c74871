/**
 * The in-memory dataset type: uint8 images in HWC order plus integer labels. Batches become float
 * tensors one at a time (see ./batches.ts), never the whole set at once.
 */
export interface ImageDataset {
  /** e.g. 'fashion-mnist', 'cifar10', 'cifar100', 'cinic10' */
  readonly name: string;
  /** e.g. 'train', 'test', 'valid' */
  readonly split: string;
  /** Number of examples. */
  readonly size: number;
  /** [height, width, channels] */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** size × h × w × c bytes, example-major, HWC; empty for a file-backed dataset (see readExample). */
  readonly images: Uint8Array;
  /**
   * File-backed datasets (ImageNet's preprocessed cache): example i's h × w × c bytes, read on demand.
   * The view is valid until the next call. Use `exampleBytes`, which handles both kinds.
   */
  readonly readExample?: (i: number) => Uint8Array;
  /** size labels in [0, numClasses). */
  readonly labels: Int32Array;
  /** CIFAR-100 only: the 20 superclass labels. */
  readonly coarseLabels?: Int32Array;
  readonly coarseClassNames?: readonly string[];
  /** Where it was read from (for run records). */
  readonly source: string;
}

export function exampleSize(ds: Pick<ImageDataset, 'shape'>): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** Example i's h × w × c bytes (a view: copy it to keep it past the next read of a file-backed dataset). */
export function exampleBytes(ds: ImageDataset, i: number): Uint8Array {
  if (ds.readExample) return ds.readExample(i);
  const e = exampleSize(ds);
  return ds.images.subarray(i * e, (i + 1) * e);
}

/** Checks internal consistency; throws an error naming the dataset and what is wrong. */
export function validateDataset(ds: ImageDataset): ImageDataset {
  const where = `${ds.name}/${ds.split} (${ds.source})`;
  if (!ds.readExample && ds.images.length !== ds.size * exampleSize(ds)) {
    throw new Error(`${where}: ${ds.images.length} image bytes for ${ds.size} examples of shape ${ds.shape.join('x')}`);
  }
  if (ds.labels.length !== ds.size) throw new Error(`${where}: ${ds.labels.length} labels for ${ds.size} examples`);
  if (ds.classNames.length !== ds.numClasses) {
    throw new Error(`${where}: ${ds.classNames.length} class names for ${ds.numClasses} classes`);
  }
  for (let i = 0; i < ds.size; i++) {
    const l = ds.labels[i];
    if (l < 0 || l >= ds.numClasses)
      throw new Error(`${where}: label ${l} of example ${i} is outside [0, ${ds.numClasses})`);
  }
  return ds;
}

/** Examples at `indices`, in that order (a new dataset; image bytes copied). */
export function takeIndices(ds: ImageDataset, indices: ArrayLike<number>, split = ds.split): ImageDataset {
  const e = exampleSize(ds);
  const images = new Uint8Array(indices.length * e);
  const labels = new Int32Array(indices.length);
  const coarse = ds.coarseLabels ? new Int32Array(indices.length) : undefined;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (i < 0 || i >= ds.size)
      throw new Error(`takeIndices: index ${i} outside [0, ${ds.size}) of ${ds.name}/${ds.split}`);
    images.set(exampleBytes(ds, i), k * e);
    labels[k] = ds.labels[i]!;
    if (coarse) coarse[k] = ds.coarseLabels![i]!;
  }
  const { readExample: _file, ...rest } = ds;
  return { ...rest, split, size: indices.length, images, labels, ...(coarse ? { coarseLabels: coarse } : {}) };
}

/** The first `k` examples of each class, in dataset order (fewer where a class has fewer). */
export function firstKPerClass(ds: ImageDataset, k: number): ImageDataset {
  const counts = new Array<number>(ds.numClasses).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) {
    const l = ds.labels[i];
    if (counts[l] < k) {
      counts[l]++;
      keep.push(i);
    }
  }
  return takeIndices(ds, keep);
}

/**
 * Only the examples of `classes`, relabelled 0..classes.length-1 in the given order
 * (e.g. [0,1,2,3,4] vs [5,6,7,8,9] for transfer experiments).
 */
export function selectClasses(ds: ImageDataset, classes: readonly number[]): ImageDataset {
  const map = new Map<number, number>();
  classes.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= ds.numClasses) {
      throw new Error(`selectClasses: class ${c} is not in [0, ${ds.numClasses}) of ${ds.name}`);
    }
    map.set(c, i);
  });
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) if (map.has(ds.labels[i])) keep.push(i);
  const sub = takeIndices(ds, keep);
  const labels = sub.labels.map((l) => map.get(l)!);
  const { coarseLabels: _c, coarseClassNames: _n, ...rest } = sub;
  return {
    ...rest,
    name: `${ds.name}[${classes.join(',')}]`,
    numClasses: classes.length,
    classNames: classes.map((c) => ds.classNames[c]),
    labels,
  };
}

/** Per-channel mean and standard deviation of the pixels, on the [0, 1] scale. */
export function channelStats(ds: ImageDataset): { mean: number[]; std: number[] } {
  const c = ds.shape[2];
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const n = ds.size * ds.shape[0] * ds.shape[1];
  for (let k = 0; k < ds.size; k++) {
    const px = exampleBytes(ds, k);
    for (let i = 0; i < px.length; i++) {
      const v = px[i] / 255;
      sum[i % c] += v;
      sq[i % c] += v * v;
    }
  }
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(0, s / n - mean[k] ** 2)));
  return { mean, std };
}

/**
 * The same examples with coarser labels: example i gets `groups.findIndex(g => g.includes(label))`
 * (e.g. Fashion-MNIST's ten classes into "upper-body garments" vs "the rest"). Every class must be in
 * exactly one group; `names` labels the groups.
 */
export function groupClasses(
  ds: ImageDataset,
  groups: readonly (readonly number[])[],
  names: readonly string[],
): ImageDataset {
  if (names.length !== groups.length)
    throw new Error(`groupClasses: ${groups.length} groups but ${names.length} names`);
  const map = new Int32Array(ds.numClasses).fill(-1);
  groups.forEach((g, k) =>
    g.forEach((c) => {
      if (!Number.isInteger(c) || c < 0 || c >= ds.numClasses)
        throw new Error(`groupClasses: class ${c} is not in [0, ${ds.numClasses}) of ${ds.name}`);
      if (map[c] >= 0) throw new Error(`groupClasses: class ${c} is in two groups`);
      map[c] = k;
    }),
  );
  const missing = [...map.keys()].filter((c) => map[c] < 0);
  if (missing.length) throw new Error(`groupClasses: classes ${missing.join(', ')} of ${ds.name} are in no group`);
  const { coarseLabels: _c, coarseClassNames: _n, ...rest } = ds;
  return {
    ...rest,
    name: `${ds.name} grouped into ${names.join(' / ')}`,
    numClasses: groups.length,
    classNames: [...names],
    labels: ds.labels.map((l) => map[l]),
  };
}

/** The examples whose position in the dataset is in [from, to) within their class (per-class ranks). */
export function perClassRange(ds: ImageDataset, from: number, to: number): ImageDataset {
  const counts = new Array<number>(ds.numClasses).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) {
    const l = ds.labels[i];
    const r = counts[l]++;
    if (r >= from && r < to) keep.push(i);
  }
  return takeIndices(ds, keep);
}
