/**
 * The optional native addon (../native): OpenBLAS matrix products and convolutions that work in
 * place on the WebAssembly backend's heap. Built by `npm install` where a C compiler and Node's headers
 * exist (tools/build-native.js); loads OpenBLAS at run time. Absent or failing, every kernel stays on
 * the pure wasm path; `nativeStatus()` says why.
 *
 *   REPRO_NATIVE=0             do not use it
 *   REPRO_BLAS_THREADS=<n>     OpenBLAS threads (default: OpenBLAS's own, i.e. every core)
 *   REPRO_BLAS_LIB=<path>      the OpenBLAS shared library to try first
 */
import * as fs from 'fs';
import * as path from 'path';

export interface NativeAddon {
  init(paths: string[]): string;
  config(): { library: string; threads: number; config: string };
  setThreads(n: number): void;
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  gram(trans: boolean, n: number, k: number, a: Float32Array, lda: number, c: Float32Array): void;
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, dims: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: Int32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  batchNormTrain(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dims: Int32Array,
    eps: number,
  ): void;
  batchNormInfer(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    y: Float32Array,
    dims: Int32Array,
    eps: number,
  ): void;
  batchNormTrainGrad(
    x: Float32Array,
    dy: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dmean: Float32Array | null,
    dvariance: Float32Array | null,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    dims: Int32Array,
    eps: number,
  ): void;
}

export type NativeStatus =
  | { available: true; addon: NativeAddon; library: string; threads: number; detail: string }
  | { available: false; reason: string };

/** Where the build puts the addon (the same relative path from src/ and dist/). */
export const NATIVE_ADDON_PATH = path.resolve(__dirname, '..', 'native', 'build', 'Release', 'repro_native.node');

const OPENBLAS_CANDIDATES = [
  'libopenblas.so.0',
  '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
  'libopenblas.so',
  'libopenblas.dylib',
  '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
];

let status: NativeStatus | undefined;

/** Loads the addon and OpenBLAS once. Throws only on an invalid REPRO_BLAS_THREADS; any other problem is a reason in the status. */
export function nativeStatus(): NativeStatus {
  if (status) return status;
  status = load();
  return status;
}

function load(): NativeStatus {
  const want = process.env.REPRO_BLAS_THREADS;
  const threadsWanted = want === undefined || want === '' ? undefined : Number(want);
  if (threadsWanted !== undefined && (!Number.isInteger(threadsWanted) || threadsWanted < 1)) {
    throw new Error(
      `REPRO_BLAS_THREADS='${want}' is not a positive integer (threads for OpenBLAS and the native convolutions)`,
    );
  }
  const flag = process.env.REPRO_NATIVE;
  if (flag === '0' || flag === 'false' || flag === 'off')
    return { available: false, reason: 'disabled by REPRO_NATIVE=0' };
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    return {
      available: false,
      reason: `native addon not built (${path.relative(process.cwd(), NATIVE_ADDON_PATH)} missing; run node tools/build-native.js)`,
    };
  }
  let addon: NativeAddon;
  try {
    // a compiled N-API addon at a path known only at run time: require is the way to load it
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (err) {
    return { available: false, reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  let library: string;
  try {
    const first = process.env.REPRO_BLAS_LIB ? [process.env.REPRO_BLAS_LIB] : [];
    library = addon.init([...first, ...OPENBLAS_CANDIDATES]);
  } catch (err) {
    return { available: false, reason: `${(err as Error).message} (Debian: apt-get install libopenblas0-pthread)` };
  }
  if (threadsWanted !== undefined) addon.setThreads(threadsWanted);
  const threads = addon.config().threads;
  return {
    available: true,
    addon,
    library,
    threads,
    detail: `OpenBLAS ${path.basename(library)}, ${threads} thread${threads === 1 ? '' : 's'}`,
  };
}
