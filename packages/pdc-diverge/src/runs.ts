/**
 * The runs of the PDC reproduction. One run = one diverge job for one seed: the attacked model f1,
 * the diverge triple (net 0 = Baseline, net 1, net 2 = Ours) and, at cpu scale, a weaker network for
 * the Table 2 analogue, all trained in the same loop, then attacked and compared. Paper scale: the
 * CIFAR-10 ResNet-18 row and the four ImageNet rows of Table 1 with the official recipe; cpu scale: a
 * Fashion-MNIST analog that reaches its plateau in minutes (protocol in this package's README).
 */
import type { DatasetName } from '@repro/datasets';
import type { OptimizerConfig, Scale, SeriesStyles } from '@repro/experiments';

/**
 * One colour per network in every plot of the package: net 0 is Baseline, the last diverge net is
 * Ours, f1 the attacked (white-box) model; the Table 2 statistics have theirs too.
 */
export const NET_COLORS = { baseline: '#4c78a8', ours: '#f58518', f1: '#e45756', between: '#72b7b2' };
export const STAT_COLORS: Record<string, string> = {
  bcdcor: '#b279a2',
  'official P_DC': '#54a24b',
  'Székely-Rizzo pdcor': '#9d755d',
};

/**
 * The package's series styles: a series names a network first ('Baseline (net 0)', 'Ours (net 2)',
 * 'f1 (white box)', 'net1', 'net2: mean row-normalised dCor² …') or is a Table 2 statistic.
 */
export function divergeStyles(numNets: number): SeriesStyles {
  return (series) => {
    if (STAT_COLORS[series]) return { color: STAT_COLORS[series] };
    if (/^f1\b/.test(series)) return { color: NET_COLORS.f1 };
    if (/^Baseline\b/.test(series)) return { color: NET_COLORS.baseline };
    if (/^Ours\b/.test(series)) return { color: NET_COLORS.ours };
    const k = /^net(\d+)\b/.exec(series);
    if (!k) return undefined;
    const i = Number(k[1]);
    return { color: i === 0 ? NET_COLORS.baseline : i === numNets - 1 ? NET_COLORS.ours : NET_COLORS.between };
  };
}

/** A registry model with its options: the weak net of the Table 2 analogue. */
export interface WeakNet {
  model: string;
  nfilters: number;
  /** Depth option of the registry model (plaincnn), when it has one. */
  depth?: number;
  /** How it is described in notes and plots. */
  label: string;
}

export interface DivergeRun {
  id: string;
  /** The Table 1 row it stands for, or the cpu variant. */
  row: string;
  description: string;
  scale: Exclude<Scale, 'smoke'>;
  model: string;
  /** Width option of the registry model (nfilters), when not the model's default. */
  nfilters?: number;
  dataset: DatasetName;
  /** Train on the first k images of each class (cpu scale). */
  trainPerClass?: number;
  /** Number of diverge networks (official --num_nets 3): net 0 plain CE, net k CE + α · mean DC to nets < k. */
  numNets: number;
  /** Weight of the DC term (official --alpha 0.05). */
  alpha: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  /** 'official': MultiStepLR ×0.1 at epochs 10, 20, 30 (imagenet_main.py L154-155); 'cosine': per-epoch cosine to 0. */
  schedule: 'official' | 'cosine';
  seeds: number[];
  /** The transferred attacks and their test images; none for an α-sweep run (clean accuracy and DC only, no Grad-CAM). */
  attack?: {
    /** ε values in normalised-input units, attacked with FGM and PGD. */
    epsilons: number[];
    /** Further ε attacked with FGM only (context rows at the cpu scale, beyond the paper's ε). */
    fgmOnlyEpsilons?: number[];
    pgdSteps: number;
    pgdStepSize: number;
    /** Test images attacked: the first k of each class (undefined: the whole test set). */
    imagesPerClass?: number;
  };
  /**
   * The weaker network of the Table 2 analogue: its own architecture and width (the published pairs
   * differ in architecture and accuracy, not only in width); none at paper scale.
   */
  weak?: WeakNet;
  /** Test images per class for the per-epoch accuracy curve (undefined: all). */
  curveImagesPerClass?: number;
}

/** Official recipe (Diverge_Training/imagenet_main.py): SGD 0.1, momentum 0.9, wd 5e-4, batch 128, 40 epochs. */
const OFFICIAL_SGD: OptimizerConfig = { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
/** Table 1's ε (normalised units) with cleverhans PGD: 40 steps of 0.01, random start (test_adv_attack_*.py L195-196). */
const PAPER_ATTACK = { epsilons: [0.03, 0.05, 0.1], pgdSteps: 40, pgdStepSize: 0.01 };

const paperRun = (
  id: string,
  row: string,
  model: string,
  dataset: 'cifar10' | 'imagenet',
  what: string,
): DivergeRun => ({
  id,
  row,
  description: what,
  scale: 'paper',
  model,
  dataset,
  numNets: 3,
  alpha: 0.05,
  epochs: 40,
  batchSize: 128,
  optimizer: OFFICIAL_SGD,
  schedule: 'official',
  seeds: [1],
  attack: PAPER_ATTACK,
});

export const PAPER_RUNS: DivergeRun[] = [
  paperRun(
    'paper-cifar10-resnet18',
    'CIFAR10 ResNet 18',
    'resnet18',
    'cifar10',
    'CIFAR-10 ResNet-18 (kuangliu layout, pooled 512-d features); the repo has no CIFAR script: its ImageNet recipe',
  ),
  paperRun(
    'paper-imagenet-mobilenetv3_small',
    'ImageNet MobileNet-v3-small',
    'mobilenetv3_small',
    'imagenet',
    'ImageNet MobileNet-v3-small from scratch',
  ),
  paperRun(
    'paper-imagenet-efficientnet_b0',
    'ImageNet EfficientNet-B0',
    'efficientnet_b0',
    'imagenet',
    'ImageNet EfficientNet-B0 from scratch',
  ),
  paperRun('paper-imagenet-resnet34', 'ImageNet ResNet 34', 'resnet34', 'imagenet', 'ImageNet ResNet-34 from scratch'),
  paperRun(
    'paper-imagenet-resnet152',
    'ImageNet ResNet 152',
    'resnet152',
    'imagenet',
    'ImageNet ResNet-152 from scratch',
  ),
];

/**
 * cpu protocol: Fashion-MNIST, 600 training images per class, 20 epochs (a plateau: pilot gains of the
 * last 2 epochs over the 2 before were within ±0.25 points), convnet 16/32/64 (64-d pooled features), SGD
 * 0.05 momentum 0.9 wd 5e-4 with cosine decay (the official 40-epoch step schedule does not fit). Attacks
 * and clean accuracy on the same images: the whole 10,000-image test set. ε: the paper's three with FGM
 * and PGD-40 (claim 1), and 0.2 and 0.3 with FGM only (context: on Fashion-MNIST the paper's ε move
 * accuracy by a few points; PGD-40 there would double the attack time).
 */
export const CPU_EPOCHS = 20;
export const CPU_TRAIN_PER_CLASS = 600;

/**
 * The α the claims run at. The rule: the smallest of the sweep whose decorrelation interval
 * (bcdcor(net 2, net 0) − bcdcor(f1, net 0), paired by seed) lies below 0, checked on the records by the
 * claims' `alpha-choice` precondition. One-seed pilots pointed at 0.15; the claims run at 0.15 (4 seeds,
 * records at commit 45f43a2) decorrelated in every seed but by very different amounts (one seed far
 * more than the other three), so its own interval straddled 0; at 2 the term decorrelates by the same
 * large amount in every seed, so the claims run at 2. The 0.15 sweep run (4 seeds) decorrelates, so
 * `alpha-choice` fails for 2 and says so (README, "The α sweep").
 */
export const CLAIM_ALPHA = 2;
/**
 * The α sweep: the official value 0.05 (Diverge_Training/imagenet_main.py, --alpha), 0.15 and the
 * claims' 2 (0.5 sat between 0.15 and 2 in the pilots and did not fit the budget).
 */
export const ALPHA_SWEEP = [0.05, 0.15, 2];
export const PAPER_ALPHA = 0.05;

const CPU_BASE = {
  scale: 'cpu' as const,
  model: 'convnet',
  nfilters: 16,
  dataset: 'fashion-mnist' as const,
  trainPerClass: CPU_TRAIN_PER_CLASS,
  numNets: 3,
  epochs: CPU_EPOCHS,
  batchSize: 128,
  optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } as OptimizerConfig,
  schedule: 'cosine' as const,
  curveImagesPerClass: 200,
};

export const CPU_RUNS: DivergeRun[] = [
  {
    ...CPU_BASE,
    id: 'cpu-convnet-diverge',
    row: 'Fashion-MNIST convnet',
    description: `Fashion-MNIST, convnet 16/32/64: f1, the diverge triple (alpha ${CLAIM_ALPHA}) and a weak plaincnn-3 width 4, trained together; attacks on the whole test set`,
    alpha: CLAIM_ALPHA,
    seeds: [1, 2, 3, 4],
    attack: { epsilons: [0.03, 0.05, 0.1], fgmOnlyEpsilons: [0.2, 0.3], pgdSteps: 40, pgdStepSize: 0.01 },
    weak: { model: 'plaincnn', nfilters: 4, depth: 3, label: 'plaincnn-3 width 4' },
  },
];

/**
 * The α sweep: where the diverge term measurably decorrelates at cpu scale. Each run trains f1 and the
 * diverge triple at one α (no attacks, no weak net) and records, on the test set, bcdcor(net 2, net 0)
 * against bcdcor(f1, net 0) (two independently trained cross-entropy nets) and the clean accuracies.
 * The claims run is the sweep's point at CLAIM_ALPHA; the paper's 0.05 is its own run (claim 3).
 */
/** 4 seeds, as the claims run: with 3, the interval at 0.15 ended just above 0 (t with 2 degrees of freedom). */
export const SWEEP_SEEDS = [1, 2, 3, 4];
export const SWEEP_RUNS: DivergeRun[] = ALPHA_SWEEP.filter((a) => a !== CLAIM_ALPHA).map((alpha) => ({
  ...CPU_BASE,
  id: `cpu-sweep-alpha${alpha}`,
  row: `alpha sweep ${alpha}`,
  description: `alpha sweep: f1 and the diverge triple at alpha ${alpha}${alpha === PAPER_ALPHA ? " (the paper's value)" : ''}, no attacks`,
  alpha,
  seeds: SWEEP_SEEDS,
}));

/** The run that holds the sweep's point at an α (the claims run at CLAIM_ALPHA). */
export const sweepRunOf = (alpha: number): DivergeRun =>
  alpha === CLAIM_ALPHA ? CPU_RUNS[0] : SWEEP_RUNS.find((r) => r.alpha === alpha)!;

export const ALL_RUNS: DivergeRun[] = [...PAPER_RUNS, ...CPU_RUNS, ...SWEEP_RUNS];
