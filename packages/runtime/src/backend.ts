/**
 * Compute-backend selection. One call, `initBackend()`, picks the fastest engine that really works on
 * this machine and makes the wasm backend able to train (see ./kernels/wasm-training.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './kernels/wasm-training';
import { setWasmNativeKernels } from './kernels/wasm-native';
import { nativeStatus } from './native';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** What a result is labelled with: the engine, its device or build, and the tfjs version. */
export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' (libtensorflow via tfjs-node or tfjs-node-gpu), 'wasm' or 'cpu'. */
  name: string;
  /** The GPU device string, "libtensorflow CPU", or "wasm simd, 1 thread" (+ "; native OpenBLAS …"). */
  detail: string;
  tfjsVersion: string;
  /** wasm only: the native kernels in use ("OpenBLAS libopenblas.so.0, 2 threads") or why they are off. */
  native?: string;
}

let current: { preference: BackendPreference; info: BackendInfo } | undefined;

/** Parses a preference from a CLI flag or `REPRO_BACKEND`; a bad value fails with the valid list. */
export function parseBackendPreference(value: string | undefined, source = '--backend'): BackendPreference | undefined {
  if (value === undefined || value === '') return undefined;
  if ((BACKEND_PREFERENCES as readonly string[]).includes(value)) return value as BackendPreference;
  throw new Error(`${source}: unknown backend '${value}'; valid: ${BACKEND_PREFERENCES.join(', ')}`);
}

function tfjsVersion(): string {
  return tf.version_core;
}

function tryRequire(name: string): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'MODULE_NOT_FOUND') {
      process.stderr.write(
        `[backend] ${name} is present but failed to load: ${(err as Error).message.split('\n')[0]}\n`,
      );
    }
    return undefined;
  }
}

/**
 * Loads libtensorflow through tfjs-node-gpu or tfjs-node (optional dependencies: their install
 * downloads libtensorflow, which fails where there is no internet, and then they are absent).
 * tfjs-node-gpu silently falls back to the CPU when CUDA 11.2/cuDNN 8.1 do not load, so the GPU is
 * kept only when the binding reports that a GPU device was created (`isUsingGpuDevice`).
 */
async function tryTensorflow(): Promise<BackendInfo | undefined> {
  const gpu = tryRequire('@tensorflow/tfjs-node-gpu');
  if (gpu) {
    await tf.setBackend('tensorflow');
    const usingGpu = Boolean((tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
    if (usingGpu)
      return { name: 'tensorflow', detail: 'libtensorflow GPU (tfjs-node-gpu)', tfjsVersion: tfjsVersion() };
    process.stderr.write(
      '[backend] tfjs-node-gpu loaded but created no GPU device (CUDA 11.2 + cuDNN 8.1 needed); using its CPU path\n',
    );
    // Both packages register the same 'tensorflow' backend: once the GPU build is loaded it is also the CPU path.
    return {
      name: 'tensorflow',
      detail: 'libtensorflow CPU (tfjs-node-gpu, no GPU device)',
      tfjsVersion: tfjsVersion(),
    };
  }
  const cpu = tryRequire('@tensorflow/tfjs-node');
  if (cpu) {
    await tf.setBackend('tensorflow');
    return { name: 'tensorflow', detail: 'libtensorflow CPU (tfjs-node)', tfjsVersion: tfjsVersion() };
  }
  return undefined;
}

async function tryWasm(): Promise<BackendInfo | undefined> {
  const wasm = tryRequire('@tensorflow/tfjs-backend-wasm') as { getThreadsCount(): number } | undefined;
  if (!wasm) return undefined;
  const ok = await tf.setBackend('wasm');
  if (!ok) return undefined;
  await tf.ready();
  registerWasmTrainingKernels();
  const native = nativeStatus();
  setWasmNativeKernels(native.available ? native.addon : undefined);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    name: 'wasm',
    detail:
      `wasm ${simd ? 'simd' : 'no simd'}, ${threads} thread${threads === 1 ? '' : 's'}` +
      (native.available ? `; native ${native.detail}` : ''),
    tfjsVersion: tfjsVersion(),
    native: native.available ? native.detail : `off: ${native.reason}`,
  };
}

async function useCpu(): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  return { name: 'cpu', detail: 'plain JavaScript', tfjsVersion: tfjsVersion() };
}

function warnCpu(): void {
  process.stderr.write(
    '\n[backend] WARNING: using the plain JavaScript cpu backend. Training will be ~100x slower than the\n' +
      '[backend] WebAssembly backend. Install @tensorflow/tfjs-backend-wasm (a dependency of this project).\n\n',
  );
}

/**
 * Chooses and initialises the compute backend.
 *
 * `auto` (default, or `REPRO_BACKEND`): tfjs-node-gpu if a GPU device was really created, then
 * tfjs-node, then the WebAssembly backend with this project's training kernels, then the plain `cpu`
 * backend with a loud warning. An explicit preference that cannot be had is an error.
 * Calling it again with the same preference returns the same info.
 */
export async function initBackend(preference?: BackendPreference): Promise<BackendInfo> {
  const pref = preference ?? parseBackendPreference(process.env.REPRO_BACKEND, 'REPRO_BACKEND') ?? 'auto';
  if (!BACKEND_PREFERENCES.includes(pref)) {
    throw new Error(`initBackend: unknown backend '${pref}'; valid: ${BACKEND_PREFERENCES.join(', ')}`);
  }
  if (current && current.preference === pref && tf.getBackend() === current.info.name) return current.info;
  let info: BackendInfo | undefined;
  switch (pref) {
    case 'tensorflow':
      info = await tryTensorflow();
      if (!info) {
        throw new Error(
          "backend 'tensorflow' requested but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed " +
            '(their install downloads libtensorflow; see README, "Backends"). Use --backend auto or wasm.',
        );
      }
      break;
    case 'wasm':
      info = await tryWasm();
      if (!info) throw new Error("backend 'wasm' requested but @tensorflow/tfjs-backend-wasm failed to initialise");
      break;
    case 'cpu':
      warnCpu();
      info = await useCpu();
      break;
    case 'auto':
      info = (await tryTensorflow()) ?? (await tryWasm());
      if (!info) {
        warnCpu();
        info = await useCpu();
      }
      break;
  }
  current = { preference: pref, info };
  return info;
}

/** The info of the backend `initBackend` chose, or undefined before it ran. */
export function currentBackend(): BackendInfo | undefined {
  return current?.info;
}
