export * from './runs';
export * from './ctc';
export * from './analysis';
export * from './temporal';
export { CLAIMS, PUBLISHED, GAUSSIAN_CASES, MINE_CHECK_RUN } from './published';
export type { GaussianCase } from './published';
export { paper, runTransfer, runMine, checkpointSequence, gaussianPair } from './cli';
export type { TransferCliOptions, MineCliOptions } from './cli';
