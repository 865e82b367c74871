/**
 * The model registry (the timm pattern): each architecture file registers its variants at load;
 * callers use createModel(name, opts); the contract tests iterate listModels().
 */
import * as tf from '@tensorflow/tfjs';

export interface BaseModelOptions {
  /** [height, width, channels] */
  inputShape: [number, number, number];
  numClasses: number;
  /** Base width (the reference code's --nfilters). */
  nfilters?: number;
  seed?: number;
}

export interface ModelSpec<O extends BaseModelOptions = BaseModelOptions> {
  readonly name: string;
  readonly description: string;
  /** BibTeX key or repository the architecture follows. */
  readonly source: string;
  readonly defaults: Partial<O>;
  /** Small options for the contract tests (build, forward, gradients, save/load). */
  readonly testOptions: O;
  readonly build: (opts: O) => tf.LayersModel;
}

/** Each spec has its own options type; the registry erases it to the common base (options are checked by each build). */
const REGISTRY = new Map<string, ModelSpec>();

export function registerModel<O extends BaseModelOptions>(spec: ModelSpec<O>): void {
  if (REGISTRY.has(spec.name)) throw new Error(`registerModel: '${spec.name}' is already registered`);
  REGISTRY.set(spec.name, spec as unknown as ModelSpec);
}

export function listModels(): string[] {
  return [...REGISTRY.keys()].sort();
}

export function getModelSpec(name: string): ModelSpec {
  const spec = REGISTRY.get(name);
  if (!spec) throw new Error(`unknown model '${name}'; known models: ${listModels().join(', ')}`);
  return spec;
}

/** Builds a registered model; options not given take the spec's defaults. */
export function createModel<O extends BaseModelOptions = BaseModelOptions>(
  name: string,
  opts: Partial<O> & Pick<BaseModelOptions, 'inputShape' | 'numClasses'>,
): tf.LayersModel {
  const spec = getModelSpec(name);
  const merged = { seed: 0, ...spec.defaults, ...opts } as O;
  const [h, w, c] = merged.inputShape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`createModel(${name}): bad inputShape [${merged.inputShape.join(', ')}]`);
  if (!Number.isInteger(merged.numClasses) || merged.numClasses < 2)
    throw new Error(`createModel(${name}): numClasses must be an integer >= 2, got ${merged.numClasses}`);
  return spec.build(merged);
}
