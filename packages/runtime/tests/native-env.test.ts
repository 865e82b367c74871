/**
 * The native kernels' environment switches, each on a fresh copy of the loader (the status is cached
 * per module instance). These hold with or without the addon and OpenBLAS.
 */
import * as os from 'os';
import type * as NativeModule from '../src/native';

function freshNativeStatus(env: Record<string, string | undefined>): ReturnType<typeof NativeModule.nativeStatus> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    let status: ReturnType<typeof NativeModule.nativeStatus> | undefined;
    jest.isolateModules(() => {
      // a fresh copy of the module under the changed environment (jest.isolateModules needs require)
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      status = (require('../src/native') as typeof NativeModule).nativeStatus();
    });
    return status!;
  } finally {
    process.env = saved;
  }
}

it('REPRO_NATIVE=0 turns the native kernels off and says so', () => {
  const s = freshNativeStatus({ REPRO_NATIVE: '0', REPRO_BLAS_THREADS: undefined });
  expect(s.available).toBe(false);
  expect(!s.available && s.reason).toBe('disabled by REPRO_NATIVE=0');
});

it.each(['abc', '0', '1.5', '-2'])("REPRO_BLAS_THREADS='%s' is an error naming the variable", (v) => {
  expect(() => freshNativeStatus({ REPRO_BLAS_THREADS: v })).toThrow(
    `REPRO_BLAS_THREADS='${v}' is not a positive integer`,
  );
});

it('REPRO_BLAS_THREADS=1 gives one thread where the native kernels load', () => {
  const s = freshNativeStatus({ REPRO_BLAS_THREADS: '1', REPRO_NATIVE: undefined });
  if (!s.available) {
    console.warn(`native kernels unavailable here: ${s.reason}`);
    return;
  }
  expect(s.threads).toBe(1);
  expect(s.detail).toMatch(/, 1 thread(;|$)/);
  s.addon.setThreads(os.cpus().length); // the addon is process-wide: restore the default
});
