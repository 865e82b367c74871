/**
 * The architectures of Klachko's PNN re-examination (michaelklachko/pnn.pytorch@08865db models.py):
 * lenet, cifarnet, perturb_resnet18, noiseresnet18 and the kuangliu resnet18 baseline. Every flag of
 * the reference's CLI that shapes a model is an option here (see PnnOptions).
 */
import * as tf from '@tensorflow/tfjs';
import { registerModel, BaseModelOptions } from './registry';
import { PerturbLayer } from './layers/perturb';
import { NoiseLayer } from './layers/noise-layer';
import { SeedSequence, Sym, add, avgPool, bn, conv, dense, dropout, flatten, maxPool, relu } from './blocks';

export interface PnnOptions extends BaseModelOptions {
  /** First layer: 0 (perturbation), 1, 3, 5 or 7 (--first_filter_size). */
  firstFilterSize: 0 | 1 | 3 | 5 | 7;
  /** Other layers: 0 (perturbation), 1 (plain 1×1), 3 (plain 3×3), 5 (--filter_size). */
  filterSize: 0 | 1 | 3 | 5 | 7;
  nmasks: number;
  level: number;
  /** The first layer's noise level is level·scaleNoise (--scale_noise). */
  scaleNoise: number;
  uniqueMasks: boolean;
  trainMasks: boolean;
  mixMaps: boolean;
  /** ReLU after the noise in the first layer (--use_act); later layers always have it. */
  useAct: boolean;
  noiseType: 'uniform' | 'normal';
  dropout: number;
}

const PNN_DEFAULTS: Partial<PnnOptions> = {
  nfilters: 64,
  firstFilterSize: 3,
  filterSize: 0,
  nmasks: 1,
  level: 0.5,
  scaleNoise: 1,
  uniqueMasks: true,
  trainMasks: false,
  mixMaps: false,
  useAct: false,
  noiseType: 'uniform',
  dropout: 0.5,
};

function pl(x: Sym, o: PnnOptions, seeds: SeedSequence, filters: number, first: boolean): Sym {
  return new PerturbLayer({
    filters,
    filterSize: first ? o.firstFilterSize : o.filterSize,
    nmasks: o.nmasks,
    level: first ? o.level * o.scaleNoise : o.level,
    noiseType: o.noiseType,
    uniqueMasks: o.uniqueMasks,
    trainMasks: o.trainMasks,
    mixMaps: o.mixMaps,
    useAct: first ? o.useAct : true,
    seed: seeds.next(),
  }).apply(x) as Sym;
}

/** The LeNet/CifarNet head: flatten → dropout → Linear(hidden) → BN1d → ReLU ('features') → dropout → Linear ('logits'). */
function pnnHead(x: Sym, o: PnnOptions, seeds: SeedSequence, hidden: number): Sym {
  let y = dropout(flatten(x), o.dropout, seeds);
  y = relu(bn(dense(y, hidden, seeds)), 'features');
  return dense(dropout(y, o.dropout, seeds), o.numClasses, seeds, 'logits');
}

/** Klachko `lenet` (L200-259): 3 perturb layers with 3×3/2 max-pools, then a 2-layer head with BN1d. */
function lenet(o: PnnOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters!;
  const input = tf.input({ shape: o.inputShape });
  let x = pl(input, o, seeds, nf, true);
  x = maxPool(x, 3, 2, 1);
  x = pl(x, o, seeds, nf, false);
  x = maxPool(x, 3, 2, 1);
  x = pl(x, o, seeds, nf, false);
  return tf.model({
    inputs: input,
    outputs: pnnHead(maxPool(x, 3, 2, 1, 'features_conv'), o, seeds, 128),
    name: 'lenet',
  });
}

/** Klachko `cifarnet` (L263-331): 6 perturb layers of width nf with 3 max-pools, then a 2-layer head. */
function cifarnet(o: PnnOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters!;
  const input = tf.input({ shape: o.inputShape });
  let x = pl(input, o, seeds, nf, true);
  x = pl(x, o, seeds, nf, false);
  x = maxPool(x, 3, 2, 1);
  x = pl(x, o, seeds, nf, false);
  x = pl(x, o, seeds, nf, false);
  x = maxPool(x, 3, 2, 1);
  x = pl(x, o, seeds, nf, false);
  x = pl(x, o, seeds, nf, false);
  return tf.model({
    inputs: input,
    outputs: pnnHead(maxPool(x, 3, 2, 1, 'features_conv'), o, seeds, 256),
    name: 'cifarnet',
  });
}

function shortcut(x: Sym, out: number, stride: number, seeds: SeedSequence): Sym {
  const cin = x.shape[3]!;
  if (stride === 1 && cin === out) return x;
  return bn(conv(x, seeds, { filters: out, kernel: 1, stride, bias: false }));
}

function finalPool(x: Sym, model: string): Sym {
  const h = x.shape[1]!;
  if (h < 4)
    throw new Error(`${model}: the last stage is ${h}x${h}, AvgPool2d(4) needs 4x4 (use 32x32 inputs: pad 28 to 32)`);
  return avgPool(x, 4);
}

/** Klachko `perturb_resnet18` (L138-197): PerturbBasicBlock = PL → MaxPool(stride) → PL, + shortcut, ReLU. */
function perturbResnet18(o: PnnOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters!;
  const input = tf.input({ shape: o.inputShape });
  let x = pl(input, o, seeds, nf, true);
  if (o.firstFilterSize === 7) x = maxPool(x, 3, 2, 1);
  [nf, 2 * nf, 4 * nf, 8 * nf].forEach((w, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let y = pl(x, o, seeds, w, false);
      if (stride > 1) y = maxPool(y, stride, stride);
      y = pl(y, o, seeds, w, false);
      x = relu(add(y, shortcut(x, w, stride, seeds)), stage === 3 && b === 1 ? 'features_conv' : undefined);
    }
  });
  x = flatten(finalPool(x, 'perturb_resnet18'));
  const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(x) as Sym;
  return tf.model({ inputs: input, outputs: dense(features, o.numClasses, seeds, 'logits'), name: 'perturb_resnet18' });
}

/** The original PNN `noiseresnet18` (naiveresnet.py; Klachko L337-435). */
function noiseResnet18(o: PnnOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const nf = o.nfilters!;
  const noiseLayer = (x: Sym, out: number) => {
    let y = new NoiseLayer({ level: o.level, seed: seeds.next() }).apply(x) as Sym;
    y = bn(relu(y));
    return conv(y, seeds, { filters: out, kernel: 1, bias: true });
  };
  const input = tf.input({ shape: o.inputShape });
  let x: Sym;
  let poolSize: number;
  if (o.firstFilterSize === 7) {
    x = relu(bn(conv(input, seeds, { filters: nf, kernel: 7, stride: 2, pad: 3 })));
    x = maxPool(x, 3, 2, 1);
    poolSize = 1;
  } else if (o.firstFilterSize === 3) {
    x = relu(bn(conv(input, seeds, { filters: nf, kernel: 3, stride: 1, pad: 1 })));
    poolSize = 4;
  } else {
    throw new Error(`noiseresnet18: firstFilterSize must be 3 or 7, got ${o.firstFilterSize}`);
  }
  [nf, 2 * nf, 4 * nf, 8 * nf].forEach((w, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let y = noiseLayer(x, w);
      if (stride > 1) y = maxPool(y, stride, stride);
      y = relu(bn(y));
      y = bn(noiseLayer(y, w));
      x = relu(add(y, shortcut(x, w, stride, seeds)), stage === 3 && b === 1 ? 'features_conv' : undefined);
    }
  });
  if (x.shape[1]! < poolSize)
    throw new Error(`noiseresnet18: last stage ${x.shape[1]}x${x.shape[2]} is smaller than its AvgPool2d(${poolSize})`);
  x = flatten(avgPool(x, poolSize));
  const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(x) as Sym;
  return tf.model({ inputs: input, outputs: dense(features, o.numClasses, seeds, 'logits'), name: 'noiseresnet18' });
}

/**
 * kuangliu CIFAR ResNet-18 (Klachko L441-504) and ResNet-34 (kuangliu's BasicBlock [3, 4, 6, 3]) with
 * base width nfilters (44 → 5.28M parameters for ResNet-18). Block outputs are named as torchvision's
 * modules, `layer{stage}.{block}` (what torch_cka hooks), except the last block: 'features_conv'.
 */
function kuangliuResnet(blocks: [number, number, number, number], name: string) {
  return (o: BaseModelOptions): tf.LayersModel => {
    const seeds = new SeedSequence(o.seed ?? 0);
    const nf = o.nfilters ?? 64;
    const input = tf.input({ shape: o.inputShape });
    let x = relu(bn(conv(input, seeds, { filters: nf, kernel: 3, pad: 1 })));
    [nf, 2 * nf, 4 * nf, 8 * nf].forEach((w, stage) => {
      for (let b = 0; b < blocks[stage]; b++) {
        const stride = b === 0 && stage > 0 ? 2 : 1;
        let y = relu(bn(conv(x, seeds, { filters: w, kernel: 3, stride, pad: 1 })));
        y = bn(conv(y, seeds, { filters: w, kernel: 3, pad: 1 }));
        const last = stage === 3 && b === blocks[3] - 1;
        x = relu(add(y, shortcut(x, w, stride, seeds)), last ? 'features_conv' : `layer${stage + 1}.${b}`);
      }
    });
    x = flatten(finalPool(x, name));
    const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(x) as Sym;
    return tf.model({ inputs: input, outputs: dense(features, o.numClasses, seeds, 'logits'), name });
  };
}

const PNN_SOURCE = 'michaelklachko/pnn.pytorch@08865db models.py';
const small = (shape: [number, number, number], extra: Partial<PnnOptions> = {}): PnnOptions =>
  ({ ...PNN_DEFAULTS, inputShape: shape, numClasses: 10, nfilters: 6, seed: 1, ...extra }) as PnnOptions;

registerModel<PnnOptions>({
  name: 'lenet',
  description: 'PNN LeNet: 3 perturbation (or conv) layers + 2-layer head',
  source: PNN_SOURCE,
  defaults: PNN_DEFAULTS,
  testOptions: small([28, 28, 1], { nmasks: 2 }),
  build: lenet,
});
registerModel<PnnOptions>({
  name: 'cifarnet',
  description: 'PNN CifarNet: 6 perturbation (or conv) layers + 2-layer head',
  source: PNN_SOURCE,
  defaults: PNN_DEFAULTS,
  testOptions: small([32, 32, 3], { filterSize: 3 }),
  build: cifarnet,
});
registerModel<PnnOptions>({
  name: 'perturb_resnet18',
  description: 'PNN ResNet-18 of PerturbBasicBlocks',
  source: PNN_SOURCE,
  defaults: PNN_DEFAULTS,
  testOptions: small([32, 32, 3], { nfilters: 3, mixMaps: true }),
  build: perturbResnet18,
});
registerModel<PnnOptions>({
  name: 'noiseresnet18',
  description: 'original PNN ResNet-18 (NoiseLayer: noise, ReLU, BN, 1x1 conv)',
  source: 'juefeix/pnn.pytorch naiveresnet.py',
  defaults: { ...PNN_DEFAULTS, firstFilterSize: 7 },
  testOptions: small([32, 32, 3], { nfilters: 4, firstFilterSize: 3 }),
  build: noiseResnet18,
});
registerModel<BaseModelOptions>({
  name: 'resnet18',
  description: 'CIFAR ResNet-18 (kuangliu), base width nfilters',
  source: 'kuangliu/pytorch-cifar; ' + PNN_SOURCE,
  defaults: { nfilters: 64 },
  testOptions: { inputShape: [32, 32, 3], numClasses: 10, nfilters: 4, seed: 1 },
  build: kuangliuResnet([2, 2, 2, 2], 'resnet18'),
});
registerModel<BaseModelOptions>({
  name: 'resnet34_cifar',
  description: 'CIFAR ResNet-34 (kuangliu, BasicBlock [3, 4, 6, 3]), base width nfilters',
  source: 'kuangliu/pytorch-cifar models/resnet.py',
  defaults: { nfilters: 64 },
  testOptions: { inputShape: [32, 32, 3], numClasses: 10, nfilters: 2, seed: 1 },
  build: kuangliuResnet([3, 4, 6, 3], 'resnet34_cifar'),
});
