export { runCompare, parseDataSpec } from './cli';
export type { CompareCliOptions } from './cli';
export {
  PAPER_RUNS,
  CPU_RUNS,
  ALL_RUNS,
  CPU_EPOCHS,
  CPU_TRAIN_PER_CLASS,
  METHOD_LABELS,
  METHOD_COLORS,
  TEACHER_COLOR,
  COMPARISON_COLORS,
  distillStyles,
  PAPER_MILESTONES,
} from './runs';
export type { DistillRun, Method, NetSpec, StudentSpec } from './runs';
export { PUBLISHED, CLAIMS, MEASURED, ICKD_TABLE, IMAGENET_ROWS, CAPACITY_BARS } from './published';
export {
  trainDistillRun,
  resolveRun,
  runDir,
  teacherName,
  shiftedCopy,
  CKA_LAYERS,
  DPK_TRACE_COLUMNS,
  PACKAGE,
} from './distill';
export type { TrainOptions, DpkTraceRow } from './distill';
export { kdLoss, mgdLoss, mgdChannelMask, ickdLoss, dpkMaskRatio, dpkMask } from './losses';
export type { MaskRatioRule } from './losses';
