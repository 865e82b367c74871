/**
 * Model registry and architectures of the four papers, feature taps, save and load, and
 * `compareModels` (torch_cka's layer × layer CKA).
 *
 * @module @repro/models
 */
import './pnn';
import './resnet';
import './mobile';
import './convnet';
import './plaincnn';

export { registerModel, createModel, listModels, getModelSpec } from './registry';
export type { BaseModelOptions, ModelSpec } from './registry';
export type { PnnOptions } from './pnn';
export { PerturbLayer } from './layers/perturb';
export type { PerturbLayerArgs } from './layers/perturb';
export { TorchBatchNorm, torchBatchNorm, addBatchNormWeights } from './layers/torch-batch-norm';
export { TorchMaxPool } from './layers/torch-pool';
export { TorchConv2D } from './layers/torch-conv';
export type { TorchConv2DArgs } from './layers/torch-conv';
export { NoiseLayer } from './layers/noise-layer';
export { SeededDropout, setRandomStep, getRandomStep } from './layers/seeded-dropout';
export { SeedSequence, SliceChannels } from './blocks';
export { saveModel, loadModel } from './io';
export { loadCheckedModel, assertFiniteWeights, describeWeightMismatch, modelJsonPath } from './verify';
export type { CheckedLoadOptions } from './verify';
export { featureModel, layerNames } from './features';
export { foldBatchNorm } from './fold';
export type { FoldedInference } from './fold';
export { plainCnnStages } from './plaincnn';
export type { PlainCnnOptions } from './plaincnn';
export { layerWeightMap } from './weights';
export { HardSwish, HardSigmoid, ChannelScale } from './layers/activations';
export { gradCam } from './gradcam';
export type { GradCamOptions } from './gradcam';
export { compareModels, perMinibatchCka, layerEntries, ckaExport } from './compare';
export type { CompareData, CompareOptions, CompareResult, LayerEntry, PerMinibatchOptions } from './compare';
export {
  TransformerBlock,
  AddPositionEmbedding,
  LayerNorm,
  MaskMerge,
  gelu,
  sincosPositionEmbedding,
} from './layers/transformer';
export type { TransformerBlockArgs } from './layers/transformer';
export { mgdGenerator, ickdEmbed, dpkGenerator, disposeModel } from './distill';
export type { DpkGeneratorOptions } from './distill';
