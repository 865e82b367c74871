/**
 * Training loop, optimizers, schedules, checkpoints and resume, run records, claims by interval,
 * result tables, plots (including `writeCkaFiles`, torch_cka's `plot_results`) and CLI building blocks.
 *
 * @module @repro/experiments
 */
export { Optimizer, trainableVariables, jointStep } from './optim';
export type { OptimizerConfig } from './optim';
export { multiStep, cosine, constant } from './schedule';
export type { Schedule } from './schedule';
export { train } from './train';
export type { TrainTask, TrainResult, StepContext } from './train';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint } from './checkpoint';
export type { CheckpointState } from './checkpoint';
export {
  evaluateClassifier,
  batchAccuraciesPct,
  smoothedPerEpoch,
  smoothedOverOrders,
  fgsm,
  robustAccuracy,
  savedModelAccuracies,
} from './evaluate';
export type { ClassifierEval, Attack } from './evaluate';
export {
  writeRunRecord,
  readRunRecords,
  readRunRecordFiles,
  mergeRunRecords,
  runRecordPath,
  newRunRecord,
  plateauGain,
  gitCommit,
  SCALES,
  RUN_RECORD_SCHEMA,
} from './record';
export type { RunRecord, Scale } from './record';
export { buildTable, resultsCsv, writeResultsCsv, RESULT_COLUMNS, STATUS_MEANINGS } from './table';
export type { Status, Citation, PublishedValue, MeasuredSpec, ResultRow } from './table';
export {
  lineChartSpec,
  barChartSpec,
  heatmapSpec,
  renderSvg,
  svgToPng,
  writePlot,
  meanBand,
  epochCurve,
  PALETTE,
  seriesScales,
  shade,
  schemeColor,
  relativeLuminance,
  textColorOn,
  DARK_TEXT,
  LIGHT_TEXT,
  parseAutoLayerName,
  shortLayerLabels,
  legendEntries,
} from './plot';
export type { LinePoint, LineChartOptions, BarPoint, HeatmapOptions, SeriesStyle, SeriesStyles } from './plot';
export {
  buildPaperCli,
  runCli,
  parseSeeds,
  checkRunIds,
  parseIntegerFlag,
  parsePositiveNumber,
  FLAG_LIMITS,
  integerFlag,
  positiveInt,
  nonNegativeInt,
  numberFlag,
  positiveNumber,
  nonNegativeNumber,
  probability,
  checkOutputDir,
  checkOutputFile,
} from './cli';
export type { CommonOptions, PaperCliSpec, FlagParser, NumberRange } from './cli';
export { resultsReadme, writeResultsReadme } from './results-readme';
export { hardwareDescription } from './record';
export { runChildJobs, defaultParallelism, InterruptedError } from './jobs';
export type { ChildJob } from './jobs';
export {
  meanInterval,
  differenceInterval,
  decideClaim,
  describeInterval,
  atLevel,
  formatNumber,
  formatMeanInterval,
  evaluateClaims,
  writeClaimsJson,
  tQuantile,
  tCdf,
} from './claims';
export type {
  Interval,
  ClaimVerdict,
  ClaimRule,
  ClaimSpec,
  ClaimDesign,
  ClaimResult,
  ClaimSource,
  ClaimStatus,
  Precondition,
  SeedValue,
} from './claims';
export {
  planReproduce,
  describePlan,
  checkpointDir,
  runReproduce,
  shardJobs,
  parseShard,
  jobId,
  jobCommand,
} from './reproduce';
export type { ReproduceJob, ReproducePlan, ReproduceSpec, Shard } from './reproduce';
export { tryLock, staleReason } from './lock';
export type { HeldLock, LockInfo } from './lock';
export { fgm, pgd } from './attacks';
export type { AttackOptions, PgdOptions } from './attacks';
export { definePaper } from './paper';
export type { Paper, PaperRun, PaperSpec, RunContext } from './paper';
export { writeOverlayGridPng, jet } from './overlay';
export type { OverlayTile, OverlayGridOptions } from './overlay';
export { writeCkaFiles, ckaCsv } from './cka-files';
export type { CkaFiles } from './cka-files';
