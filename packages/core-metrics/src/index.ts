/**
 * Statistics for representations: the distance-correlation family (dcor, dcor2, bcdcor, pdcor, ...),
 * HSIC and CKA, MINE and InfoNCE, accuracy, on `tf.Tensor2D` [n, p] inputs (one example per row) returning
 * `tf.Scalar`s; {@link numeric} has the same statistics on plain arrays (`number[][]`, typed arrays),
 * returning numbers.
 *
 * @module @repro/core-metrics
 */
export {
  dcov2,
  dcor,
  dcor2,
  dcovU,
  bcdcor,
  pdcov,
  pdcor,
  semipartialDcor,
  dcorTest,
  FULL_PATH_MAX_N,
  COLLINEAR_EPS,
} from './dcor';
export type { DcorOptions, DcorTestResult } from './dcor';
export {
  hsic,
  linearCka,
  rbfCka,
  MinibatchCka,
  gram,
  hsicBiasedFromGrams,
  hsicUnbiasedFromGrams,
  uCentreGram,
} from './cka';
export type { HsicOptions, KernelKind, HsicEstimator, MinibatchCkaOptions } from './cka';
export {
  mine,
  infoNce,
  miOverSeeds,
  neuralMiVerdict,
  plateau,
  windowedCurve,
  OVERFIT_MIN_NATS,
  OVERFIT_FRACTION,
} from './mine';
export type { NeuralMiOptions, NeuralMiResult, InfoNceResult, ConvergenceVerdict, MiSeedSpread } from './mine';
export { accuracy, smoothedAccuracy, smoothedAccuracyTrace } from './accuracy';
export type { SmoothedAccuracyOptions } from './accuracy';
export { distanceMatrix, safeSqrt, EXACT_MAX_DIM } from './distance';
export { nonFinite } from './validate';
export * as numeric from './numeric';
export type { MatrixInput, FlatMatrix } from './numeric';
