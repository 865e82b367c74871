export { initBackend, currentBackend, parseBackendPreference, BACKEND_PREFERENCES } from './backend';
export type { BackendInfo, BackendPreference } from './backend';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/wasm-training';
export { Rng } from './random';
export { writeFileAtomic, writeJsonAtomic } from './atomic';
export { Progress, formatDuration } from './progress';
export type { ProgressOptions } from './progress';
