/**
 * The optional native addon (../native): OpenBLAS matrix products and convolutions that work in
 * place on the WebAssembly backend's heap. Built by `npm install` where a C compiler and Node's headers
 * exist (tools/build-native.js); loads OpenBLAS at run time. Absent or failing, every kernel stays on
 * the pure wasm path; `nativeStatus()` says why.
 *
 *   REPRO_NATIVE=0             do not use it
 *   REPRO_BLAS_THREADS=<n>     native threads: oneDNN, the C loops and split OpenBLAS products, on OpenMP
 *                              (default: OpenBLAS's count, i.e. every core; OpenBLAS itself runs single-threaded)
 *   REPRO_BLAS_LIB=<path>      the OpenBLAS shared library to try first
 *   REPRO_DNNL=0               convolutions on im2col + OpenBLAS, batch norm on C loops, even where oneDNN loads
 *   REPRO_DNNL_LIB=<path>      the oneDNN shared library to try first
 */
import * as fs from 'fs';
import * as path from 'path';

export interface NativeAddon {
  init(paths: string[]): string;
  config(): { library: string; threads: number; config: string; dnnl: string; dnnlEnabled: boolean };
  /** Loads oneDNN (the first path that opens); returns "<library> <version> (<isa>)" or throws with what was tried. */
  dnnlInit(paths: string[]): string;
  /** oneDNN convolutions and batch norm on (when loaded) or off (im2col + OpenBLAS, C loops). */
  dnnlEnable(on: boolean): void;
  /** One line per cached oneDNN primitive (convolutions, batch norm): op, shape and oneDNN's implementation name, or why it was declined. */
  dnnlPrimitives(): string;
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
  /** y = x ⊛ filter, or relu(x ⊛ filter + bias) given bias ([Cout] or null) and relu. */
  conv2d(
    x: Float32Array,
    filter: Float32Array,
    y: Float32Array,
    dims: Int32Array,
    bias?: Float32Array | null,
    relu?: boolean,
  ): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** tfjs's momentum step with weight decay, bit for bit, in one pass (see sgdMomentumUpdate). */
  sgdMomentum(
    value: Float32Array,
    accum: Float32Array,
    grad: Float32Array,
    newValue: Float32Array,
    newAccum: Float32Array,
    negLr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
  ): void;
  /** Batch norm's running statistics, PyTorch's update, bit for bit the composite ops' (see batchNormRunningUpdate). */
  runningStats(
    runningMean: Float32Array,
    runningVar: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    newMean: Float32Array,
    newVar: Float32Array,
    unbiasedFactor: number,
    keep: number,
    momentum: number,
  ): void;
  /** y = max(0, x) as tfjs's cpu backend (NaN stays NaN, −0 becomes +0), split over the threads. */
  relu(x: Float32Array, y: Float32Array): void;
  /** out = a + b over equal lengths, split over the threads. */
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** dx = dy · step(x) in one pass (the ReLU gradient). */
  reluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /** tfjs's average-pool gradient (cpu backend's sums and 1/(kh·kw)); dims as maxPoolGrad's (dilation 1). */
  avgPoolGrad(dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
  /**
   * Batch norm over the last axis (training forward, inference forward, training backward); dims are
   * [rows M, channels C, rows per image S]. oneDNN where it is on and has a jit kernel for the shape,
   * else C loops with float64 statistics.
   */
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
  | {
      available: true;
      addon: NativeAddon;
      library: string;
      threads: number;
      /**
       * The OpenBLAS kernels in use ("SkylakeX", "Haswell"): chosen by OpenBLAS from the CPU model, or set
       * by OPENBLAS_CORETYPE. Kernels sum in different orders, so bit-exact results hold per kernel set.
       */
      kernels?: string;
      /** oneDNN's "<library> <version> (<isa>)" when its convolutions are in use */
      dnnl?: string;
      /** why oneDNN is not in use (then convolutions are im2col + OpenBLAS) */
      dnnlReason?: string;
      detail: string;
    }
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

const DNNL_CANDIDATES = [
  'libdnnl.so.2',
  '/usr/lib/x86_64-linux-gnu/libdnnl.so.2',
  '/usr/lib/aarch64-linux-gnu/libdnnl.so.2',
];

const isOff = (v: string | undefined) => v === '0' || v === 'false' || v === 'off';

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
  if (isOff(process.env.REPRO_NATIVE)) return { available: false, reason: 'disabled by REPRO_NATIVE=0' };
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    // a checkout has the C sources beside the package; the npm tarball ships neither sources nor addon
    const inCheckout = fs.existsSync(path.resolve(NATIVE_ADDON_PATH, '..', '..', '..', 'binding.gyp'));
    const hint = inCheckout
      ? 'run node tools/build-native.js'
      : 'the installed package ships no native sources: it is built only in a repro checkout';
    return {
      available: false,
      reason: `native addon not built (${path.relative(process.cwd(), NATIVE_ADDON_PATH)} missing; ${hint})`,
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
  let dnnl: string | undefined;
  let dnnlReason: string | undefined;
  if (isOff(process.env.REPRO_DNNL)) dnnlReason = 'disabled by REPRO_DNNL=0';
  else {
    try {
      const first = process.env.REPRO_DNNL_LIB ? [process.env.REPRO_DNNL_LIB] : [];
      dnnl = addon.dnnlInit([...first, ...DNNL_CANDIDATES]);
    } catch (err) {
      dnnlReason = `${(err as Error).message} (Debian: apt-get install libdnnl2)`;
    }
  }
  // openblas_get_config() ends with the kernels in use: "... NO_AFFINITY Haswell MAX_THREADS=64"
  const kernels = /(\S+) MAX_THREADS=/.exec(addon.config().config)?.[1];
  const blas = `OpenBLAS ${path.basename(library)}${kernels ? ` (${kernels} kernels)` : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
  return {
    available: true,
    addon,
    library,
    threads,
    kernels,
    dnnl,
    dnnlReason,
    detail: dnnl
      ? `${blas}; convolutions and batch norm on oneDNN ${dnnl.replace(/^\S*\//, '')}`
      : `${blas}; convolutions im2col + sgemm, batch norm C loops (oneDNN off: ${dnnlReason})`,
  };
}
