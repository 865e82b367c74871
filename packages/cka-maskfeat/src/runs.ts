/**
 * The runs of the DPK / CKA reproduction. One run = one job for one seed: its teacher(s) trained
 * first, then every student trained on the same batches in the same loop (one checkpoint holds them
 * all), then evaluated and compared with CKA.
 * - `cpu-methods`: one plain-CNN teacher (6 layers, width 32) and a 3-layer width-8 student trained
 *   vanilla, with KD, MGD, ICKD-C and DPK (claims 1-3), plus two networks only for the torch_cka-style
 *   comparisons (a width-32 3-layer plain CNN and a CIFAR ResNet-8).
 * - `cpu-capacity`: the rebuttal's capacity-gap experiment: plain-CNN teachers of 4, 6, 8 and 10 layers,
 *   the same student trained vanilla, with KD from each and with DPK from each (claim 4).
 * - paper scale: CIFAR-100 with two of ICKD's teacher → student pairs (RepDistiller's recipe).
 */
import type { DatasetName } from '@repro/datasets';
import { shade } from '@repro/experiments';
import type { OptimizerConfig, Scale, SeriesStyles } from '@repro/experiments';

export type Method = 'vanilla' | 'kd' | 'mgd' | 'ickd' | 'dpk';

export const METHOD_LABELS: Record<Method, string> = {
  vanilla: 'vanilla',
  kd: 'KD',
  mgd: 'MGD',
  ickd: 'ICKD-C',
  dpk: 'DPK',
};

/** One colour per method in every plot of the package (bars, curves, DPK stages, capacity runs). */
export const METHOD_COLORS: Record<Method, string> = {
  vanilla: '#9d755d',
  kd: '#f58518',
  mgd: '#72b7b2',
  ickd: '#b279a2',
  dpk: '#4c78a8',
};
/** The teachers' bars, and the comparison-only networks by member name. */
export const TEACHER_COLOR = '#79706e';
export const COMPARISON_COLORS: Record<string, string> = { wide: '#54a24b', resnet8: '#e45756' };
/** The run's distilled stages [penultimate, last]: solid and dashed lines. */
export const STAGE_DASHES: [number[], number[]] = [
  [1, 0],
  [6, 3],
];

/**
 * The package's series styles for the plots of one run: a series is a method label (METHOD_LABELS),
 * 'teacher', a member name ('kd', 'kd-t8', 'wide'; also 'comparison network wide') or a member and a
 * distilled stage ('dpk-t8 stage3'). A member takes its method's colour, in a run with several
 * teachers shaded from light (shallowest teacher) to dark (deepest); the run's second stage is dashed.
 */
export function distillStyles(run: Pick<DistillRun, 'students' | 'teachers' | 'stages'>): SeriesStyles {
  return (series) => {
    if (series === 'teacher') return { color: TEACHER_COLOR };
    const method = (Object.keys(METHOD_LABELS) as Method[]).find((m) => METHOD_LABELS[m] === series);
    if (method) return { color: METHOD_COLORS[method] };
    const words = series.replace(/^comparison network /, '').split(' ');
    const stage = words.length > 1 ? run.stages.indexOf(words[words.length - 1]) : -1;
    const name = stage >= 0 ? words.slice(0, -1).join(' ') : words.join(' ');
    const dash = stage >= 0 ? { dash: STAGE_DASHES[stage] } : {};
    const s = run.students.find((x) => x.name === name);
    if (!s) return undefined;
    if (s.net) return { color: COMPARISON_COLORS[s.name], ...dash };
    const base = METHOD_COLORS[s.method];
    const color =
      run.teachers.length > 1 && s.method !== 'vanilla' ? shade(base, s.teacher, run.teachers.length) : base;
    return { color, ...dash };
  };
}

export interface NetSpec {
  /** Registry name. */
  model: string;
  nfilters: number;
  /** plaincnn's depth (other models ignore it). */
  depth?: number;
}

export interface StudentSpec {
  /** Member name in records and plots, e.g. 'kd' or 'kd-t8'. */
  name: string;
  method: Method;
  /** Index into the run's teachers (ignored by vanilla). */
  teacher: number;
  /** Another architecture than the run's student (the comparison-only networks). */
  net?: NetSpec;
}

export interface DistillRun {
  id: string;
  row: string;
  description: string;
  scale: Exclude<Scale, 'smoke'>;
  kind: 'methods' | 'capacity';
  dataset: DatasetName;
  trainPerClass?: number;
  teachers: NetSpec[];
  student: NetSpec;
  students: StudentSpec[];
  /** The two distilled maps of teacher and student, [penultimate stage, last stage]. */
  stages: [string, string];
  teacherEpochs: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  seeds: number[];
  /** Hinton KD as RepDistiller runs it: ce·CE + kl·KL(T)·T². */
  kd: { temperature: number; ce: number; kl: number };
  /** MGD (mgd.py): channel mask ratio λ, loss weight α, on the last stage. */
  mgd: { alpha: number; lambda: number };
  /** ICKD-C (w/o KL): CE + β·ICKD on the last stage. */
  ickd: { beta: number };
  /** DPK: γ·CE + α·KL(T)·T² + β·Σ MSE over both stages; generator sizes; mask ratio from CKA. */
  dpk: {
    gamma: number;
    alpha: number;
    beta: number;
    temperature: number;
    generator: { dim: number; encoderDepth: number; decoderDepth: number; heads: number; mlpRatio: number };
    generatorOptimizer: OptimizerConfig;
    /** Mask ratio when CKA is NaN/inf, ≤ 0.1 or ≥ 1 (engine.py: 0.8). */
    fallbackRatio: number;
    /** Smallest ratio (max(1 − CKA, 0.1)). */
    minRatio: number;
    /** Smallest number of masked positions (engine.py: 4). */
    minMasked: number;
  };
  /** Test images per class for the per-epoch accuracy curve (undefined: all). */
  curveImagesPerClass?: number;
  /** Test images per class for the torch_cka-style comparisons (undefined: all). */
  compareImagesPerClass?: number;
  /** Compute the rebuttal's per-minibatch CKA (400 minibatches of 25) for every student. */
  perMinibatch: boolean;
}

const RECIPE = {
  kd: { temperature: 4, ce: 0.1, kl: 0.9 },
  ickd: { beta: 2.5 },
  dpk: {
    gamma: 0.8,
    alpha: 0.8,
    beta: 0.2,
    temperature: 1,
    fallbackRatio: 0.8,
    minRatio: 0.1,
    minMasked: 4,
  },
};

/** cpu protocol (README "Choosing the cpu setting"): Fashion-MNIST, 300 training images per class. */
export const CPU_TRAIN_PER_CLASS = 300;
export const CPU_EPOCHS = 10;
const CPU_TEACHER: NetSpec = { model: 'plaincnn', depth: 6, nfilters: 32 };
const CPU_STUDENT: NetSpec = { model: 'plaincnn', depth: 3, nfilters: 8 };
const CPU_COMMON = {
  scale: 'cpu' as const,
  dataset: 'fashion-mnist' as DatasetName,
  trainPerClass: CPU_TRAIN_PER_CLASS,
  student: CPU_STUDENT,
  stages: ['stage2', 'stage3'] as [string, string],
  teacherEpochs: CPU_EPOCHS,
  epochs: CPU_EPOCHS,
  batchSize: 128,
  optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } as OptimizerConfig,
  seeds: [1, 2, 3, 4],
  ...RECIPE,
  // mgd.py's α = 7e-5 is for ImageNet layer4 maps of 512·7·7 = 25,088 values; ours are 128·3·3 = 1,152:
  // α scaled by that ratio so that α·(C·H·W), the loss per unit squared error, is mgd.py's
  mgd: { alpha: (7e-5 * 25088) / 1152, lambda: 0.15 },
  dpk: {
    ...RECIPE.dpk,
    generator: { dim: 32, encoderDepth: 1, decoderDepth: 1, heads: 2, mlpRatio: 2 },
    // DPK: AdamW lr 1e-4 over 200 epochs with 20 warm-up epochs; 10 epochs need a larger step
    generatorOptimizer: { kind: 'adam', lr: 1e-3 } as OptimizerConfig,
  },
  curveImagesPerClass: 100,
  compareImagesPerClass: 200,
  perMinibatch: true,
};

export const CPU_RUNS: DistillRun[] = [
  {
    ...CPU_COMMON,
    id: 'cpu-methods',
    row: 'Fashion-MNIST plain CNN 6 -> 3',
    description:
      'teacher plaincnn 6 layers width 32; student plaincnn 3 layers width 8: vanilla, KD, MGD, ICKD-C, DPK; and two networks for the comparisons',
    kind: 'methods',
    teachers: [CPU_TEACHER],
    students: [
      { name: 'vanilla', method: 'vanilla', teacher: 0 },
      { name: 'kd', method: 'kd', teacher: 0 },
      { name: 'mgd', method: 'mgd', teacher: 0 },
      { name: 'ickd', method: 'ickd', teacher: 0 },
      { name: 'dpk', method: 'dpk', teacher: 0 },
      { name: 'wide', method: 'vanilla', teacher: 0, net: { model: 'plaincnn', depth: 3, nfilters: 32 } },
      { name: 'resnet8', method: 'vanilla', teacher: 0, net: { model: 'resnet8', nfilters: 8 } },
    ],
  },
  {
    ...CPU_COMMON,
    id: 'cpu-capacity',
    row: 'Fashion-MNIST capacity gap (teachers of 4/6/8/10 layers)',
    description:
      'plaincnn teachers of 4, 6, 8, 10 layers (width 32); the 3-layer width-8 student vanilla, with KD and with DPK from each',
    kind: 'capacity',
    // 8 teacher epochs (the methods run's teacher: 10) and no per-minibatch figures keep the cpu scale
    // within its 40-minute budget; the teachers' accuracy has flattened by epoch 6-8 (the run records)
    teacherEpochs: 8,
    perMinibatch: false,
    teachers: [4, 6, 8, 10].map((depth) => ({ model: 'plaincnn', depth, nfilters: 32 })),
    students: [
      { name: 'vanilla', method: 'vanilla', teacher: 0 },
      ...[4, 6, 8, 10].flatMap((d, k): StudentSpec[] => [
        { name: `kd-t${d}`, method: 'kd', teacher: k },
        { name: `dpk-t${d}`, method: 'dpk', teacher: k },
      ]),
    ],
  },
];

/** RepDistiller's CIFAR-100 recipe (ICKD's train_student.py): 240 epochs, SGD 0.05, ×0.1 at 150/180/210. */
const paperRun = (teacher: string, student: string): DistillRun => ({
  id: `paper-cifar100-${teacher}-${student}`,
  row: `CIFAR-100 ${teacher} -> ${student}`,
  description: `CIFAR-100, ${teacher} teacher (trained here first), ${student} student: vanilla, KD, MGD, ICKD-C, DPK (RepDistiller recipe)`,
  scale: 'paper',
  kind: 'methods',
  dataset: 'cifar100',
  teachers: [{ model: teacher, nfilters: teacher.endsWith('x4') ? 64 : 16 }],
  student: { model: student, nfilters: student.endsWith('x4') ? 64 : 16 },
  students: (['vanilla', 'kd', 'mgd', 'ickd', 'dpk'] as Method[]).map((m) => ({ name: m, method: m, teacher: 0 })),
  stages: ['stage2', 'features_conv'],
  teacherEpochs: 240,
  epochs: 240,
  batchSize: 64,
  optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  seeds: [1],
  perMinibatch: true,
  ...RECIPE,
  mgd: { alpha: 7e-5, lambda: 0.15 },
  dpk: {
    ...RECIPE.dpk,
    generator: { dim: 256, encoderDepth: 6, decoderDepth: 4, heads: 8, mlpRatio: 4 },
    generatorOptimizer: { kind: 'adam', lr: 1e-4 },
  },
});

export const PAPER_RUNS: DistillRun[] = [paperRun('resnet56', 'resnet20'), paperRun('resnet32x4', 'resnet8x4')];

export const ALL_RUNS: DistillRun[] = [...PAPER_RUNS, ...CPU_RUNS];

/** The paper schedule: MultiStepLR ×0.1 at 150, 180, 210 (of 240); cpu: cosine over the epochs. */
export const PAPER_MILESTONES = [150, 180, 210];
