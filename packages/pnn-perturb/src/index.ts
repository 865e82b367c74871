export {
  PAPER_RUNS,
  CPU_RUNS,
  ALL_RUNS,
  findRun,
  runsForScale,
  CPU_EPOCHS,
  CPU_TRAIN_PER_CLASS,
  ROW_COLORS,
  pnnStyles,
} from './runs';
export type { PnnRun } from './runs';
export { PUBLISHED, CLAIMS, MEASURED } from './published';
export { trainPnnRun, resolveRun, runDir, PACKAGE } from './train';
export type { TrainOptions } from './train';
