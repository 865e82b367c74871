/**
 * Published numbers and claims. DPK's own tables (arXiv 2206.06067) are not readable on this machine
 * (only its abstract is), so none of its numbers is here. The published rows are those of the methods
 * DPK is compared with, from their official repositories, and the bars of the rebuttal's
 * capacity-gap figure, read approximately from the image (the rows say so):
 * - ICKD: ADLab-AutoDrive/ICKD@403b8d3, Cifar100/README.md (CIFAR-100 top-1) and ImageNet/README.md;
 * - MGD: yzd-v/MGD@2c9da0b, cls/README.md (ImageNet top-1);
 * - DPK rebuttal: zongdaoming/dpk@fd17050, README ("capacity-performance gap" bar chart, CIFAR-100).
 * Tolerances are chosen before running, with their reasons. The claims are `ClaimSpec`s (data: source,
 * quantity, per-seed design, threshold), decided by @repro/experiments' evaluateClaims.
 */
import { formatMeanInterval } from '@repro/experiments';
import type { ClaimSource, ClaimSpec, MeasuredSpec, PublishedValue, RunRecord, SeedValue } from '@repro/experiments';
import { CPU_RUNS, PAPER_RUNS } from './runs';

const ICKD = 'Liu et al., ICCV 2021 (ADLab-AutoDrive/ICKD@403b8d3 Cifar100/README.md)';
const ICKD_IN = 'Liu et al., ICCV 2021 (ADLab-AutoDrive/ICKD@403b8d3 ImageNet/README.md)';
const MGD = 'Yang et al., ECCV 2022 (yzd-v/MGD@2c9da0b cls/README.md)';
const DPK = 'Qiu et al., DPK rebuttal (zongdaoming/dpk@fd17050 README, capacity-performance gap figure)';
const CLI = 'npx nx run cka-maskfeat:cli --';
const METHODS_RUN = CPU_RUNS.find((r) => r.kind === 'methods')!;
const CAPACITY_RUN = CPU_RUNS.find((r) => r.kind === 'capacity')!;

const PAIRS = [
  'WRN-40-2 -> WRN-16-2',
  'WRN-40-2 -> WRN-40-1',
  'resnet56 -> resnet20',
  'resnet110 -> resnet20',
  'resnet110 -> resnet32',
  'resnet32x4 -> resnet8x4',
  'vgg13 -> vgg8',
];
/** Rows of ICKD's CIFAR-100 table: [row, metric of our runs (undefined: not one of our students), values per pair]. */
const ICKD_ROWS: Array<[string, string | undefined, number[]]> = [
  ['Teacher', 'teacher0TestAccPct', [75.61, 75.61, 72.34, 74.31, 74.31, 79.42, 74.64]],
  ['Vanilla student', 'vanillaTestAccPct', [73.26, 71.98, 69.06, 69.06, 71.14, 72.5, 70.36]],
  ['KD', 'kdTestAccPct', [74.92, 73.54, 70.66, 70.67, 73.08, 73.33, 72.98]],
  ['ICKD-C (w/o KL)', 'ickdTestAccPct', [75.64, 74.33, 71.76, 71.68, 73.89, 75.25, 73.42]],
  ['ICKD-C (+KL)', undefined, [75.57, 74.63, 71.69, 71.91, 74.11, 75.48, 73.88]],
];
const CIFAR_TOL = {
  abs: 1.0,
  why: 'RepDistiller-style tables report one run (ICKD: the best epoch); seed-to-seed spread of CIFAR-100 students is ~0.3-0.5 points, and we report the last epoch',
};

export const ICKD_TABLE: PublishedValue[] = ICKD_ROWS.flatMap(([row, metric, values]) =>
  PAIRS.map((pair, k) => {
    const [t, s] = pair.split(' -> ');
    const run = PAPER_RUNS.find((r) => r.teachers[0].model === t && r.student.model === s);
    const base = {
      table: 'ickd-cifar100',
      row: `${pair} ${row}`,
      metric: metric ?? 'ickdKlTestAccPct',
      value: values[k],
      citation: { paper: ICKD, table: 'CIFAR-100 top-1', row, column: pair },
      tolerance: CIFAR_TOL,
    };
    if (!run || !metric)
      return {
        ...base,
        runId: '',
        command: '',
        unavailable: !run
          ? `${pair}: no paper run is declared for it (paper runs: resnet56 -> resnet20 and resnet32x4 -> resnet8x4; the ${t} / ${s} builders are not in this repository's model registry or not paired)`
          : "ICKD-C with the KL term is not one of the runs' students (ours is ICKD-C w/o KL, -a 0 -b 2.5)",
      };
    return {
      ...base,
      runId: run.id,
      command: `${CLI} train --scale paper --run ${run.id} --data-dir <dir with cifar-100-binary>`,
    };
  }),
);

const notHere = (what: string) =>
  `${what}: no run of this repository reproduces it (ImageNet distillation of pretrained torchvision teachers; no ImageNet or pretrained weights here, and no ImageNet run is declared)`;

export const IMAGENET_ROWS: PublishedValue[] = [
  ...(
    [
      ['ResNet-34 -> ResNet-18 vanilla student', 70.04],
      ['ResNet-34 -> ResNet-18 KD', 70.68],
      ['ResNet-34 -> ResNet-18 ICKD-C', 72.16],
      ['ResNet-34 teacher', 73.31],
    ] as Array<[string, number]>
  ).map(([row, value]) => ({
    table: 'ickd-imagenet',
    row,
    metric: 'top1Pct',
    value,
    citation: { paper: ICKD_IN, table: 'ImageNet top-1', row, column: 'top-1' },
    tolerance: { abs: 0.5, why: 'one ImageNet run' },
    runId: '',
    command: '',
    unavailable: notHere(row),
  })),
  ...(
    [
      ['ResNet-34 -> ResNet-18 baseline', 69.9],
      ['ResNet-34 -> ResNet-18 +MGD', 71.69],
      ['ResNet-50 -> MobileNetV1 baseline', 69.21],
      ['ResNet-50 -> MobileNetV1 +MGD', 72.49],
    ] as Array<[string, number]>
  ).map(([row, value]) => ({
    table: 'mgd-imagenet',
    row,
    metric: 'top1Pct',
    value,
    citation: { paper: MGD, table: 'ImageNet top-1', row, column: 'top-1' },
    tolerance: { abs: 0.5, why: 'one ImageNet run' },
    runId: '',
    command: '',
    unavailable: notHere(row),
  })),
];

/** The capacity-gap experiment's teacher depths (plain CNNs, conv layers). */
const DEPTHS = [4, 6, 8, 10];
/** The capacity-gap bars, read approximately from the rebuttal's figure (CIFAR-100 student accuracy). */
const BARS: Array<['KD' | 'DPK', number[]]> = [
  ['KD', [42.4, 43.5, 44.1, 42.1]],
  ['DPK', [43.6, 43.7, 44.5, 45.8]],
];
export const CAPACITY_BARS: PublishedValue[] = BARS.flatMap(([method, values]) =>
  DEPTHS.map((depth, k) => ({
    table: 'dpk-capacity-gap',
    row: `${method} from a ${depth}-layer teacher`,
    metric: `${method.toLowerCase()}-t${depth}TestAccPct`,
    value: values[k],
    citation: {
      paper: DPK,
      table: 'capacity-performance gap bar chart (APPROXIMATE: read from the figure, not a table)',
      row: method,
      column: `${depth}-layer teacher`,
    },
    tolerance: { abs: 1.0, why: 'the value is read from a bar chart to about ±0.3 points; one run per bar' },
    runId: '',
    command: '',
    unavailable: `the rebuttal gives neither the plain CNNs' widths nor their CIFAR-100 recipe, so no paper-scale run is declared; the same experiment on Fashion-MNIST is the cpu-fashion-mnist row '${method} from a ${depth}-layer teacher'`,
  })),
);

export const PUBLISHED: PublishedValue[] = [...ICKD_TABLE, ...IMAGENET_ROWS, ...CAPACITY_BARS];

/**
 * The cpu runs' own numbers, in rows of the cpu setting (table cpu-fashion-mnist), never beside a
 * CIFAR-100 published value: each method's test accuracy in the methods run (plaincnn 6 -> plaincnn 3)
 * and each bar of the capacity run.
 */
const cpuRow = (id: string, metric: string, runId: string, what: string): MeasuredSpec => ({
  id,
  quantity: `${metric} (%)`,
  why: `${what}, Fashion-MNIST (${runId}); not comparable to a CIFAR-100 value`,
  runIds: [runId],
  value: (r: RunRecord) => r.metrics[metric],
  table: 'cpu-fashion-mnist',
});
export const MEASURED: MeasuredSpec[] = [
  ...ICKD_ROWS.flatMap(([row, metric]) =>
    metric ? [cpuRow(`methods ${row}`, metric, METHODS_RUN.id, `${row}, plaincnn 6 -> plaincnn 3`)] : [],
  ),
  ...BARS.flatMap(([method]) =>
    DEPTHS.map((depth) =>
      cpuRow(
        `${method} from a ${depth}-layer teacher`,
        `${method.toLowerCase()}-t${depth}TestAccPct`,
        CAPACITY_RUN.id,
        `${method}, plaincnn ${depth} -> plaincnn 3`,
      ),
    ),
  ),
];

const perSeed = (recs: RunRecord[], runId: string, value: (r: RunRecord) => number): SeedValue[] =>
  recs.filter((r) => r.runId === runId).map((r) => ({ seed: r.seed, value: value(r) }));
const values = (recs: RunRecord[], runId: string, metric: string): number[] =>
  perSeed(recs, runId, (r) => r.metrics[metric]).map((v) => v.value);
const iv = formatMeanInterval;
const lastStage = (recs: RunRecord[], id: string) =>
  ((recs.find((r) => r.runId === id)?.config.stages as string[] | undefined) ?? ['stage2', 'stage3'])[1];
const COMMAND = 'npx nx run cka-maskfeat:reproduce';

// Where the claims come from. The rebuttal repository (zongdaoming/dpk) states the capacity-gap result
// in words (README.md of its first commit, 7f66025); the other claims read figures or tables, described
// here as read, with no sentence quoted.
const REBUTTAL = 'DPK rebuttal (Qiu et al., ICLR 2023 review), zongdaoming/dpk';
const CAPACITY_WHERE = `${REBUTTAL}, README.md at 7f66025, section "1. Capacity-Performance Gap Issue", the paragraph under its figure assets/new_intro.png (the figure the dpk-capacity-gap rows read; at fd17050 the figure is still there, README.md is not); its "student number of layers" and "student size" are the teacher's depth (the figure's axis: "Teacher Size of Varying Layers")`;
const ORDER_WHY = 'the claim is an order, not a size: any positive difference';

function ckaClaim(method: 'mgd' | 'ickd' | 'dpk', label: string): ClaimSpec {
  const id = METHODS_RUN.id;
  return {
    id: `1-${method}-cka-above-vanilla`,
    statement: `${label}'s student is more similar to the teacher at the distilled stage than the vanilla student (debiased minibatch CKA, test set)`,
    source: {
      quote:
        'Figure 1 of the main text as the rebuttal README regenerates it, read from the plot: the sorted per-minibatch CKA of an ICKD-distilled ResNet-18 and a ResNet-34 ("CKA scores of Res18 (ICKD) vs. Res34"); no vanilla student is drawn',
      where: `${REBUTTAL}, README.md at 7f66025, "Code for Generating Figure 1 in the Main Text" (assets/resnet_compare_34_18_fc.png); no sentence is quoted: none of the cited sources (the rebuttal, ICKD's and MGD's READMEs) says in words that a distilled student is closer to its teacher than a vanilla one; the comparison with vanilla is this package's test of that premise`,
    },
    quantity: `debiased minibatch CKA to the teacher at the last distilled stage, ${label} − vanilla student within each seed (unitless)`,
    runIds: [id],
    command: COMMAND,
    threshold: 0,
    holdsWhen: 'above',
    thresholdWhy: ORDER_WHY,
    digits: 4,
    // every student of a seed is trained against that seed's teacher on the same batches
    measure: (recs) => {
      const stage = lastStage(recs, id);
      return {
        kind: 'paired',
        a: perSeed(recs, id, (r) => r.metrics[`${method}Cka_${stage}`]),
        b: perSeed(recs, id, (r) => r.metrics[`vanillaCka_${stage}`]),
      };
    },
    context: (recs) => {
      const stage = lastStage(recs, id);
      const all = ['vanilla', 'kd', 'mgd', 'ickd', 'dpk']
        .map((m) => `${m} ${iv(values(recs, id, `${m}Cka_${stage}`), 4)}`)
        .join(', ');
      return `debiased minibatch CKA (batches of 64, ${values(recs, id, 'testImages')[0]} test images) at ${stage}, ${label} minus vanilla; CKA to the teacher at ${stage}: ${all}`;
    },
  };
}

/** The order of two students' accuracy as the sources show it (from the values above, not typed again). */
const bar = (m: 'KD' | 'DPK') => BARS.find(([x]) => x === m)![1];
const DPK_ABOVE_KD: ClaimSource = {
  quote: `the rebuttal's capacity-gap figure, panel (b) CIFAR100, read from the plot (approximate): the DPK bar above the KD bar from ${bar('DPK').filter((v, k) => v > bar('KD')[k]).length} of the ${DEPTHS.length} teachers (${DEPTHS.join('/')} layers: DPK ${bar('DPK').join('/')}, KD ${bar('KD').join('/')} %)`,
  where: `${REBUTTAL}, assets/new_intro.png (the figure of README.md at 7f66025, section "1. Capacity-Performance Gap Issue"; the dpk-capacity-gap rows read it); no sentence is quoted; DPK's own tables (arXiv 2206.06067) are not readable here`,
};
const ickdRow = (name: string) => ICKD_ROWS.find(([r]) => r === name)![2];
const KD_ABOVE_VANILLA: ClaimSource = {
  quote: `ICKD's CIFAR-100 table, read from the table: the KD row above the vanilla-student row in ${ickdRow('KD').filter((v, k) => v > ickdRow('Vanilla student')[k]).length} of its ${PAIRS.length} teacher-student pairs`,
  where: `${ICKD}, its CIFAR-100 top-1 table (the ickd-cifar100 rows); no sentence is quoted`,
};

function accuracyClaim(a: string, b: string, la: string, lb: string, source: ClaimSource): ClaimSpec {
  const id = METHODS_RUN.id;
  return {
    id: `2-${a}-above-${b}`,
    statement: `accuracy: the ${la} student is at least as accurate as the ${lb} student (DPK ≥ KD ≥ vanilla)`,
    source,
    quantity: `test accuracy, ${la} − ${lb} student within each seed (points)`,
    runIds: [id],
    command: COMMAND,
    threshold: 0,
    holdsWhen: 'above',
    thresholdWhy: ORDER_WHY,
    measure: (recs) => ({
      kind: 'paired',
      a: perSeed(recs, id, (r) => r.metrics[`${a}TestAccPct`]),
      b: perSeed(recs, id, (r) => r.metrics[`${b}TestAccPct`]),
    }),
    context: (recs) => {
      const all = ['teacher0', 'vanilla', 'kd', 'mgd', 'ickd', 'dpk']
        .map((m) => `${m} ${iv(values(recs, id, `${m}TestAccPct`))}`)
        .join(', ');
      return `${la} − ${lb} test accuracy on the ${values(recs, id, 'testImages')[0]} test images; test accuracy: ${all}`;
    },
  };
}

/** Per seed: the mean over stages of DPK's mask ratio (or, with sign −1, CKA) in the first epoch minus the last. */
const stageFall = (recs: RunRecord[], key: (stage: string) => string, sign: number): SeedValue[] => {
  const stages = (recs.find((r) => r.runId === METHODS_RUN.id)?.config.stages as string[] | undefined) ?? [];
  return perSeed(recs, METHODS_RUN.id, (r) => {
    const first = r.history[0];
    const last = r.history[r.history.length - 1];
    return stages.reduce((a, s) => a + sign * ((first?.[key(s)] ?? NaN) - (last?.[key(s)] ?? NaN)), 0) / stages.length;
  });
};

function maskRatioClaim(): ClaimSpec {
  return {
    id: '3-mask-ratio-falls',
    statement: "DPK's mask ratio falls during training as the student-teacher CKA rises",
    source: {
      quote:
        'the six plots under "Dynamic masking ratios of different stages in the training phase." (ResNet50(T)-ResNet18(S) and ResNet152(T)-ResNet18(S), stages 2, 3 and 4, ImageNet), read from the plots: in every one the epoch-mean dynamic masking ratio falls over the 100 training epochs',
      where: `${REBUTTAL}@fd17050, README2.md (assets/50_18_stage_{2,3,4}.png, assets/152_18_stage_{2,3,4}.png); no sentence is quoted (none says that the ratio falls); the link to CKA is the rebuttal's code (classification/engine.py, mode cka: the ratio is 1 − the batch CKA, with a floor)`,
    },
    quantity:
      "DPK's mask ratio, first epoch − last epoch (epoch means of the per-batch ratio), mean over the two distilled stages, one value per seed",
    runIds: [METHODS_RUN.id],
    command: COMMAND,
    threshold: 0,
    holdsWhen: 'above',
    thresholdWhy: 'a fall of any size',
    digits: 3,
    measure: (recs) => ({ kind: 'mean', values: stageFall(recs, (s) => `dpk_${s}_maskRatio`, 1) }),
    context: (recs) => {
      const rs = recs.filter((r) => r.runId === METHODS_RUN.id);
      const stages = (rs[0]?.config.stages as string[] | undefined) ?? [];
      const byStage = stages
        .map((s) => {
          const at = (e: 'first' | 'last', k: string) =>
            rs.map((r) => (e === 'first' ? r.history[0] : r.history[r.history.length - 1])[`dpk_${s}_${k}`]);
          return `${s}: ratio ${iv(at('first', 'maskRatio'), 3)} -> ${iv(at('last', 'maskRatio'), 3)}, batch CKA ${iv(at('first', 'cka'), 3)} -> ${iv(at('last', 'cka'), 3)}`;
        })
        .join('; ');
      const rise = stageFall(recs, (s) => `dpk_${s}_cka`, -1).map((v) => v.value);
      return `fall of DPK's mask ratio from the first to the last epoch, mean over the two stages; ${byStage}; CKA rise (last − first epoch, mean over stages) ${iv(rise, 3)}`;
    },
  };
}

/** Per seed: the student's accuracy with `method` from the `depth`-layer teacher minus the vanilla student's. */
const gains = (recs: RunRecord[], method: 'kd' | 'dpk', depth: number): SeedValue[] =>
  perSeed(recs, CAPACITY_RUN.id, (r) => r.metrics[`${method}-t${depth}TestAccPct`] - r.metrics.vanillaTestAccPct);
const meanOf = (xs: SeedValue[]) => xs.reduce((a, v) => a + v.value, 0) / xs.length;
/** The interior depth (6 or 8) where KD's mean gain is largest: where "rises then falls" peaks. */
const kdPeak = (recs: RunRecord[]) => (meanOf(gains(recs, 'kd', 6)) >= meanOf(gains(recs, 'kd', 8)) ? 6 : 8);
const gainNote = (recs: RunRecord[]) =>
  (['kd', 'dpk'] as const)
    .map(
      (m) =>
        `${m.toUpperCase()} gain over vanilla by teacher depth: ${DEPTHS.map((d) => `${d}: ${iv(gains(recs, m, d).map((v) => v.value))}`).join(', ')}`,
    )
    .join('; ') +
  `; teachers: ${DEPTHS.map((d, k) => `${d} layers ${iv(values(recs, CAPACITY_RUN.id, `teacher${k}TestAccPct`))}`).join(', ')}; vanilla student ${iv(values(recs, CAPACITY_RUN.id, 'vanillaTestAccPct'))}`;

/** A capacity-gap claim: gain(a) − gain(b) within each seed, a and b the depths `pick` chooses. */
function capacityClaim(
  id: string,
  quantity: string,
  statement: string,
  quote: string,
  method: 'kd' | 'dpk',
  pick: (peak: number) => [number, number],
  what: (a: number, b: number) => string,
): ClaimSpec {
  return {
    id,
    statement,
    source: { quote, where: CAPACITY_WHERE },
    quantity,
    runIds: [CAPACITY_RUN.id],
    command: COMMAND,
    threshold: 0,
    holdsWhen: 'above',
    thresholdWhy: 'a rise (or fall) of any size',
    // every student of a seed is trained against that seed's teachers on the same batches
    measure: (recs) => {
      const [a, b] = pick(kdPeak(recs));
      return { kind: 'paired', a: gains(recs, method, a), b: gains(recs, method, b) };
    },
    context: (recs) => {
      const [a, b] = pick(kdPeak(recs));
      return `${what(a, b)}; ${gainNote(recs)}`;
    },
  };
}

const RISE_THEN_FALL =
  'As expected, by increasing the student number of layers, the student performance gain is initially increased and then decreased due to the capacity mismatch by conventional KD, as illustrated in the above Figure.';

export const CLAIMS: ClaimSpec[] = [
  ckaClaim('mgd', 'MGD'),
  ckaClaim('ickd', 'ICKD-C'),
  ckaClaim('dpk', 'DPK'),
  accuracyClaim('dpk', 'kd', 'DPK', 'KD', DPK_ABOVE_KD),
  accuracyClaim('kd', 'vanilla', 'KD', 'vanilla', KD_ABOVE_VANILLA),
  maskRatioClaim(),
  capacityClaim(
    '4a-kd-gain-rises',
    "KD's gain over the vanilla student, at its peak teacher depth (6 or 8, the larger mean gain) − from the 4-layer teacher, within each seed (points)",
    "capacity gap: KD's gain over the vanilla student first rises with teacher depth",
    RISE_THEN_FALL,
    'kd',
    (p) => [p, 4],
    (a, b) => `KD gain(${a}-layer teacher) − gain(${b}-layer) (points; the peak depth is chosen on the means)`,
  ),
  capacityClaim(
    '4b-kd-gain-falls',
    "KD's gain over the vanilla student, at its peak teacher depth − from the 10-layer teacher, within each seed (points)",
    "capacity gap: KD's gain falls again for the deepest (10-layer) teacher",
    RISE_THEN_FALL,
    'kd',
    (p) => [p, 10],
    (a, b) => `KD gain(${a}-layer teacher) − gain(${b}-layer) (points)`,
  ),
  capacityClaim(
    '4c-dpk-gain-keeps-rising',
    "DPK's gain over the vanilla student, from the 10-layer teacher − from the teacher where KD peaks, within each seed (points)",
    "capacity gap: DPK's gain keeps rising with teacher depth where KD's falls",
    'On the other hand, with DPK, the student performance gain is positively correlated to the student size.',
    'dpk',
    (p) => [10, p],
    (a, b) => `DPK gain(${a}-layer teacher) − gain(${b}-layer) (points)`,
  ),
];
