/**
 * Compute backend selection (`initBackend`: tfjs-node-gpu, tfjs-node, WebAssembly with training kernels and
 * optional native kernels, or cpu), seeded randomness, atomic writes, safe paths and progress lines.
 *
 * @module @repro/runtime
 */
export { initBackend, currentBackend, parseBackendPreference, BACKEND_PREFERENCES } from './backend';
export type { BackendInfo, BackendPreference } from './backend';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/wasm-training';
export { Rng } from './random';
export { writeFileAtomic, writeJsonAtomic, openAtomic } from './atomic';
export {
  safeJoin,
  assertSafeId,
  resolveInside,
  readFileInside,
  readRegularFile,
  SAFE_ID_PATTERN,
  MAX_ID_LENGTH,
} from './safe-path';
export type { ReadInsideOptions } from './safe-path';
export { Progress, formatDuration } from './progress';
export type { ProgressOptions } from './progress';
export {
  setWasmNativeKernels,
  wasmNativeKernelsActive,
  WASM_NATIVE_KERNELS,
  batchNormTrain,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  batchNormRunningUpdate,
  BATCH_NORM_RUNNING,
  sgdMomentumUpdate,
  sgdMomentumKernelActive,
  SGD_MOMENTUM,
  RELU_GRAD,
} from './kernels/wasm-native';
export type { SgdMomentumParams } from './kernels/wasm-native';
export { nativeStatus, NATIVE_ADDON_PATH } from './native';
export type { NativeAddon, NativeStatus } from './native';
