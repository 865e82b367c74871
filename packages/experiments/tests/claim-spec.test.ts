/**
 * Claims as data: the design decides how seeds combine, a failed precondition makes the verdict
 * inconclusive, a family is decided by Holm's step-down, and `<package>.claims.json` carries the
 * contract's fields.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ClaimSpec,
  RUN_RECORD_SCHEMA,
  RunRecord,
  differenceInterval,
  evaluateClaims,
  meanInterval,
  tQuantile,
  writeClaimsJson,
} from '../src';

function rec(runId: string, seed: number, metrics: Record<string, number>, scale: 'cpu' | 'smoke' = 'cpu'): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
    package: 'demo',
    runId,
    seed,
    scale,
    dataset: 'fashion-mnist',
    model: 'lenet',
    config: {},
    overrides: {},
    history: [],
    metrics,
    backend: { name: 'wasm', detail: 'test', tfjsVersion: '4.22.0' },
    commit: 'abc1234',
    startedAt: '2026-12-04T00:00:00Z',
    wallSeconds: 1,
    complete: true,
  };
}
const seeds = [1, 2, 3, 4, 5];
const A = [3.1, 2.4, 2.9, 3.6, 2.2];
const B = [1.0, 1.1, 0.7, 1.9, 0.4];
const records = [
  ...seeds.map((s, i) => rec('a', s, { acc: A[i] })),
  ...seeds.map((s, i) => rec('b', 6 - s, { acc: B[4 - i] })), // b's seeds in another order: pairing is by seed
];
const by = (recs: RunRecord[], id: string) =>
  recs.filter((r) => r.runId === id).map((r) => ({ seed: r.seed, value: r.metrics.acc }));
const base = (over: Partial<ClaimSpec>): ClaimSpec => ({
  id: 'x',
  statement: 'a beats b',
  source: { quote: 'A is better than B.', where: 'demo paper, section 4' },
  quantity: 'accuracy a − b (points)',
  runIds: ['a', 'b'],
  command: 'demo reproduce',
  threshold: 0,
  holdsWhen: 'above',
  measure: (recs) => ({ kind: 'paired', a: by(recs, 'a'), b: by(recs, 'b') }),
  ...over,
});

it('paired by seed, Welch for independent groups, a mean for one group', () => {
  const [paired] = evaluateClaims([base({})], records, ['cpu']);
  const diffs = A.map((a, i) => a - B[i]);
  const ref = meanInterval(diffs);
  expect(paired).toMatchObject({ verdict: 'claim-holds', method: 'paired-t', n: '5', estimate: ref.estimate });
  expect(paired.lo).toBeCloseTo(ref.lo, 12);
  expect(paired.perSeed).toEqual(seeds.map((s, i) => ({ seed: s, a: A[i], b: B[i], value: A[i] - B[i] })));
  const [welch] = evaluateClaims(
    [base({ measure: (recs) => ({ kind: 'welch', a: by(recs, 'a'), b: by(recs, 'b') }) })],
    records,
    ['cpu'],
  );
  const w = differenceInterval(A, B);
  expect(welch).toMatchObject({ method: 'welch-t', n: '5+5' });
  expect(welch.hi).toBeCloseTo(w.hi, 12);
  // a pairing that drops seeds is visible in n
  const fewer = records.filter((r) => !(r.runId === 'b' && r.seed === 5));
  expect(evaluateClaims([base({})], fewer, ['cpu'])[0].n).toBe('4');
});

it('a failing precondition makes the verdict inconclusive, and the note names it with its value', () => {
  const [r] = evaluateClaims(
    [
      base({
        preconditions: () => [
          { name: 'plateau', passed: false, value: 1.7, detail: 'last-2-epoch gain 1.70 points; < 0.5 passes' },
          { name: 'matched-size', passed: true, value: 0.01, detail: 'parameter counts within 1%' },
        ],
      }),
    ],
    records,
    ['cpu'],
  );
  expect(r.verdict).toBe('claim-inconclusive');
  expect(r.lo).toBeGreaterThan(0); // the interval alone would hold
  expect(r.note).toMatch(/inconclusive because a precondition failed: plateau = 1\.7/);
  expect(r.note).toMatch(/preconditions: plateau FAILED \(last-2-epoch gain .*\), matched-size passed/);
});

/** A claim of a family over one group: its mean over the values (one per seed) against 0. */
const familyMember = (id: string, family: string, values: number[]): ClaimSpec =>
  base({
    id,
    family,
    runIds: ['a'],
    measure: () => ({ kind: 'mean', values: values.map((value, i) => ({ seed: i + 1, value })) }),
  });

it("a family is decided by Holm's step-down at 95% family-wise, each claim at its step's level", () => {
  // three claims on one group each: means 3 (far above 0), 1 (clearly above), 0.5 (above at 95%, not at 97.5%)
  const mk = (id: string, values: number[]) => familyMember(id, 'f', values);
  const sd = [-1, -0.5, 0, 0.5, 1];
  const t95 = tQuantile(0.975, 4);
  const v = (m: number, s: number) => sd.map((d) => m + d * s);
  // scale so that the third claim's unadjusted interval excludes 0 but its 97.5% one does not
  const se = (s: number) => (s * Math.sqrt(2.5 / 4)) / Math.sqrt(5); // sample sd of the offsets over √n
  const s3 = 0.5 / (t95 * se(1)) / 1.05;
  const specs = [mk('far', v(3, 0.2)), mk('clear', v(1, 0.1)), mk('edge', v(0.5, s3))];
  const alone = evaluateClaims([specs[2]], records, ['cpu'])[0];
  expect(alone.verdict).toBe('claim-holds');
  const results = evaluateClaims(specs, records, ['cpu']);
  const get = (id: string) => results.find((r) => r.id === id)!;
  expect(get('far').adjusted).toEqual({ method: 'holm-bonferroni', familySize: 3, step: 1, level: 1 - 0.05 / 3 });
  expect(get('clear').adjusted!.step).toBe(2);
  expect(get('edge').adjusted).toMatchObject({ step: 3, level: 0.95 });
  // the edge claim is at the last step (level 95%) and still holds: Holm gives it the unadjusted level
  expect(get('edge').verdict).toBe('claim-holds');
  // with the order changed so that the edge claim must pass first, it fails to and stops the steps
  const strict = evaluateClaims([mk('edge', v(0.5, s3)), mk('edge2', v(0.5, s3))], records, ['cpu']);
  expect(strict.map((r) => r.verdict)).toEqual(['claim-inconclusive', 'claim-inconclusive']);
  expect(strict[0].note).toMatch(
    /family f: Holm–Bonferroni over 2 claims at 95% family-wise, this claim at step [12] \(interval at 97\.5%\)/,
  );
  // the second step never ran: its note names the claim that stopped the steps
  const second = strict.find((r) => r.adjusted!.step === 2)!;
  expect(second.note).toMatch(/Holm's steps stopped at edge2?, before this claim's step/);
  expect(strict.find((r) => r.adjusted!.step === 1)!.note).not.toMatch(/steps stopped/);
});

it('a family member whose estimate is on the failing side reports the step of the failing side', () => {
  const mk = (id: string, values: number[]) => familyMember(id, 'g', values);
  // 'up' holds first (step 1 of "holds"), 'down' lies far below 0: step 2 of "holds" but step 1 of "fails"
  const results = evaluateClaims([mk('up', [2.9, 3, 3.1, 3, 3]), mk('down', [-1.1, -1, -0.9, -1, -1])], records, [
    'cpu',
  ]);
  const down = results.find((r) => r.id === 'down')!;
  expect(down.verdict).toBe('claim-fails');
  expect(down.adjusted).toMatchObject({ step: 1, level: 0.975 });
  expect(down.hi!).toBeLessThan(0);
  expect(results.find((r) => r.id === 'up')!).toMatchObject({ verdict: 'claim-holds', adjusted: { step: 1 } });
});

it('smoke records give status smoke, missing runs status missing', () => {
  const smoke = seeds
    .map((s, i) => rec('a', s, { acc: A[i] }, 'smoke'))
    .concat(seeds.map((s, i) => rec('b', s, { acc: B[i] }, 'smoke')));
  expect(evaluateClaims([base({})], smoke, ['cpu', 'smoke']).map((r) => [r.scale, r.verdict])).toEqual([
    ['smoke', 'smoke'],
  ]);
  const [m] = evaluateClaims(
    [base({})],
    records.filter((r) => r.runId === 'a'),
    ['cpu'],
  );
  expect(m.verdict).toBe('missing');
  expect(m.note).toMatch(/runs missing: b/);
});

it('<package>.claims.json: one object per claim with the contract fields', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-claims-'));
  const specs = [base({}), base({ id: 'never', runIds: ['zzz'] })];
  const file = writeClaimsJson(out, 'demo', specs, evaluateClaims(specs, records, ['cpu']));
  expect(file).toBe(path.join(out, 'demo.claims.json'));
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { package: string; claims: Array<Record<string, unknown>> };
  expect(json.package).toBe('demo');
  expect(json.claims.map((c) => c.id)).toEqual(['x', 'never']);
  for (const c of json.claims)
    for (const k of [
      'id',
      'statement',
      'source',
      'verdict',
      'estimate',
      'lo',
      'hi',
      'threshold',
      'holdsWhen',
      'method',
      'n',
      'perSeed',
      'preconditions',
      'family',
      'adjusted',
    ])
      expect(c).toHaveProperty(k);
  expect(json.claims[1]).toMatchObject({ verdict: 'missing', estimate: null, perSeed: [] });
});

it('claims.json takes the largest scale that decided a claim: a paper scale lacking runs does not hide the cpu verdict', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-claims-scale-'));
  const paperA = seeds.map((s, i) => ({ ...rec('a', s, { acc: A[i] }), scale: 'paper' as const }));
  const specs = [base({})];
  const results = evaluateClaims(specs, [...records, ...paperA], ['paper', 'cpu']);
  expect(results.map((r) => [r.scale, r.verdict])).toEqual([
    ['paper', 'missing'],
    ['cpu', 'claim-holds'],
  ]);
  const file = writeClaimsJson(out, 'demo', specs, results);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { claims: Array<{ scale: string; verdict: string }> };
  expect(json.claims[0]).toMatchObject({ scale: 'cpu', verdict: 'claim-holds' });
});

it('a threshold computed from the records, an outright refutation, and a case not measured at a scale', () => {
  const [t] = evaluateClaims(
    [base({ threshold: (recs) => ({ value: recs.length / 10, why: `one tenth of the ${recs.length} records` }) })],
    records,
    ['cpu'],
  );
  expect(t).toMatchObject({ threshold: 1, thresholdWhy: 'one tenth of the 10 records', verdict: 'claim-holds' });
  expect(t.note).toMatch(/holds if the interval lies above 1\.00; threshold: one tenth of the 10 records/);
  const [r] = evaluateClaims([base({ refutes: () => 'the peak is the last checkpoint' })], records, ['cpu']);
  expect(r).toMatchObject({ verdict: 'claim-fails', refutation: 'the peak is the last checkpoint' });
  expect(r.lo).toBeGreaterThan(0); // the interval alone would hold
  expect(r.note).toMatch(/fails outright: the peak is the last checkpoint/);
  // a failed precondition still comes first: nothing is decided on an unmet premise
  const [p] = evaluateClaims(
    [
      base({
        refutes: () => 'contradicted',
        preconditions: () => [{ name: 'plateau', passed: false, value: 2, detail: 'still rising' }],
      }),
    ],
    records,
    ['cpu'],
  );
  expect(p.verdict).toBe('claim-inconclusive');
  const [m] = evaluateClaims(
    [base({ kind: 'estimator-check', measure: () => ({ kind: 'mean', values: [] }) })],
    records,
    ['cpu'],
  );
  expect(m).toMatchObject({ verdict: 'missing', kind: 'estimator-check', estimate: null });
  expect(m.note).toMatch(/no value in the records at this scale/);
});
