/**
 * The PDC paper's ImageNet-row mobile networks (paper scale only: built and forward-tested here,
 * not trained): MobileNetV3-small (Howard et al. 2019, torchvision's configuration) and
 * EfficientNet-B0 (Tan & Le 2019). `nfilters` is a width multiplier in units of 1/16: 16 = full width
 * (the registry default), 4 = a quarter-width network for tests.
 */
import * as tf from '@tensorflow/tfjs';
import { registerModel, BaseModelOptions } from './registry';
import { SeedSequence, Sym, add, bn, conv, dense, dropout, globalAvgPool, relu } from './blocks';
import { ChannelScale, HardSigmoid, HardSwish } from './layers/activations';

function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

type Act = 'relu' | 'hswish' | 'swish';

function act(x: Sym, a: Act, name?: string): Sym {
  if (a === 'relu') return relu(x, name);
  if (a === 'hswish') return new HardSwish({ name }).apply(x) as Sym;
  return tf.layers.activation({ activation: 'swish', name }).apply(x) as Sym;
}

/** Squeeze-excitation: x · gate(W2 · act(W1 · avgpool(x))). */
function squeezeExcite(x: Sym, squeeze: number, seeds: SeedSequence, inner: Act, gate: 'hsigmoid' | 'sigmoid'): Sym {
  const c = x.shape[3]!;
  let s = tf.layers.reshape({ targetShape: [1, 1, c] }).apply(globalAvgPool(x)) as Sym;
  s = act(conv(s, seeds, { filters: squeeze, kernel: 1, bias: true, init: 'kaiming-fan-out' }), inner);
  s = conv(s, seeds, { filters: c, kernel: 1, bias: true, init: 'kaiming-fan-out' });
  s =
    gate === 'hsigmoid'
      ? (new HardSigmoid({}).apply(s) as Sym)
      : (tf.layers.activation({ activation: 'sigmoid' }).apply(s) as Sym);
  return new ChannelScale({}).apply([x, s]) as Sym;
}

function depthwise(x: Sym, k: number, stride: number, seeds: SeedSequence): Sym {
  return conv(x, seeds, {
    filters: x.shape[3]!,
    kernel: k,
    stride,
    pad: (k - 1) / 2,
    groups: x.shape[3]!,
    init: 'kaiming-fan-out',
  });
}

// [kernel, expanded, out, SE, activation, stride] (torchvision mobilenetv3.py, "small")
const V3_SMALL: Array<[number, number, number, boolean, Act, number]> = [
  [3, 16, 16, true, 'relu', 2],
  [3, 72, 24, false, 'relu', 2],
  [3, 88, 24, false, 'relu', 1],
  [5, 96, 40, true, 'hswish', 2],
  [5, 240, 40, true, 'hswish', 1],
  [5, 240, 40, true, 'hswish', 1],
  [5, 120, 48, true, 'hswish', 1],
  [5, 144, 48, true, 'hswish', 1],
  [5, 288, 96, true, 'hswish', 2],
  [5, 576, 96, true, 'hswish', 1],
  [5, 576, 96, true, 'hswish', 1],
];

function mobilenetV3Small(o: BaseModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const w = (o.nfilters ?? 16) / 16;
  const ch = (c: number) => makeDivisible(c * w);
  const input = tf.input({ shape: o.inputShape });
  let x = act(
    bn(conv(input, seeds, { filters: ch(16), kernel: 3, stride: 2, pad: 1, init: 'kaiming-fan-out' })),
    'hswish',
  );
  for (const [k, exp, out, se, a, stride] of V3_SMALL) {
    const cin = x.shape[3]!;
    let y = x;
    if (ch(exp) !== cin) y = act(bn(conv(y, seeds, { filters: ch(exp), kernel: 1, init: 'kaiming-fan-out' })), a);
    y = act(bn(depthwise(y, k, stride, seeds)), a);
    if (se) y = squeezeExcite(y, makeDivisible(ch(exp) / 4), seeds, 'relu', 'hsigmoid');
    y = bn(conv(y, seeds, { filters: ch(out), kernel: 1, init: 'kaiming-fan-out' }));
    x = stride === 1 && cin === ch(out) ? add(y, x) : y;
  }
  x = act(bn(conv(x, seeds, { filters: ch(576), kernel: 1, init: 'kaiming-fan-out' })), 'hswish', 'features_conv');
  let f = act(dense(globalAvgPool(x), makeDivisible(1024 * w), seeds), 'hswish', 'features');
  f = dropout(f, 0.2, seeds);
  return tf.model({ inputs: input, outputs: dense(f, o.numClasses, seeds, 'logits'), name: 'mobilenetv3_small' });
}

// [expand, kernel, stride, out, repeats] (EfficientNet-B0)
const B0: Array<[number, number, number, number, number]> = [
  [1, 3, 1, 16, 1],
  [6, 3, 2, 24, 2],
  [6, 5, 2, 40, 2],
  [6, 3, 2, 80, 3],
  [6, 5, 1, 112, 3],
  [6, 5, 2, 192, 4],
  [6, 3, 1, 320, 1],
];

function efficientNetB0(o: BaseModelOptions): tf.LayersModel {
  const seeds = new SeedSequence(o.seed ?? 0);
  const w = (o.nfilters ?? 16) / 16;
  const ch = (c: number) => makeDivisible(c * w);
  const input = tf.input({ shape: o.inputShape });
  let x = act(
    bn(conv(input, seeds, { filters: ch(32), kernel: 3, stride: 2, pad: 1, init: 'kaiming-fan-out' })),
    'swish',
  );
  for (const [expand, k, stride0, out, repeats] of B0) {
    for (let r = 0; r < repeats; r++) {
      const stride = r === 0 ? stride0 : 1;
      const cin = x.shape[3]!;
      let y = x;
      if (expand !== 1)
        y = act(bn(conv(y, seeds, { filters: cin * expand, kernel: 1, init: 'kaiming-fan-out' })), 'swish');
      y = act(bn(depthwise(y, k, stride, seeds)), 'swish');
      y = squeezeExcite(y, Math.max(1, Math.floor(cin / 4)), seeds, 'swish', 'sigmoid');
      y = bn(conv(y, seeds, { filters: ch(out), kernel: 1, init: 'kaiming-fan-out' }));
      x = stride === 1 && cin === ch(out) ? add(y, x) : y;
    }
  }
  x = act(bn(conv(x, seeds, { filters: ch(1280), kernel: 1, init: 'kaiming-fan-out' })), 'swish', 'features_conv');
  let f = tf.layers.activation({ activation: 'linear', name: 'features' }).apply(globalAvgPool(x)) as Sym;
  f = dropout(f, 0.2, seeds);
  return tf.model({ inputs: input, outputs: dense(f, o.numClasses, seeds, 'logits'), name: 'efficientnet_b0' });
}

const SMALL: BaseModelOptions = { inputShape: [32, 32, 3], numClasses: 10, nfilters: 4, seed: 1 };
registerModel({
  name: 'mobilenetv3_small',
  description: 'MobileNetV3-small (ImageNet rows of the PDC paper; paper scale)',
  source: 'torchvision mobilenetv3.py',
  defaults: { nfilters: 16 },
  testOptions: SMALL,
  build: mobilenetV3Small,
});
registerModel({
  name: 'efficientnet_b0',
  description: 'EfficientNet-B0 (ImageNet rows of the PDC paper; paper scale)',
  source: 'torchvision efficientnet.py',
  defaults: { nfilters: 16 },
  testOptions: SMALL,
  build: efficientNetB0,
});
