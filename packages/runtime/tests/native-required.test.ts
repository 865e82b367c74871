/**
 * Where the native kernels must be there (CI, and the README's test command, set
 * REPRO_REQUIRE_NATIVE=1), a build that lost them fails the suite here instead of skipping their
 * tests. Without the variable the native tests skip, for users without the native libraries.
 */
import { nativeStatus } from '../src';

const want = process.env.REPRO_REQUIRE_NATIVE;

it('REPRO_REQUIRE_NATIVE is unset, 0 or 1', () => {
  expect([undefined, '', '0', '1']).toContain(want);
});

(want === '1' ? it : it.skip)('REPRO_REQUIRE_NATIVE=1: the addon, OpenBLAS and oneDNN are loaded', () => {
  const s = nativeStatus();
  if (!s.available) throw new Error(`REPRO_REQUIRE_NATIVE=1, but the native kernels are not available: ${s.reason}`);
  if (!s.dnnl)
    throw new Error(`REPRO_REQUIRE_NATIVE=1, but oneDNN is not in use: ${s.dnnlReason ?? 'no reason given'}`);
  expect(s.detail).toMatch(/OpenBLAS/);
});
