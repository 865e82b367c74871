import './pnn';
import './resnet';
import './mobile';

export { registerModel, createModel, listModels, getModelSpec } from './registry';
export type { BaseModelOptions, ModelSpec } from './registry';
export type { PnnOptions } from './pnn';
export { PerturbLayer } from './layers/perturb';
export type { PerturbLayerArgs } from './layers/perturb';
export { TorchBatchNorm, torchBatchNorm, addBatchNormWeights } from './layers/torch-batch-norm';
export { TorchMaxPool } from './layers/torch-pool';
export { NoiseLayer } from './layers/noise-layer';
export { SeededDropout, setRandomStep, getRandomStep } from './layers/seeded-dropout';
export { SeedSequence, SliceChannels } from './blocks';
export { saveModel, loadModel } from './io';
export { featureModel, layerNames } from './features';
export { layerWeightMap } from './weights';
export { HardSwish, HardSigmoid, ChannelScale } from './layers/activations';
