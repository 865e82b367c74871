/**
 * CKA between the layers of two models on the same (or paired) data: the tool torch_cka is for
 * PyTorch, for any tfjs LayersModel. Features are each tapped layer's whole output flattened per
 * example, as torch_cka and Kornblith et al. do; the statistic is `MinibatchCka` of
 * `@repro/core-metrics` (columns centred before the Gram, float64 sums, every layer's Gram built once
 * per batch and all pairs from one product of the stacked Grams, features of any magnitude rescaled by
 * powers of two so that their float32 Grams neither overflow nor underflow).
 *
 * Differences from torch_cka 0.21, on purpose (see ../README.md):
 *  - layer names are validated (unknown names fail with the valid ones), kept in the caller's order,
 *    and a layer applied at several call sites gives one entry per call site (`name@k`);
 *  - a final partial batch is used when it has ≥ 4 rows; 1-3 rows are an error (torch_cka: NaN), or
 *    dropped with `dropLast`;
 *  - a self-HSIC ≤ 0 or non-finite features are errors that name the layer (torch_cka: an assert on NaN);
 *  - inference mode (BatchNorm moving statistics, no dropout), no gradient tape.
 */
import * as tf from '@tensorflow/tfjs';
import { MinibatchCka } from '@repro/core-metrics';
import { batches, type BatchOptions, type ImageDataset } from '@repro/datasets';

/** Examples along axis 0 as a tensor, or a dataset of `@repro/datasets` (converted batch by batch). */
export type CompareData = tf.Tensor | ImageDataset;

export interface CompareOptions {
  /** Layers of A in the order wanted (default: every layer with an output, up to `maxLayers`). */
  layersA?: string[];
  layersB?: string[];
  data: CompareData;
  /** B's data, paired example by example with A's (default: A's data). */
  dataB?: CompareData;
  batchSize: number;
  /** 'debiased' (default, torch_cka's unbiased HSIC) or 'biased' (Gretton's HSIC_0). */
  estimator?: 'debiased' | 'biased';
  /** 'equal' (default, torch_cka) or 'size' (batches weighted as the official TF MinibatchCKA). */
  weighting?: 'equal' | 'size';
  nameA?: string;
  nameB?: string;
  /** Drop a last batch of 1-3 rows instead of failing (default false). */
  dropLast?: boolean;
  /** When data and dataB differ in length: 'error' (default) or 'truncate' to the shorter (torch_cka's zip). */
  lengthMismatch?: 'error' | 'truncate';
  /** How dataset batches become tensors (normalisation, padding, channels); ignored for tensors. */
  batchOptions?: Omit<BatchOptions, 'batchSize' | 'shuffle' | 'augment' | 'dropLast'>;
  /** Cap on the default layer lists (torch_cka warns above 150 modules). Default 150. */
  maxLayers?: number;
  /** Called after each batch. */
  onBatch?: (done: number, total: number) => void;
}

export interface CompareResult {
  /** CKA, rows = layers of A, columns = layers of B. */
  matrix: number[][];
  layersA: string[];
  layersB: string[];
  modelNames: [string, string];
  dataNames: [string, string];
  /** Batches used (a final partial batch of ≥ 4 rows counts). */
  batches: number;
  examples: number;
  estimator: 'debiased' | 'biased';
  weighting: 'equal' | 'size';
}

/** One tappable output: a layer at one call site (and one output of a multi-output layer). */
export interface LayerEntry {
  /** `layer`, `layer@k` for call site k of a layer applied more than once, `…:i` for output i */
  name: string;
  layer: string;
  tensor: tf.SymbolicTensor;
}

type NodeLike = { outputTensors: tf.SymbolicTensor[] };

/** Every layer output of a model, by call site, in the model's layer order (input layers included). */
export function layerEntries(model: tf.LayersModel): LayerEntry[] {
  const out: LayerEntry[] = [];
  const inputs = new Set(model.inputs.map((i) => i.id));
  for (const layer of model.layers) {
    const nodes = ((layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes ?? []).filter(
      (n) => n.outputTensors.length > 0,
    );
    // a layer shared with another model has nodes of that graph too: keep the ones this model built
    const mine = nodes.filter((n) => n.outputTensors.every((t) => fromInputs(t, inputs)));
    mine.forEach((node, k) => {
      node.outputTensors.forEach((t, i) => {
        const site = mine.length > 1 ? `${layer.name}@${k}` : layer.name;
        out.push({ name: node.outputTensors.length > 1 ? `${site}:${i}` : site, layer: layer.name, tensor: t });
      });
    });
  }
  return out;
}

/** Whether a symbolic tensor descends from one of the given inputs (walks its producing nodes). */
function fromInputs(t: tf.SymbolicTensor, inputs: Set<number>): boolean {
  const seen = new Set<number>();
  const stack = [t];
  while (stack.length) {
    const s = stack.pop()!;
    if (inputs.has(s.id)) return true;
    if (seen.has(s.id)) continue;
    seen.add(s.id);
    const src = s.sourceLayer as unknown as { inboundNodes?: Array<{ inputTensors: tf.SymbolicTensor[] }> } | undefined;
    const node = src?.inboundNodes?.[s.nodeIndex];
    if (node) stack.push(...node.inputTensors);
  }
  return false;
}

function isInputLayer(model: tf.LayersModel, e: LayerEntry): boolean {
  return model.getLayer(e.layer).getClassName() === 'InputLayer';
}

/** The entries for the names asked for (a multi-site layer's plain name means all its sites), or the defaults. */
function selectEntries(
  model: tf.LayersModel,
  side: 'A' | 'B',
  names: string[] | undefined,
  maxLayers: number,
): LayerEntry[] {
  const all = layerEntries(model);
  if (names === undefined) {
    const candidates = all.filter((e) => !isInputLayer(model, e));
    if (candidates.length > maxLayers)
      process.stderr.write(
        `[compareModels] model ${side} (${model.name}) has ${candidates.length} layer outputs; comparing the first ${maxLayers} (pass layers${side} to choose)\n`,
      );
    return candidates.slice(0, maxLayers);
  }
  if (names.length === 0) throw new Error(`compareModels: layers${side} is empty`);
  const picked: LayerEntry[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const exact = all.filter((e) => e.name === n);
    const byLayer = all.filter((e) => e.layer === n);
    const hit = exact.length ? exact : byLayer;
    if (hit.length === 0) unknown.push(n);
    picked.push(...hit);
  }
  if (unknown.length)
    throw new Error(
      `compareModels: model ${side} (${model.name}) has no layer ${unknown.map((u) => `'${u}'`).join(', ')}; valid names: ${all.map((e) => e.name).join(', ')}`,
    );
  return picked;
}

function dataLength(d: CompareData): number {
  return d instanceof tf.Tensor ? (d.shape[0] ?? 0) : d.size;
}

function dataName(d: CompareData): string {
  return d instanceof tf.Tensor ? `tensor [${d.shape.join(', ')}]` : `${d.name}:${d.split}`;
}

/** Example batches [start, end) of one data source as float32 tensors (the caller disposes them). */
function* batchTensors(
  d: CompareData,
  n: number,
  batchSize: number,
  batchOptions: CompareOptions['batchOptions'],
): Generator<tf.Tensor, void, undefined> {
  if (d instanceof tf.Tensor) {
    for (let s = 0; s < n; s += batchSize) {
      const size = Math.min(batchSize, n - s);
      yield tf.tidy(() => tf.cast(tf.slice(d, [s], [size]), 'float32'));
    }
    return;
  }
  let s = 0;
  for (const b of batches(d, { ...batchOptions, batchSize })) {
    b.y.dispose();
    if (s >= n) {
      b.x.dispose();
      return;
    }
    const size = Math.min(b.x.shape[0], n - s);
    if (size < b.x.shape[0]) {
      const cut = tf.slice(b.x, [0], [size]);
      b.x.dispose();
      yield cut;
    } else yield b.x;
    s += size;
  }
}

function nextTensor(it: Generator<tf.Tensor, void, undefined>): tf.Tensor | undefined {
  const r = it.next();
  return r.done ? undefined : r.value;
}

interface Plan {
  n: number;
  total: number;
  last: number;
}

/** Checks the batch size and data lengths; how many batches run and how big the last one is. */
function plan(fn: string, opts: CompareOptions): Plan {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 4)
    throw new Error(`${fn}: batchSize must be an integer >= 4 (HSIC needs n >= 4 per batch), got ${batchSize}`);
  const na = dataLength(opts.data);
  const nb = opts.dataB ? dataLength(opts.dataB) : na;
  let n = na;
  if (na !== nb) {
    if ((opts.lengthMismatch ?? 'error') === 'error')
      throw new Error(
        `${fn}: data has ${na} examples and dataB ${nb}; pair them example by example (same length) or pass lengthMismatch: 'truncate' to use the first ${Math.min(na, nb)}`,
      );
    n = Math.min(na, nb);
  }
  if (n < 4) throw new Error(`${fn}: ${n} examples; at least 4 are needed`);
  const rem = n % batchSize;
  if (rem > 0 && rem < 4 && !opts.dropLast)
    throw new Error(
      `${fn}: the last batch would have ${rem} example${rem === 1 ? '' : 's'} (${n} examples, batch size ${batchSize}); HSIC needs n >= 4 per batch: choose another batch size or pass dropLast`,
    );
  const full = Math.floor(n / batchSize);
  const total = rem >= 4 ? full + 1 : full;
  return { n: rem >= 4 ? n : full * batchSize, total, last: rem >= 4 ? rem : batchSize };
}

function tapModel(model: tf.LayersModel, entries: LayerEntry[], side: string): tf.LayersModel {
  if (model.inputs.length !== 1)
    throw new Error(`compareModels: model ${side} (${model.name}) has ${model.inputs.length} inputs; one is supported`);
  try {
    return tf.model({ inputs: model.inputs, outputs: entries.map((e) => e.tensor) });
  } catch (err) {
    throw new Error(
      `compareModels: cannot tap the layers of model ${side} (${model.name}): ${(err as Error).message.split('\n')[0]} (a layer that is not on the path from the input never produces an output)`,
      { cause: err },
    );
  }
}

function runTaps(fm: tf.LayersModel, x: tf.Tensor): tf.Tensor[] {
  const out = fm.predict(x, { batchSize: x.shape[0] });
  return Array.isArray(out) ? out : [out];
}

/** Renames `featuresA[i]` in a MinibatchCka error to the layer it is. */
function withLayerNames(err: Error, a: LayerEntry[], b: LayerEntry[]): Error {
  const msg = err.message.replace(/features([AB])\[(\d+)\]/g, (_m, side: string, i: string) => {
    const e = (side === 'A' ? a : b)[Number(i)];
    return e ? `layer '${e.name}' of model ${side}` : _m;
  });
  return new Error(msg.replace('MinibatchCka.update', 'compareModels'));
}

/**
 * The one batch loop of compareModels and perMinibatchCka: paired batches of A's and B's data
 * through the tap models, `use(featuresA, featuresB)` per batch (a MinibatchCka error renamed to
 * the layer), every tensor freed. `use` returns false to stop. Returns the number of batches used.
 */
function forEachFeatureBatch(
  taps: { fa: tf.LayersModel; fb: tf.LayersModel; entriesA: LayerEntry[]; entriesB: LayerEntry[] },
  opts: CompareOptions,
  p: Plan,
  use: (a: tf.Tensor[], b: tf.Tensor[]) => boolean | void,
): number {
  const dataB = opts.dataB ?? opts.data;
  const itA = batchTensors(opts.data, p.n, opts.batchSize, opts.batchOptions);
  const itB = dataB === opts.data ? undefined : batchTensors(dataB, p.n, opts.batchSize, opts.batchOptions);
  let done = 0;
  try {
    for (const xa of itA) {
      const xb = itB ? nextTensor(itB) : undefined;
      let more: boolean | void = true;
      try {
        const [a, b] = tf.tidy(() => [runTaps(taps.fa, xa), runTaps(taps.fb, xb ?? xa)] as const);
        try {
          more = use(a, b);
        } catch (err) {
          throw withLayerNames(err as Error, taps.entriesA, taps.entriesB);
        } finally {
          tf.dispose([...a, ...b]);
        }
      } finally {
        xa.dispose();
        if (xb) xb.dispose();
      }
      done++;
      if (more === false) break;
    }
  } finally {
    itA.return(undefined);
    itB?.return(undefined);
  }
  return done;
}

/**
 * CKA of every selected layer of A with every selected layer of B (torch_cka's `CKA.compare`, see
 * the module comment for where it differs). Tensors are freed batch by batch; nothing leaks.
 * `ckaExport` gives torch_cka's `export()`; the files and heatmap of its `plot_results` are
 * `writeCkaFiles` in `@repro/experiments` (beside the plotting it draws with).
 */
export function compareModels(modelA: tf.LayersModel, modelB: tf.LayersModel, opts: CompareOptions): CompareResult {
  const maxLayers = opts.maxLayers ?? 150;
  const entriesA = selectEntries(modelA, 'A', opts.layersA, maxLayers);
  const entriesB = selectEntries(modelB, 'B', opts.layersB, maxLayers);
  const p = plan('compareModels', opts);
  const nameA = opts.nameA ?? modelA.name;
  const nameB = opts.nameB ?? modelB.name;
  const fa = tapModel(modelA, entriesA, 'A');
  const fb = tapModel(modelB, entriesB, 'B');
  const cka = new MinibatchCka({ weighting: opts.weighting, estimator: opts.estimator });
  const dataB = opts.dataB ?? opts.data;
  const done = forEachFeatureBatch({ fa, fb, entriesA, entriesB }, opts, p, (a, b) => {
    cka.update(a, b);
    opts.onBatch?.(cka.count, p.total);
  });
  const self = cka.selfHsic();
  for (const [side, entries, values] of [
    ['A', entriesA, self.a],
    ['B', entriesB, self.b],
  ] as const) {
    const bad = values.findIndex((v) => !(v > 0));
    if (bad >= 0)
      throw new Error(
        `compareModels: layer '${entries[bad].name}' of model ${side} has self-HSIC ${values[bad]} <= 0 over ${done} batches (constant or nearly constant features): CKA is undefined for it; leave it out`,
      );
  }
  return {
    matrix: cka.result(),
    layersA: entriesA.map((e) => e.name),
    layersB: entriesB.map((e) => e.name),
    modelNames: [nameA, nameB],
    dataNames: [dataName(opts.data), dataName(dataB)],
    batches: done,
    examples: p.n,
    estimator: cka.estimator,
    weighting: cka.weighting,
  };
}

export interface PerMinibatchOptions extends Omit<
  CompareOptions,
  'layersA' | 'layersB' | 'weighting' | 'maxLayers' | 'nameA' | 'nameB'
> {
  layerA: string;
  layerB: string;
  /** Stop after this many minibatches (the seed's figure uses 400). Default: all. */
  maxBatches?: number;
}

/**
 * One CKA value per minibatch for one layer pair (each minibatch on its own: its HSIC_1 ratio), in
 * data order, as the DPK rebuttal's figure uses them (sorted, drawn as a square image).
 */
export function perMinibatchCka(modelA: tf.LayersModel, modelB: tf.LayersModel, opts: PerMinibatchOptions): number[] {
  const entriesA = selectEntries(modelA, 'A', [opts.layerA], 1);
  const entriesB = selectEntries(modelB, 'B', [opts.layerB], 1);
  if (entriesA.length !== 1 || entriesB.length !== 1)
    throw new Error(
      `perMinibatchCka: layerA/layerB must name one output each; '${opts.layerA}' gives ${entriesA.map((e) => e.name).join(', ')}, '${opts.layerB}' gives ${entriesB.map((e) => e.name).join(', ')}`,
    );
  const p = plan('perMinibatchCka', opts);
  const fa = tapModel(modelA, entriesA, 'A');
  const fb = tapModel(modelB, entriesB, 'B');
  const values: number[] = [];
  const limit = opts.maxBatches ?? Infinity;
  forEachFeatureBatch({ fa, fb, entriesA, entriesB }, opts, p, (a, b) => {
    const cka = new MinibatchCka({ estimator: opts.estimator });
    cka.update(a, b);
    const self = cka.selfHsic();
    if (!(self.a[0] > 0) || !(self.b[0] > 0))
      throw new Error(
        `perMinibatchCka: minibatch ${values.length} has self-HSIC ${self.a[0]} (A '${entriesA[0].name}') and ${self.b[0]} (B '${entriesB[0].name}'); CKA is undefined when either is <= 0`,
      );
    values.push(cka.result()[0][0]);
    opts.onBatch?.(values.length, Math.min(p.total, limit));
    return values.length < limit;
  });
  return values;
}

/** torch_cka's `export()` fields (snake_case as there), for JSON and CSV files. */
export function ckaExport(r: CompareResult): {
  model1_name: string;
  model2_name: string;
  CKA: number[][];
  model1_layers: string[];
  model2_layers: string[];
  dataset1_name: string;
  dataset2_name: string;
  estimator: string;
  weighting: string;
  batches: number;
  examples: number;
} {
  return {
    model1_name: r.modelNames[0],
    model2_name: r.modelNames[1],
    CKA: r.matrix,
    model1_layers: r.layersA,
    model2_layers: r.layersB,
    dataset1_name: r.dataNames[0],
    dataset2_name: r.dataNames[1],
    estimator: r.estimator,
    weighting: r.weighting,
    batches: r.batches,
    examples: r.examples,
  };
}
