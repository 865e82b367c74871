/**
 * ResNet families beyond the PNN ones:
 * - CIFAR ResNets as in RepDistiller (the distillation papers' zoo): resnet8/20/56 (stages of 16/32/64)
 *   and resnet8x4/32x4 (32 stem, stages 64/128/256), basic blocks, 1×1 projection shortcuts; used as
 *   teacher/student pairs (resnet56→resnet20, resnet32x4→resnet8x4) and as small CPU nets. Each stage's
 *   last block output is named 'stage1', 'stage2' and 'features_conv' (the maps distillation reads).
 * - resnext32_16x4d (dt-tradeoff, models/resnext.py): CifarResNeXt(cardinality 16, depth 32, base
 *   width 4, widen 4): 3 stages of 5 bottlenecks, 128/256/512 channels, grouped 3×3 convs.
 * - ImageNet ResNet-34 and ResNet-152 (torchvision layout) for the PDC paper's ImageNet rows at paper
 *   scale (built and forward-tested here, not trained).
 */
import * as tf from '@tensorflow/tfjs';
import { registerModel, BaseModelOptions } from './registry';
import { SeedSequence, Sym, add, bn, conv, dense, globalAvgPool, maxPool, relu } from './blocks';

function basicBlock(x: Sym, out: number, stride: number, seeds: SeedSequence, name?: string): Sym {
  let y = relu(bn(conv(x, seeds, { filters: out, kernel: 3, stride, pad: 1, init: 'kaiming-fan-out' })));
  y = bn(conv(y, seeds, { filters: out, kernel: 3, pad: 1, init: 'kaiming-fan-out' }));
  const sc =
    stride !== 1 || x.shape[3] !== out
      ? bn(conv(x, seeds, { filters: out, kernel: 1, stride, init: 'kaiming-fan-out' }))
      : x;
  return relu(add(y, sc), name);
}

function bottleneck(
  x: Sym,
  width: number,
  out: number,
  stride: number,
  seeds: SeedSequence,
  groups = 1,
  name?: string,
): Sym {
  let y = relu(bn(conv(x, seeds, { filters: width, kernel: 1, init: 'kaiming-fan-out' })));
  y = relu(bn(conv(y, seeds, { filters: width, kernel: 3, stride, pad: 1, groups, init: 'kaiming-fan-out' })));
  y = bn(conv(y, seeds, { filters: out, kernel: 1, init: 'kaiming-fan-out' }));
  const sc =
    stride !== 1 || x.shape[3] !== out
      ? bn(conv(x, seeds, { filters: out, kernel: 1, stride, init: 'kaiming-fan-out' }))
      : x;
  return relu(add(y, sc), name);
}

function head(x: Sym, o: BaseModelOptions, seeds: SeedSequence, name: string, input: Sym): tf.LayersModel {
  const features = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(globalAvgPool(x)) as Sym;
  return tf.model({ inputs: input, outputs: dense(features, o.numClasses, seeds, 'logits'), name });
}

/** RepDistiller CIFAR ResNet: depth = 6n + 2, filters [stem, stage1, stage2, stage3]. */
function cifarResnet(depth: number, filters: [number, number, number, number], name: string) {
  return (o: BaseModelOptions): tf.LayersModel => {
    const n = (depth - 2) / 6;
    const scale = (o.nfilters ?? filters[1]) / filters[1];
    const f = filters.map((c) => Math.max(1, Math.round(c * scale)));
    const seeds = new SeedSequence(o.seed ?? 0);
    const input = tf.input({ shape: o.inputShape });
    let x = relu(bn(conv(input, seeds, { filters: f[0], kernel: 3, pad: 1, init: 'kaiming-fan-out' })));
    for (let s = 0; s < 3; s++) {
      for (let b = 0; b < n; b++)
        x = basicBlock(
          x,
          f[s + 1],
          b === 0 && s > 0 ? 2 : 1,
          seeds,
          b === n - 1 ? (s === 2 ? 'features_conv' : `stage${s + 1}`) : undefined,
        );
    }
    return head(x, o, seeds, name, input);
  };
}

function resnext32_16x4d(o: BaseModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const scale = (o.nfilters ?? 32) / 32;
  const c = (v: number) => Math.max(1, Math.round(v * scale));
  const cardinality = 16;
  const input = tf.input({ shape: o.inputShape });
  let x = relu(bn(conv(input, seeds, { filters: c(32), kernel: 3, pad: 1, init: 'kaiming-fan-out' })));
  [128, 256, 512].forEach((outRaw, s) => {
    const out = c(outRaw);
    // D = cardinality · int(base_width · out/256) = 32, 64, 128 at full width
    const width = Math.max(cardinality, cardinality * Math.max(1, Math.floor(((4 * outRaw) / 256) * scale)));
    for (let b = 0; b < 5; b++)
      x = bottleneck(
        x,
        width,
        out,
        b === 0 && s > 0 ? 2 : 1,
        seeds,
        cardinality,
        s === 2 && b === 4 ? 'features_conv' : undefined,
      );
  });
  return head(x, o, seeds, 'resnext32_16x4d', input);
}

function imagenetResnet(layers: number[], block: 'basic' | 'bottleneck', name: string) {
  return (o: BaseModelOptions): tf.LayersModel => {
    const seeds = new SeedSequence(o.seed ?? 0);
    const nf = o.nfilters ?? 64;
    const input = tf.input({ shape: o.inputShape });
    let x = relu(bn(conv(input, seeds, { filters: nf, kernel: 7, stride: 2, pad: 3, init: 'kaiming-fan-out' })));
    x = maxPool(x, 3, 2, 1);
    layers.forEach((count, s) => {
      const w = nf * 2 ** s;
      for (let b = 0; b < count; b++) {
        const stride = b === 0 && s > 0 ? 2 : 1;
        const last = s === layers.length - 1 && b === count - 1 ? 'features_conv' : undefined;
        x = block === 'basic' ? basicBlock(x, w, stride, seeds, last) : bottleneck(x, w, 4 * w, stride, seeds, 1, last);
      }
    });
    return head(x, o, seeds, name, input);
  };
}

const CIFAR = (nfilters: number): BaseModelOptions => ({ inputShape: [32, 32, 3], numClasses: 10, nfilters, seed: 1 });
const REPD = 'HobbitLong/RepDistiller models/resnet.py';

registerModel({
  name: 'resnet8',
  description: 'CIFAR ResNet-8 (16/32/64)',
  source: REPD,
  defaults: { nfilters: 16 },
  testOptions: CIFAR(4),
  build: cifarResnet(8, [16, 16, 32, 64], 'resnet8'),
});
registerModel({
  name: 'resnet20',
  description: 'CIFAR ResNet-20 (16/32/64), student of resnet56',
  source: REPD,
  defaults: { nfilters: 16 },
  testOptions: CIFAR(4),
  build: cifarResnet(20, [16, 16, 32, 64], 'resnet20'),
});
registerModel({
  name: 'resnet56',
  description: 'CIFAR ResNet-56 (16/32/64), teacher of resnet20',
  source: REPD,
  defaults: { nfilters: 16 },
  testOptions: CIFAR(2),
  build: cifarResnet(56, [16, 16, 32, 64], 'resnet56'),
});
registerModel({
  name: 'resnet8x4',
  description: 'CIFAR ResNet-8x4 (32 stem, 64/128/256), student of resnet32x4',
  source: REPD,
  defaults: { nfilters: 64 },
  testOptions: CIFAR(4),
  build: cifarResnet(8, [32, 64, 128, 256], 'resnet8x4'),
});
registerModel({
  name: 'resnet32x4',
  description: 'CIFAR ResNet-32x4, teacher of resnet8x4',
  source: REPD,
  defaults: { nfilters: 64 },
  testOptions: CIFAR(4),
  build: cifarResnet(32, [32, 64, 128, 256], 'resnet32x4'),
});
registerModel({
  name: 'resnext32_16x4d',
  description: 'CIFAR ResNeXt-32 (16 groups, 4d), dt-tradeoff backbone',
  source: 'DTennant/dt-tradeoff models/resnext.py',
  defaults: { nfilters: 32 },
  testOptions: { ...CIFAR(8), numClasses: 100 },
  build: resnext32_16x4d,
});
registerModel({
  name: 'resnet34',
  description: 'ImageNet ResNet-34 (torchvision layout)',
  source: 'torchvision resnet.py',
  defaults: { nfilters: 64 },
  testOptions: CIFAR(2),
  build: imagenetResnet([3, 4, 6, 3], 'basic', 'resnet34'),
});
registerModel({
  name: 'resnet152',
  description: 'ImageNet ResNet-152 (torchvision layout)',
  source: 'torchvision resnet.py',
  defaults: { nfilters: 64 },
  testOptions: CIFAR(1),
  build: imagenetResnet([3, 8, 36, 3], 'bottleneck', 'resnet152'),
});
