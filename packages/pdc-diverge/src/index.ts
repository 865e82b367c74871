export {
  PAPER_RUNS,
  CPU_RUNS,
  ALL_RUNS,
  CPU_EPOCHS,
  CPU_TRAIN_PER_CLASS,
  NET_COLORS,
  STAT_COLORS,
  divergeStyles,
} from './runs';
export type { DivergeRun } from './runs';
export { PUBLISHED, CLAIMS, MEASURED, TABLE1, TABLE2, TABLE2_ACCURACY, TABLES34 } from './published';
export {
  trainDivergeRun,
  resolveRun,
  runDir,
  divergePenalty,
  divergeStep,
  penultimate,
  attackMetric,
  writeGradCamFigure,
  DC_PAIRS,
  PACKAGE,
} from './diverge';
export type { TrainOptions } from './diverge';
export { compareFeatures, checkCompareInputs, builtinEmbedding, TABLE2_STATS, TABLE2_STAT_MEANINGS } from './compare';
export type { FeatureMatrix, ClassEmbedding, BatchStat, Table2Result, Table2Stat } from './compare';
export { datasetFeatures, modelFeatures } from './features';
