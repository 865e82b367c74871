/** The claim helper: t quantiles against published tables, intervals by hand, verdicts at the edges. */
import { decideClaim, describeInterval, differenceInterval, meanInterval, tCdf, tQuantile } from '../src';

it('Student t quantiles match the standard table (0.975 and 0.95, df 1-30, Welch fractional df)', () => {
  // two-sided 95% critical values (e.g. NIST/SEMATECH e-Handbook, Table 1.3.6.7.2)
  const t975: Array<[number, number]> = [
    [1, 12.706],
    [2, 4.303],
    [3, 3.182],
    [4, 2.776],
    [5, 2.571],
    [9, 2.262],
    [10, 2.228],
    [30, 2.042],
  ];
  for (const [df, v] of t975) expect(tQuantile(0.975, df)).toBeCloseTo(v, 3);
  expect(tQuantile(0.95, 4)).toBeCloseTo(2.132, 3);
  expect(tQuantile(0.025, 4)).toBeCloseTo(-2.776, 3);
  expect(tCdf(0, 3)).toBeCloseTo(0.5, 12);
  expect(tCdf(tQuantile(0.975, 2.5), 2.5)).toBeCloseTo(0.975, 10);
  // large df tends to the normal quantile
  expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.95996, 4);
});

it('mean interval: mean ± t·s/√n', () => {
  const iv = meanInterval([1, 2, 3, 4, 5]); // mean 3, s = √2.5, t(0.975, 4) = 2.7764
  const half = (2.776445 * Math.sqrt(2.5)) / Math.sqrt(5);
  expect(iv.estimate).toBe(3);
  expect(iv.lo).toBeCloseTo(3 - half, 5);
  expect(iv.hi).toBeCloseTo(3 + half, 5);
  expect(iv.n).toBe('5');
  expect(Number.isNaN(meanInterval([7]).lo)).toBe(true);
  expect(() => meanInterval([1, NaN])).toThrow(/value 1 is NaN/);
  expect(() => meanInterval([])).toThrow(/no values/);
});

it('Welch interval of a difference (hand-computed case)', () => {
  // a: mean 10, var 1 (n 4); b: mean 8, var 4 (n 5): se² = 0.25 + 0.8 = 1.05, df = 1.05²/(0.25²/3 + 0.8²/4) = 6.097
  const aVals = [10 - Math.sqrt(1.5), 10 + Math.sqrt(1.5), 10, 10]; // variance (1.5 + 1.5)/3 = 1
  const bVals = [8 - 2 * Math.sqrt(2), 8 + 2 * Math.sqrt(2), 8, 8, 8]; // variance (8 + 8)/4 = 4
  const iv = differenceInterval(aVals, bVals);
  expect(iv.estimate).toBeCloseTo(2, 12);
  expect(iv.df).toBeCloseTo(1.05 ** 2 / (0.25 ** 2 / 3 + 0.8 ** 2 / 4), 6);
  const half = tQuantile(0.975, iv.df) * Math.sqrt(1.05);
  expect(iv.lo).toBeCloseTo(2 - half, 9);
  expect(half).toBeGreaterThan(2.365 * Math.sqrt(1.05)); // between t(0.975, 7) = 2.365 and t(0.975, 6) = 2.447
  expect(half).toBeLessThan(2.447 * Math.sqrt(1.05));
});

it('verdicts: holds / fails / inconclusive by where the interval lies', () => {
  const iv = (lo: number, hi: number) => ({
    n: '5',
    estimate: (lo + hi) / 2,
    lo,
    hi,
    level: 0.95,
    method: 'student-t' as const,
    df: 4,
    se: NaN,
  });
  expect(decideClaim(iv(1.2, 3), { threshold: 1, holdsWhen: 'above' })).toBe('holds');
  expect(decideClaim(iv(-1, 0.5), { threshold: 1, holdsWhen: 'above' })).toBe('fails');
  expect(decideClaim(iv(0.5, 1.5), { threshold: 1, holdsWhen: 'above' })).toBe('inconclusive');
  expect(decideClaim(iv(-1, 0.5), { threshold: 1, holdsWhen: 'below' })).toBe('holds');
  expect(decideClaim(iv(1.2, 3), { threshold: 1, holdsWhen: 'below' })).toBe('fails');
  expect(decideClaim(iv(NaN, NaN), { threshold: 1, holdsWhen: 'below' })).toBe('inconclusive');
  const m = meanInterval([0.1, 0.3, 0.2]);
  expect(decideClaim(m, { threshold: 1, holdsWhen: 'below' })).toBe('holds');
  expect(describeInterval(m, { threshold: 1, holdsWhen: 'below' })).toMatch(
    /^n=3, mean 0\.20, 95% CI \[-0\.05, 0\.45\] \(Student t over seeds\); holds if the interval lies below 1\.00$/,
  );
});

it('claim notes use the decimals the rule asks for (default 2)', () => {
  const iv = meanInterval([0.01234, 0.01301, 0.01188]);
  const four = describeInterval(iv, { threshold: 0, holdsWhen: 'above', digits: 4 });
  expect(four).toMatch(/mean 0\.0124, 95% CI \[0\.0110, 0\.0138\].*holds if the interval lies above 0\.0000/);
  const two = describeInterval(iv, { threshold: 0, holdsWhen: 'above' });
  expect(two).toMatch(/mean 0\.01, 95% CI \[0\.01, 0\.01\].*above 0\.00/);
});
