/**
 * The runs of the discriminability-transferability reproduction (Cui, Zhao et al., ECCV 2022,
 * DTennant/dt-tradeoff). One run = one job for one seed: train (vanilla or CTC) with a checkpoint
 * every `saveFreq` epochs, then analyse every checkpoint (source accuracy, two linear-probe protocols
 * on the target task, MINE estimates of I(X;T) and I(T;Y)).
 * - cpu: Fashion-MNIST with a coarse source task (two super-classes: upper-body garments vs the rest)
 *   and the ten fine classes as the target (README "Choosing the cpu setting"); `cpu-pilot-4class`
 *   is the pilot's other source task (four super-classes), kept as evidence.
 * - paper: CIFAR-100 → CINIC-10 with ResNeXt32-16x4d and the README's exact recipes.
 */
import type { DatasetName } from '@repro/datasets';
import { shade } from '@repro/experiments';
import type { Scale, SeriesStyles } from '@repro/experiments';

export interface NetSpec {
  model: string;
  nfilters?: number;
  depth?: number;
}

/** Super-classes of the source task: each group of fine classes becomes one source label. */
export interface SourceTask {
  groups: number[][];
  names: string[];
}

/** The linear probe (transfer.py): SGD on a new linear head over the frozen backbone, cosine over `epochs`. */
export interface ProbeConfig {
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
}

/** One MINE estimate's settings (mine.py's flags; the statistics network is hidden-hidden-hidden-1). */
export interface MineSettings {
  /** Adam's learning rate (mine.py's --lr), core-metrics' `learningRate`. */
  learningRate: number;
  iterations: number;
  hidden: number;
  batchSize: number;
}

export interface MineConfig {
  /** Analyse MINE at checkpoints whose epoch is a multiple of this (and at epoch 0 and the last); 0: never. */
  everyEpochs: number;
  /** Instead of everyEpochs: exactly these checkpoint epochs. */
  epochs?: number[];
  /** Held-out examples the estimates use (the source test split; the estimator holds out 20% of them). */
  examples: number;
  /** X = the input average-pooled by this factor per side, then flattened (1: the raw pixels). */
  xPool: number;
  xt: MineSettings;
  ty: MineSettings;
  /** Extra MINE seeds at the last checkpoint, for the estimator's seed-to-seed spread. */
  spreadSeeds: number[];
}

/** CTC (train_ctc.py): its flags, named as in the README. */
export interface CtcConfig {
  /** -a: weight of the stage-1 instance discrimination. */
  a: number;
  /** -b: weight of the stage-2 temporal NCE. */
  b: number;
  instanceT: number;
  instanceM: number;
  /** --instance_dim */
  instanceDim: number;
  nceT: number;
  nceM: number;
  nceK: number;
  /** --contrast_feat_dim */
  contrastFeatDim: number;
  stageTwoEpoch: number;
  stageTwoDecayRate: number;
  weightDecayCoef: number;
  updateMemoryBank: boolean;
  /** Quirk fix: train the stage-1 projector (the official code never gives it to the optimizer). */
  trainProjector: boolean;
  /** Quirk fix: recompute the NCE normaliser Z every batch (the official code freezes it at the first stage-2 batch). */
  renormalizeNce: boolean;
}

export interface DtRun {
  id: string;
  row: string;
  description: string;
  scale: Exclude<Scale, 'smoke'>;
  /** vanilla / CTC training and its analysis, or MINE's correctness check on Gaussians at the run's MINE settings. */
  kind: 'vanilla' | 'ctc' | 'mine-check';
  source: DatasetName;
  /** Source labels: the dataset's own classes (undefined) or super-classes. */
  sourceTask?: SourceTask;
  /** Training images per fine class (undefined: all). */
  trainPerClass?: number;
  /** Source test images per fine class (undefined: all). */
  testPerClass?: number;
  target: DatasetName;
  /** Target images per class for the probe's training and evaluation splits (undefined: all). */
  probeTrainPerClass?: number;
  probeTestPerClass?: number;
  model: NetSpec;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** train_vanilla.py: linear warm-up epochs, then cosine to minLrScale·lr (util.py adjust_learning_rate_cosine). */
  warmupEpochs: number;
  minLrScale: number;
  augment: { cropPadding?: number; horizontalFlip: boolean };
  /** Keep a checkpoint every this many epochs (--save_freq), plus the initial weights (epoch 0). */
  saveFreq: number;
  probe: ProbeConfig;
  mine: MineConfig;
  ctc?: CtcConfig;
  seeds: number[];
}

export const PACKAGE = 'dt-tradeoff-ctc';

/** One colour per method in every plot of the package (vanilla vs CTC). */
export const METHOD_COLORS = { vanilla: '#9d755d', CTC: '#4c78a8' };
/** One colour per quantity in every per-run plot (none is a method's colour). */
export const QUANTITY_COLORS: Array<[string, string]> = [
  ['I(X;T)', '#b279a2'],
  ['I(T;Y source)', '#72b7b2'],
  ['I(T;Y target)', '#e377c2'],
  ['source test accuracy', '#e45756'],
  ['repo probe', '#f58518'],
  ['strict probe', '#54a24b'],
];
/** The second line of a pair: the strict probe beside the repo probe, a held-out MINE value beside the training window's. */
export const SECOND_DASH = [6, 3];

/**
 * The package's series styles. 'vanilla, strict probe' / 'CTC, repo probe': the method's colour, the
 * strict probe dashed; a quantity ('repo probe', 'I(X;T) held out', …) its colour, held-out values
 * dashed; checkpoints ('epoch 20 (…)') shades of `checkpointsOf`'s colour, darker with the epoch.
 */
export function dtStyles(checkpointsOf?: string): SeriesStyles {
  const quantity = (series: string) => QUANTITY_COLORS.find(([q]) => series.includes(q))?.[1];
  return (series, _rank, all) => {
    const m = /^(vanilla|CTC), /.exec(series);
    if (m)
      return {
        color: METHOD_COLORS[m[1] as keyof typeof METHOD_COLORS],
        ...(series.includes('strict probe') ? { dash: SECOND_DASH } : {}),
      };
    if (/^epoch \d+/.test(series) && checkpointsOf) {
      const epochs = all.filter((s) => /^epoch \d+/.test(s));
      return { color: shade(quantity(checkpointsOf) ?? '#79706e', epochs.indexOf(series), epochs.length) };
    }
    const color = quantity(series);
    return color ? { color, ...(series.includes('held out') ? { dash: SECOND_DASH } : {}) } : undefined;
  };
}

/** Fashion-MNIST: upper-body garments {T-shirt, pullover, dress, coat, shirt} vs the rest. */
export const BINARY_SOURCE: SourceTask = {
  groups: [
    [0, 2, 3, 4, 6],
    [1, 5, 7, 8, 9],
  ],
  names: ['upper-body garment', 'other'],
};

/** The pilot's 4-way source: tops / trouser / footwear / bag. */
export const FOUR_CLASS_SOURCE: SourceTask = {
  groups: [[0, 2, 3, 4, 6], [1], [5, 7, 9], [8]],
  names: ['top', 'trouser', 'footwear', 'bag'],
};

/** transfer.py defaults (L30-37; the README uses them). */
export const REPO_PROBE: ProbeConfig = { epochs: 30, lr: 0.4, momentum: 0.9, weightDecay: 5e-4, batchSize: 512 };

/** The README's two CTC settings share these. */
const CTC_COMMON = {
  instanceDim: 128,
  contrastFeatDim: 128,
  nceK: 16384,
  stageTwoDecayRate: 0.1,
  weightDecayCoef: 2.0,
  updateMemoryBank: true,
  trainProjector: false,
  renormalizeNce: false,
};

/** README "For emphasizing transferability". */
export const CTC_TRANSFERABILITY = {
  ...CTC_COMMON,
  a: 0.5,
  b: 1.0,
  instanceT: 0.1,
  instanceM: 0.9,
  nceT: 0.1,
  nceM: 0.9,
};
/** README "For emphasizing discriminability". */
export const CTC_DISCRIMINABILITY = {
  ...CTC_COMMON,
  a: 0.1,
  b: 1.0,
  instanceT: 0.5,
  instanceM: 0.9,
  nceT: 0.4,
  nceM: 0.9,
};

export const CPU_EPOCHS = 40;
/** CTC at cpu keeps the paper's proportions: stage 2 starts where vanilla training ends, and lasts half as long. */
export const CPU_CTC_EPOCHS = 60;

const CPU_COMMON = {
  scale: 'cpu' as const,
  source: 'fashion-mnist' as DatasetName,
  sourceTask: BINARY_SOURCE,
  trainPerClass: 600,
  testPerClass: 500,
  target: 'fashion-mnist' as DatasetName,
  probeTrainPerClass: 500,
  probeTestPerClass: 500,
  model: { model: 'plaincnn', depth: 6, nfilters: 16 },
  epochs: CPU_EPOCHS,
  batchSize: 128,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  warmupEpochs: 5,
  minLrScale: 0.1,
  augment: { horizontalFlip: true },
  saveFreq: 5,
  probe: { ...REPO_PROBE, epochs: 6 },
  mine: {
    everyEpochs: 10,
    examples: 4000,
    xPool: 2,
    // the golden Gaussian cases' settings (hidden 64, batch 500) at lr × iterations = 0.28
    xt: { learningRate: 4e-4, iterations: 700, hidden: 64, batchSize: 500 },
    ty: { learningRate: 4e-4, iterations: 700, hidden: 64, batchSize: 500 },
    spreadSeeds: [101],
  },
  seeds: [1, 2, 3],
};

export const CPU_RUNS: DtRun[] = [
  {
    ...CPU_COMMON,
    id: 'cpu-vanilla',
    row: 'temporal analysis (vanilla training)',
    description:
      'plain CNN (6 conv, width 16) on a binary Fashion-MNIST super-class task, 40 epochs; every 2nd epoch: source accuracy, two probes on the ten fine classes, MINE',
    kind: 'vanilla',
  },
  {
    ...CPU_COMMON,
    id: 'cpu-ctc',
    row: 'CTC (transferability-emphasising setting)',
    description:
      "the same network trained with CTC: stage 1 (CE + a·instance discrimination) for 40 epochs, a snapshot, stage 2 (CE + b·temporal NCE) for 20; the README's transferability setting",
    kind: 'ctc',
    epochs: CPU_CTC_EPOCHS,
    saveFreq: 20,
    // epoch 0 is vanilla's epoch 0 (the same initial weights); MINE at the end of each stage
    mine: { ...CPU_COMMON.mine, epochs: [CPU_EPOCHS, CPU_CTC_EPOCHS], spreadSeeds: [] },
    ctc: { ...CTC_TRANSFERABILITY, stageTwoEpoch: CPU_EPOCHS, nceK: 1024 },
  },
  {
    ...CPU_COMMON,
    id: 'cpu-pilot-4class',
    row: 'pilot: a four-way source task',
    description:
      "the cpu-vanilla recipe with four super-classes (tops / trouser / footwear / bag) as the source labels; the pilot's evidence for the binary task",
    kind: 'vanilla',
    sourceTask: FOUR_CLASS_SOURCE,
    saveFreq: 10,
    mine: { ...CPU_COMMON.mine, everyEpochs: 0, spreadSeeds: [] },
    seeds: [1],
  },
  {
    ...CPU_COMMON,
    id: 'cpu-mine-gaussian',
    row: "MINE's correctness at the analysis settings",
    description:
      'MINE (the cpu settings: hidden 64, batch 500, lr 4e-4, 700 iterations) on correlated Gaussians with an analytic MI: the golden cases and two at the analysis input sizes',
    kind: 'mine-check',
  },
];

const PAPER_COMMON = {
  scale: 'paper' as const,
  source: 'cifar100' as DatasetName,
  target: 'cinic10' as DatasetName,
  model: { model: 'resnext32_16x4d' },
  batchSize: 64,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  warmupEpochs: 5,
  minLrScale: 0.1,
  augment: { cropPadding: 4, horizontalFlip: true },
  saveFreq: 2,
  probe: REPO_PROBE,
  mine: {
    everyEpochs: 2,
    examples: 10000,
    xPool: 1,
    // README: xt --lr 8e-5 --iter_num 1e+4; ty --lr 1e-5 --iter_num 2e+4; mine.py: hidden 1024, batch 5000
    xt: { learningRate: 8e-5, iterations: 10000, hidden: 1024, batchSize: 5000 },
    ty: { learningRate: 1e-5, iterations: 20000, hidden: 1024, batchSize: 5000 },
    spreadSeeds: [101, 102],
  },
  seeds: [1],
};

export const PAPER_RUNS: DtRun[] = [
  {
    ...PAPER_COMMON,
    id: 'paper-vanilla',
    row: 'README "Observing over-compression": vanilla ResNeXt32-16x4d on CIFAR-100, 200 epochs, CINIC-10 transfer',
    description: 'train_vanilla.py --epochs 200 --save_freq 2; transfer.py and mine.py on every checkpoint',
    kind: 'vanilla',
    epochs: 200,
  },
  {
    ...PAPER_COMMON,
    id: 'paper-ctc-transferability',
    row: 'README "Alleviating over-compression": CTC emphasising transferability',
    description: 'train_ctc.py --epochs 300 --stage_two_epoch 200 -a 0.5 -b 1.0 --instance_t 0.10 --nce_t 0.10',
    kind: 'ctc',
    epochs: 300,
    ctc: { ...CTC_TRANSFERABILITY, stageTwoEpoch: 200 },
  },
  {
    ...PAPER_COMMON,
    id: 'paper-ctc-discriminability',
    row: 'README "Alleviating over-compression": CTC emphasising discriminability',
    description: 'train_ctc.py --epochs 300 --stage_two_epoch 200 -a 0.1 -b 1.0 --instance_t 0.50 --nce_t 0.40',
    kind: 'ctc',
    epochs: 300,
    ctc: { ...CTC_DISCRIMINABILITY, stageTwoEpoch: 200 },
  },
];

export const ALL_RUNS: DtRun[] = [...CPU_RUNS, ...PAPER_RUNS];

/**
 * The run at a scale. smoke shrinks a cpu run to seconds: the 300-image fixture, a width-4 network,
 * 4 epochs (CTC: stage 2 from epoch 3), 2-epoch probes, 60-iteration MINE.
 */
export function resolveRun(run: DtRun, scale: Scale): DtRun {
  if (scale !== 'smoke') return run;
  const smokeMine = { learningRate: 1e-3, iterations: 60, hidden: 16, batchSize: 50 };
  return {
    ...run,
    // the fixture has about 30 training and 10 test images per class: half for the source, half for the probe
    trainPerClass: 15,
    testPerClass: 5,
    probeTrainPerClass: 15,
    probeTestPerClass: 5,
    model: { ...run.model, nfilters: 4 },
    epochs: run.kind === 'ctc' ? 5 : 4,
    batchSize: 32,
    warmupEpochs: 1,
    saveFreq: 2,
    probe: { ...run.probe, epochs: 2, batchSize: 64 },
    mine: {
      ...run.mine,
      everyEpochs: 2,
      examples: 100,
      xt: smokeMine,
      ty: smokeMine,
      spreadSeeds: run.mine.spreadSeeds.slice(0, 1),
    },
    ...(run.ctc ? { ctc: { ...run.ctc, stageTwoEpoch: 3, nceK: 16 } } : {}),
  };
}
