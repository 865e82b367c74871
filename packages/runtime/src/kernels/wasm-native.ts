/**
 * Native-backed kernels for the WebAssembly backend: convolutions (forward, fused, both gradients),
 * batch norm, matrix products and the pool gradients run in the optional addon (../../native), in
 * place on the wasm heap: convolutions and batch norm on oneDNN where it loaded (else im2col +
 * OpenBLAS, C loops), products on OpenBLAS. Installed over the pure wasm kernels of
 * ./wasm-training.ts, which stay the fallback for every case the addon does not take (NCHW,
 * non-float32, broadcast batch shapes).
 *
 * Measured on this machine (2 cores, bench W1/W2 kernel profiles): see packages/runtime/README.md.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from '../native';
import { applyBiasActivation, convInfo, poolInfo } from './wasm-training';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Attrs };

const { util } = tf;

function f32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function convDims(ci: ConvInfo): Int32Array {
  return Int32Array.from([
    ci.batchSize,
    ci.inHeight,
    ci.inWidth,
    ci.inChannels,
    ci.filterHeight,
    ci.filterWidth,
    ci.outChannels,
    ci.strideHeight,
    ci.strideWidth,
    ci.dilationHeight,
    ci.dilationWidth,
    ci.padInfo.top,
    ci.padInfo.left,
    ci.outHeight,
    ci.outWidth,
  ]);
}

const isNhwc = (attrs: Attrs) => ((attrs.dataFormat as string | undefined) ?? 'NHWC') === 'NHWC';
const allF32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

function makeConv2D(addon: NativeAddon, fallback: tf.KernelFunc, fused: boolean) {
  const kernel = fused ? 'FusedConv2D' : 'Conv2D';
  return function conv2d(args: KernelArgs): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    if (!isNhwc(attrs) || !allF32(x, filter)) return fallback(args as never) as TensorInfo;
    const ci = convInfo(x.shape, filter.shape, attrs);
    const out = backend.makeOutput(ci.outShape, 'float32');
    const { bias } = inputs as { bias?: TensorInfo };
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    // a per-channel bias and ReLU run inside the convolution (oneDNN post-op, or one pass after im2col)
    const inKernel =
      fused &&
      (activation === 'linear' || activation === 'relu') &&
      (!bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === ci.outChannels));
    if (inKernel) {
      const relu = activation === 'relu';
      addon.conv2d(
        f32(backend, x),
        f32(backend, filter),
        f32(backend, out),
        convDims(ci),
        bias ? f32(backend, bias) : null,
        relu,
      );
      return out;
    }
    addon.conv2d(f32(backend, x), f32(backend, filter), f32(backend, out), convDims(ci));
    return fused ? applyBiasActivation(backend, out, inputs, attrs, kernel) : out;
  };
}

function makeConv2DBackpropFilter(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
    const {
      inputs: { x, dy },
      backend,
      attrs,
    } = args as KernelArgs & { inputs: { x: TensorInfo; dy: TensorInfo } };
    if (!isNhwc(attrs) || !allF32(x, dy)) return fallback(args as never) as TensorInfo;
    const filterShape = attrs.filterShape as number[];
    const ci = convInfo(x.shape, filterShape, attrs);
    const out = backend.makeOutput(filterShape, 'float32');
    addon.conv2dBackpropFilter(f32(backend, x), f32(backend, dy), f32(backend, out), convDims(ci));
    return out;
  };
}

function makeConv2DBackpropInput(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function conv2DBackpropInput(args: KernelArgs): TensorInfo {
    const {
      inputs: { dy, filter },
      backend,
      attrs,
    } = args as KernelArgs & { inputs: { dy: TensorInfo; filter: TensorInfo } };
    if (!isNhwc(attrs) || !allF32(dy, filter)) return fallback(args as never) as TensorInfo;
    const inputShape = attrs.inputShape as number[];
    const ci = convInfo(inputShape, filter.shape, attrs);
    const out = backend.makeOutput(inputShape, 'float32');
    addon.conv2dBackpropInput(f32(backend, dy), f32(backend, filter), f32(backend, out), convDims(ci));
    return out;
  };
}

/**
 * BatchMatMul on float32 operands of rank ≥ 2 whose batch shapes are equal, or one of them all ones:
 * one sgemm per batch entry on subarray views (no copies). Other broadcasts fall back.
 */
function nativeMatMul(
  addon: NativeAddon,
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  ta: boolean,
  tb: boolean,
): TensorInfo | undefined {
  if (!allF32(a, b) || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const na = util.sizeFromShape(batchA);
  const nb = util.sizeFromShape(batchB);
  let outBatch: number[];
  if (na === nb && batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) outBatch = batchA;
  else if (nb === 1 && batchB.length <= batchA.length) outBatch = batchA;
  else if (na === 1 && batchA.length <= batchB.length) outBatch = batchB;
  else return undefined;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const k2 = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== k2) return undefined; // let the built-in kernel raise its own error
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  if (a.dataId === b.dataId && ra === 2 && ta !== tb) {
    // a Gram matrix X·Xᵀ or Xᵀ·X: symmetric, half the products (ssyrk)
    addon.gram(ta, m, k, f32(backend, a), a.shape[1], f32(backend, out));
    return out;
  }
  const av = f32(backend, a);
  const bv = f32(backend, b);
  const ov = f32(backend, out);
  const batches = util.sizeFromShape(outBatch);
  const lda = a.shape[ra - 1];
  const ldb = b.shape[rb - 1];
  if (m === 0 || n === 0) return out;
  for (let i = 0; i < batches; i++) {
    const ai = na === 1 ? av : av.subarray(i * m * k);
    const bi = nb === 1 ? bv : bv.subarray(i * k * n);
    addon.sgemm(ta, tb, m, n, k, 1, ai, lda, bi, ldb, 0, batches === 1 ? ov : ov.subarray(i * m * n), n);
  }
  return out;
}

function makeMatMul(addon: NativeAddon, fallback: tf.KernelFunc, fused: boolean) {
  const kernel = fused ? '_FusedMatMul' : 'BatchMatMul';
  return function matMul(args: KernelArgs): TensorInfo {
    const { inputs, backend, attrs } = args;
    const out = nativeMatMul(addon, backend, inputs.a, inputs.b, !!attrs.transposeA, !!attrs.transposeB);
    if (!out) return fallback(args as never) as TensorInfo;
    return fused ? applyBiasActivation(backend, out, inputs, attrs, kernel) : out;
  };
}

/** A pooling's geometry for the addon: N, H, W, C, kh, kw, sh, sw, dh, dw, pt, pl, Ho, Wo. */
function poolDims(input: TensorInfo, attrs: Attrs): Int32Array {
  const ci = poolInfo(input.shape, attrs);
  return Int32Array.from([
    ci.batchSize,
    ci.inHeight,
    ci.inWidth,
    ci.inChannels,
    ci.filterHeight,
    ci.filterWidth,
    ci.strideHeight,
    ci.strideWidth,
    ci.dilationHeight,
    ci.dilationWidth,
    ci.padInfo.top,
    ci.padInfo.left,
    ci.outHeight,
    ci.outWidth,
  ]);
}

function makeMaxPoolGrad(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function maxPoolGrad(args: KernelArgs): TensorInfo {
    const {
      inputs: { dy, input },
      backend,
      attrs,
    } = args as KernelArgs & { inputs: { dy: TensorInfo; input: TensorInfo } };
    if (!allF32(dy, input)) return fallback(args as never) as TensorInfo;
    const dx = backend.makeOutput(input.shape, 'float32');
    addon.maxPoolGrad(f32(backend, input), f32(backend, dy), f32(backend, dx), poolDims(input, attrs));
    return dx;
  };
}

/**
 * Training-mode batch normalisation over the last axis as one kernel (PyTorch semantics: batch mean,
 * biased batch variance) and its gradient as another: on oneDNN where it is loaded (float32
 * statistics), else the addon's C loops (statistics accumulated in float64). The
 * composite version (moments + batchNorm and their gradients) is ~10 kernels with broadcasts, the
 * largest non-convolution cost of a ResNet step. Registered on wasm only, with the addon; callers
 * use `batchNormTrain` (below), which falls back to the composite ops everywhere else.
 */
export const BATCH_NORM_TRAIN = 'ReproBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'ReproBatchNormTrainGrad';

/** [rows M, channels C, rows per image S] of an [..., C] tensor: S = H·W for NHWC, else 1. */
function bnDims(x: TensorInfo): Int32Array {
  const c = x.shape[x.shape.length - 1];
  const s = x.shape.length === 4 ? x.shape[1] * x.shape[2] : 1;
  return Int32Array.from([util.sizeFromShape(x.shape) / c, c, s]);
}

function makeBatchNormTrain(addon: NativeAddon) {
  return function batchNormTrainKernel(args: KernelArgs): TensorInfo[] {
    const {
      inputs: { x, gamma, beta },
      backend,
      attrs,
    } = args as KernelArgs & { inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo } };
    const c = x.shape[x.shape.length - 1];
    const y = backend.makeOutput(x.shape, 'float32');
    const mean = backend.makeOutput([c], 'float32');
    const variance = backend.makeOutput([c], 'float32');
    addon.batchNormTrain(
      f32(backend, x),
      f32(backend, gamma),
      f32(backend, beta),
      f32(backend, y),
      f32(backend, mean),
      f32(backend, variance),
      bnDims(x),
      attrs.eps as number,
    );
    return [y, mean, variance];
  };
}

function makeBatchNormTrainGrad(addon: NativeAddon) {
  return function batchNormTrainGradKernel(args: KernelArgs): TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { x, dy, gamma, mean, variance, dmean, dvariance } = inputs;
    const c = x.shape[x.shape.length - 1];
    const dx = backend.makeOutput(x.shape, 'float32');
    const dgamma = backend.makeOutput([c], 'float32');
    const dbeta = backend.makeOutput([c], 'float32');
    addon.batchNormTrainGrad(
      f32(backend, x),
      f32(backend, dy),
      f32(backend, gamma),
      f32(backend, mean),
      f32(backend, variance),
      dmean ? f32(backend, dmean) : null,
      dvariance ? f32(backend, dvariance) : null,
      f32(backend, dx),
      f32(backend, dgamma),
      f32(backend, dbeta),
      bnDims(x),
      attrs.eps as number,
    );
    return [dx, dgamma, dbeta];
  };
}

/** Whether the native kernels are registered now (setWasmNativeKernels). */
let active = false;

/** dx = dy · step(x) as one kernel (the built-in ReLU gradient is Step, then Multiply). */
export const RELU_GRAD = 'ReproReluGrad';

function makeReluGrad(addon: NativeAddon) {
  return function reluGrad(args: KernelArgs): TensorInfo {
    const { dy, x } = args.inputs;
    const dx = args.backend.makeOutput(x.shape, 'float32');
    addon.reluGrad(f32(args.backend, x), f32(args.backend, dy), f32(args.backend, dx));
    return dx;
  };
}

function makeAvgPoolGrad(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function avgPoolGrad(args: KernelArgs): TensorInfo {
    const {
      inputs: { dy, input },
      backend,
      attrs,
    } = args as KernelArgs & { inputs: { dy: TensorInfo; input: TensorInfo } };
    if (!allF32(dy, input) || input.shape.length !== 4) return fallback(args as never) as TensorInfo;
    const dx = backend.makeOutput(input.shape, 'float32');
    addon.avgPoolGrad(f32(backend, dy), f32(backend, dx), poolDims(input, attrs));
    return dx;
  };
}

/** Relu of a float32 tensor in one native pass over two threads (wasm's runs on one). */
function makeRelu(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function relu(args: KernelArgs): TensorInfo {
    const { x } = args.inputs;
    if (x.dtype !== 'float32') return fallback(args as never) as TensorInfo;
    const y = args.backend.makeOutput(x.shape, 'float32');
    addon.relu(f32(args.backend, x), f32(args.backend, y));
    return y;
  };
}

/** Add of two float32 tensors of one shape natively (residual sums, gradient accumulation); broadcasts fall back. */
function makeAdd(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function add(args: KernelArgs): TensorInfo {
    const { a, b } = args.inputs;
    if (!allF32(a, b) || !util.arraysEqual(a.shape, b.shape)) return fallback(args as never) as TensorInfo;
    const out = args.backend.makeOutput(a.shape, 'float32');
    addon.add(f32(args.backend, a), f32(args.backend, b), f32(args.backend, out));
    return out;
  };
}

/** One SGD-momentum step of one variable: [value', accum'] (see sgdMomentumUpdate). */
export const SGD_MOMENTUM = 'ReproSgdMomentum';

function makeSgdMomentum(addon: NativeAddon) {
  return function sgdMomentum(args: KernelArgs): TensorInfo[] {
    const { value, accum, grad } = args.inputs;
    const { backend, attrs } = args;
    const nv = backend.makeOutput(value.shape, 'float32');
    const na = backend.makeOutput(value.shape, 'float32');
    addon.sgdMomentum(
      f32(backend, value),
      f32(backend, accum),
      f32(backend, grad),
      f32(backend, nv),
      f32(backend, na),
      attrs.negLr as number,
      attrs.momentum as number,
      attrs.weightDecay as number,
      attrs.nesterov as boolean,
    );
    return [nv, na];
  };
}

export interface SgdMomentumParams {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * tfjs MomentumOptimizer's step for one variable with weight decay added to the gradient
 * (g = grad + wd·θ; a' = m·a + g; θ' = θ − lr·(g + m·a') with Nesterov, θ − lr·a' without), as one
 * native kernel instead of six to eight element-wise ones, with the same float32 results bit for bit.
 * Returns [θ', a'], or undefined where the native kernels are not active (then use tfjs's optimizer).
 */
/** Whether sgdMomentumUpdate runs here (native kernels active on the wasm backend). */
export function sgdMomentumKernelActive(): boolean {
  return active && tf.getBackend() === 'wasm';
}

export function sgdMomentumUpdate(
  value: tf.Tensor,
  accum: tf.Tensor,
  grad: tf.Tensor,
  p: SgdMomentumParams,
): [tf.Tensor, tf.Tensor] | undefined {
  if (!sgdMomentumKernelActive()) return undefined;
  if (value.dtype !== 'float32' || accum.dtype !== 'float32' || grad.dtype !== 'float32') return undefined;
  if (!util.arraysEqual(value.shape, grad.shape) || !util.arraysEqual(value.shape, accum.shape)) return undefined;
  const [nv, na] = tf
    .engine()
    .runKernel<tf.Tensor[]>(
      SGD_MOMENTUM,
      { value, accum, grad },
      { negLr: -p.lr, momentum: p.momentum, weightDecay: p.weightDecay, nesterov: p.nesterov },
    );
  return [nv, na];
}

let reluGradRegistered = false;

/**
 * The ReLU gradient through ReproReluGrad where the native kernels are active and both tensors are
 * float32 on the wasm backend; everywhere else tfjs's own gradient (kept and called as it was).
 */
function registerReluGradient(): void {
  if (reluGradRegistered) return;
  const builtIn = tf.getGradient('Relu');
  if (!builtIn) return;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const [x] = saved;
      if (active && tf.getBackend() === 'wasm' && x.dtype === 'float32' && g.dtype === 'float32')
        return { x: () => tf.engine().runKernel<tf.Tensor>(RELU_GRAD, { dy: g, x }) };
      return builtIn.gradFunc(dy, saved, attrs);
    },
  });
  reluGradRegistered = true;
}

let gradientRegistered = false;

function registerBatchNormGradient(): void {
  if (gradientRegistered) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, gamma, mean, variance] = saved;
      // all three gradients in one pass; a gradient the tape does not ask for is freed with the
      // backward pass's scope
      const [dx, dgamma, dbeta] = tf.engine().runKernel<tf.Tensor[]>(
        BATCH_NORM_TRAIN_GRAD,
        {
          x: x,
          dy: dy,
          gamma: gamma,
          mean: mean,
          variance: variance,
          ...(dmean ? { dmean } : {}),
          ...(dvariance ? { dvariance } : {}),
        },
        { eps: attrs.eps },
      );
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
  gradientRegistered = true;
}

/**
 * Training-mode batch norm over the last axis: y = (x − μ)/√(σ² + eps)·γ + β with the batch mean μ
 * and the biased batch variance σ², returned with μ and σ². One fused kernel where registered (wasm
 * with the native addon), else the composite ops. Differentiable in x, γ, β (and through μ, σ²).
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const c = x.shape[x.rank - 1];
  if (x.rank < 2 || gamma.rank !== 1 || beta.rank !== 1 || gamma.shape[0] !== c || beta.shape[0] !== c) {
    throw new Error(
      `batchNormTrain: x [${x.shape.join(', ')}] needs gamma and beta of shape [${c}], got [${gamma.shape.join(', ')}] and [${beta.shape.join(', ')}]`,
    );
  }
  if (x.dtype === 'float32' && tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend())) {
    const [y, mean, variance] = tf.engine().runKernel<tf.Tensor[]>(BATCH_NORM_TRAIN, { x, gamma, beta }, { eps });
    return { y: y, mean: mean, variance: variance };
  }
  return tf.tidy(() => {
    const axes = x.shape.map((_, i) => i).slice(0, -1);
    const { mean, variance } = tf.moments(x, axes);
    return { y: tf.batchNorm(x, mean, variance, beta, gamma, eps), mean, variance };
  });
}

/** Batch norm's running-statistics update in one kernel ([mean', var']; see batchNormRunningUpdate). */
export const BATCH_NORM_RUNNING = 'ReproBatchNormRunning';

function makeBatchNormRunning(addon: NativeAddon) {
  return function running(args: KernelArgs): TensorInfo[] {
    const { runningMean, runningVar, mean, variance } = args.inputs;
    const { backend, attrs } = args;
    const nm = backend.makeOutput(runningMean.shape, 'float32');
    const nv = backend.makeOutput(runningMean.shape, 'float32');
    addon.runningStats(
      f32(backend, runningMean),
      f32(backend, runningVar),
      f32(backend, mean),
      f32(backend, variance),
      f32(backend, nm),
      f32(backend, nv),
      attrs.unbiasedFactor as number,
      attrs.keep as number,
      attrs.momentum as number,
    );
    return [nm, nv];
  };
}

/**
 * PyTorch's running-statistics update of a training-mode batch norm, from the batch mean and the
 * biased batch variance of `count` rows: mean' = (1 − momentum)·mean + momentum·μ and
 * var' = (1 − momentum)·var + momentum·σ²·count/(count − 1). One kernel without a gradient where the
 * native kernels are active (bit for bit the composite ops, which run everywhere else).
 */
export function batchNormRunningUpdate(
  runningMean: tf.Tensor,
  runningVar: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  count: number,
  momentum: number,
): [tf.Tensor, tf.Tensor] {
  const unbiasedFactor = count / Math.max(1, count - 1);
  const ts = [runningMean, runningVar, mean, variance];
  const c = runningMean.size;
  if (
    tf.getKernel(BATCH_NORM_RUNNING, tf.getBackend()) &&
    ts.every((t) => t.dtype === 'float32' && t.rank === 1 && t.size === c)
  ) {
    const [nm, nv] = tf
      .engine()
      .runKernel<tf.Tensor[]>(
        BATCH_NORM_RUNNING,
        { runningMean, runningVar, mean, variance },
        { unbiasedFactor, keep: 1 - momentum, momentum },
      );
    return [nm, nv];
  }
  return tf.tidy(() => {
    const unbiased = tf.mul(variance, unbiasedFactor);
    return [
      tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(mean, momentum)),
      tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(unbiased, momentum)),
    ];
  });
}

/** FusedBatchNorm (inference-mode batch norm) with per-channel parameters of length C or 1. */
function makeFusedBatchNorm(addon: NativeAddon, fallback: tf.KernelFunc) {
  return function fusedBatchNorm(args: KernelArgs): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
    const c = x!.shape[x!.shape.length - 1];
    const params = [mean, variance, offset, scale].filter((t): t is TensorInfo => t != null);
    const perChannel = (t: TensorInfo) =>
      t.dtype === 'float32' && (util.sizeFromShape(t.shape) === 1 || (t.shape.length === 1 && t.shape[0] === c));
    if (
      x!.dtype !== 'float32' ||
      x!.shape.length < 1 ||
      c === undefined ||
      c === 0 ||
      !params.every(perChannel) ||
      util.sizeFromShape(x!.shape) === 0
    ) {
      return fallback(args as never) as TensorInfo;
    }
    const out = backend.makeOutput(x!.shape, 'float32');
    addon.batchNormInfer(
      f32(backend, x!),
      f32(backend, mean!),
      f32(backend, variance!),
      offset ? f32(backend, offset) : null,
      scale ? f32(backend, scale) : null,
      f32(backend, out),
      bnDims(x!),
      attrs.varianceEpsilon as number,
    );
    return out;
  };
}

/** The kernel names the native path replaces. */
export const WASM_NATIVE_KERNELS = [
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPoolGrad',
  'AvgPoolGrad',
  'FusedBatchNorm',
  'Relu',
  'Add',
] as const;

let fallbacks: Map<string, tf.KernelFunc> | undefined;

function replace(kernelName: string, kernelFunc: unknown): void {
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
}

/**
 * Switches the native kernels on (addon given) or back to the pure wasm ones (undefined). Call after
 * the wasm training kernels were registered; the pure kernels are remembered the first time.
 */
export function setWasmNativeKernels(addon: NativeAddon | undefined): void {
  if (!fallbacks) {
    fallbacks = new Map();
    for (const name of WASM_NATIVE_KERNELS) {
      const k = tf.getKernel(name, 'wasm');
      if (!k) throw new Error(`wasm backend has no ${name} kernel: register the wasm training kernels first`);
      fallbacks.set(name, k.kernelFunc);
    }
  }
  const fb = (name: string) => fallbacks!.get(name)!;
  if (!addon) {
    for (const name of WASM_NATIVE_KERNELS) replace(name, fb(name));
    for (const name of [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, BATCH_NORM_RUNNING, RELU_GRAD, SGD_MOMENTUM])
      if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    active = false;
    return;
  }
  registerBatchNormGradient();
  registerReluGradient();
  replace(RELU_GRAD, makeReluGrad(addon));
  replace(SGD_MOMENTUM, makeSgdMomentum(addon));
  replace(BATCH_NORM_TRAIN, makeBatchNormTrain(addon));
  replace(BATCH_NORM_TRAIN_GRAD, makeBatchNormTrainGrad(addon));
  replace(BATCH_NORM_RUNNING, makeBatchNormRunning(addon));
  replace('Conv2D', makeConv2D(addon, fb('Conv2D'), false));
  replace('FusedConv2D', makeConv2D(addon, fb('FusedConv2D'), true));
  replace('Conv2DBackpropFilter', makeConv2DBackpropFilter(addon, fb('Conv2DBackpropFilter')));
  replace('Conv2DBackpropInput', makeConv2DBackpropInput(addon, fb('Conv2DBackpropInput')));
  replace('BatchMatMul', makeMatMul(addon, fb('BatchMatMul'), false));
  replace('_FusedMatMul', makeMatMul(addon, fb('_FusedMatMul'), true));
  replace('MaxPoolGrad', makeMaxPoolGrad(addon, fb('MaxPoolGrad')));
  replace('AvgPoolGrad', makeAvgPoolGrad(addon, fb('AvgPoolGrad')));
  replace('FusedBatchNorm', makeFusedBatchNorm(addon, fb('FusedBatchNorm')));
  replace('Relu', makeRelu(addon, fb('Relu')));
  replace('Add', makeAdd(addon, fb('Add')));
  active = true;
}

/** Whether the native kernels are the ones registered now. */
export function wasmNativeKernelsActive(): boolean {
  return active;
}
