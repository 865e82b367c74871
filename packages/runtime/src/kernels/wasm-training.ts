/**
 * Training kernels for the WebAssembly backend.
 *
 * tfjs-backend-wasm 4.22 ships forward kernels only for several ops a training step needs
 * (checked against tfjs-backend-wasm 4.22.0's kernel registry and timed on this project's machines):
 * - `Conv2DBackpropFilter` is missing: without it no conv net can train on wasm.
 * - `Conv2DBackpropInput` exists but is ~10x slower than a forward convolution.
 * - `Tile` is the hot path of the BatchNorm gradient (a pure broadcast [1,1,1,C] -> [N,H,W,C]).
 * - `DepthwiseConv2dNativeBackpropFilter/Input` (MobileNet, EfficientNet) and `UnsortedSegmentSum`
 *   (the gradient of `gather`) are missing.
 * - `BatchMatMul` / `_FusedMatMul` are ~10x slower with a transposed operand (every dense gradient).
 * - Comparisons (Equal, Greater, …) with broadcasting are ~20x slower than without (max gradients).
 * - `MaxPoolGrad` is slow (~21 ms for a [64,30,30,32] LeNet pool).
 *
 * The convolution gradients are rewritten as forward convolutions, which run in XNNPack:
 * - dW: correlate x (channels as batch) with dy (as the filter), dilation = the forward stride.
 * - dX: convolve the zero-inserted dy with the 180°-rotated, in/out-swapped filter.
 * They call other wasm kernels' `kernelFunc`s directly on TensorInfos and free every intermediate
 * with `backend.disposeData`, so they leak nothing. The depthwise gradients and the segment sum are
 * direct loops over the wasm heap (cheap ops: they are a small share of a step).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

const { backend_util, util } = tf;

/** Runs another wasm kernel on TensorInfos. The caller frees the result with `free`. */
function run(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`wasm training kernels: the wasm backend has no '${name}' kernel`);
  return config.kernelFunc({ inputs, attrs, backend } as never) as TensorInfo;
}

function free(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Conv2D geometry from a kernel's attributes (NHWC unless `dataFormat` says otherwise; dilations default 1). */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  depthwise = false,
): ReturnType<typeof backend_util.computeConv2DInfo> {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    depthwise,
    backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC') ?? 'NHWC'),
  );
}

/** Pooling geometry from a kernel's attributes. */
export function poolInfo(inputShape: number[], attrs: Attrs): ReturnType<typeof backend_util.computePool2DInfo> {
  return backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
}

function conv2dExplicit(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  pads: Pads,
  dilations: [number, number],
): TensorInfo {
  return run(
    backend,
    'Conv2D',
    { x, filter },
    {
      strides: [1, 1],
      pad: pads,
      dataFormat: 'NHWC',
      dilations,
      dimRoundingMode: undefined,
    },
  );
}

/** Drops `cutBottom` rows and `cutRight` columns (and optionally the first rows/columns) of an NHWC tensor. */
function crop(
  backend: BackendWasm,
  x: TensorInfo,
  cutTop: number,
  cutBottom: number,
  cutLeft: number,
  cutRight: number,
): TensorInfo {
  const [n, h, w, c] = x.shape;
  return run(
    backend,
    'Slice',
    { x },
    {
      begin: [0, cutTop, cutLeft, 0],
      size: [n, h - cutTop - cutBottom, w - cutLeft - cutRight, c],
    },
  );
}

/**
 * Conv2DBackpropFilter: dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s+a−pt, j·s+b−pl, ci] · dy[n,i,j,co].
 * Computed as a stride-1 convolution of x' = x^T [Cin,H,W,N] with the filter dy' [Ho,Wo,N,Cout] at
 * dilation s, which gives [Cin,kh,kw,Cout]; then transposed to [kh,kw,Cin,Cout].
 */
function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { x, dy },
    backend,
    attrs,
  } = args;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(x.shape, filterShape, attrs);
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const {
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
    outHeight: ho,
    outWidth: wo,
    inHeight: h,
    inWidth: w,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let bottom = kh + (ho - 1) * sh - h - top;
  let right = kw + (wo - 1) * sw - w - left;

  const owned: TensorInfo[] = [];
  let xT = run(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Cin, H, W, N]
  owned.push(xT);
  if (bottom < 0 || right < 0) {
    xT = crop(backend, xT, 0, Math.max(0, -bottom), 0, Math.max(0, -right));
    owned.push(xT);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  const dyT = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Cout]
  owned.push(dyT);
  const dwT = conv2dExplicit(
    backend,
    xT,
    dyT,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    [sh, sw],
  ); // [Cin, kh, kw, Cout]
  owned.push(dwT);
  const dw = run(backend, 'Transpose', { x: dwT }, { perm: [1, 2, 0, 3] }); // [kh, kw, Cin, Cout]
  free(backend, ...owned);
  return dw;
}

/** Inserts s−1 zeros after every row and column of an NHWC tensor: [N,H,W,C] -> [N,H·sh,W·sw,C]. */
function zeroInsert(backend: BackendWasm, x: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const owned: TensorInfo[] = [];
  let t = x;
  if (sh > 1) {
    const r = run(backend, 'Reshape', { x: t }, { shape: [n * h, 1, w, c] });
    owned.push(r);
    const p = run(
      backend,
      'PadV2',
      { x: r },
      {
        paddings: [
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    owned.push(p);
    t = p; // [N·H, sh, W, C]
  }
  if (sw > 1) {
    const r = run(backend, 'Reshape', { x: t }, { shape: [n * h * sh, w, 1, c] });
    owned.push(r);
    const p = run(
      backend,
      'PadV2',
      { x: r },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    owned.push(p);
    t = p; // [N·H·sh, W, sw, C]
  }
  const out = run(backend, 'Reshape', { x: t }, { shape: [n, h * sh, w * sw, c] });
  free(backend, ...owned);
  return out;
}

/**
 * Conv2DBackpropInput: dx = conv(zero-insert(dy, s), rot180(W) with in/out swapped), stride 1,
 * padding (kh−1−pt) before and (H+pt−Ho·s) after; negative paddings become crops of dy.
 */
function conv2DBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { dy, filter },
    backend,
    attrs,
  } = args;
  const inputShape = attrs.inputShape as [number, number, number, number];
  const info = convInfo(inputShape, filter.shape, attrs);
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropInput (wasm): only NHWC is supported');
  const {
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: kh,
    filterWidth: kw,
    inHeight: h,
    inWidth: w,
    outHeight: ho,
    outWidth: wo,
  } = info;
  const owned: TensorInfo[] = [];
  let g = dy;
  if (sh > 1 || sw > 1) {
    g = zeroInsert(backend, dy, sh, sw);
    owned.push(g);
  }
  let top = kh - 1 - info.padInfo.top;
  let left = kw - 1 - info.padInfo.left;
  let bottom = h + info.padInfo.top - ho * sh;
  let right = w + info.padInfo.left - wo * sw;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    g = crop(backend, g, Math.max(0, -top), Math.max(0, -bottom), Math.max(0, -left), Math.max(0, -right));
    owned.push(g);
    top = Math.max(0, top);
    left = Math.max(0, left);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  const rev = run(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  owned.push(rev);
  const wRot = run(backend, 'Transpose', { x: rev }, { perm: [0, 1, 3, 2] }); // [kh, kw, Cout, Cin]
  owned.push(wRot);
  const dx = conv2dExplicit(
    backend,
    g,
    wRot,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    [1, 1],
  );
  free(backend, ...owned);
  return dx;
}

/**
 * Visits every (output position, filter tap) pair of a depthwise convolution that reads an input
 * pixel inside the image: fn(dyBase, xBase, wBase) with the flat offsets of dy[n,i,j,0],
 * x[n,y,x,0] and W[a,b,0,0].
 */
function forEachDepthwiseTap(
  ci: ReturnType<typeof backend_util.computeConv2DInfo>,
  kh: number,
  kw: number,
  cout: number,
  cin: number,
  fn: (dyBase: number, xBase: number, wBase: number) => void,
): void {
  const {
    batchSize,
    inHeight: h,
    inWidth: w,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dwl,
  } = ci;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  for (let n = 0; n < batchSize; n++) {
    for (let i = 0; i < ho; i++) {
      for (let a = 0; a < kh; a++) {
        const y = i * sh + a * dh - pt;
        if (y < 0 || y >= h) continue;
        for (let j = 0; j < wo; j++) {
          for (let b = 0; b < kw; b++) {
            const xx = j * sw + b * dwl - pl;
            if (xx < 0 || xx >= w) continue;
            fn(((n * ho + i) * wo + j) * cout, ((n * h + y) * w + xx) * cin, (a * kw + b) * cout);
          }
        }
      }
    }
  }
}

/** DepthwiseConv2dNativeBackpropFilter: dW[a,b,c,m] = Σ x[n, i·s+a·d−pt, j·s+b·d−pl, c] · dy[n,i,j,c·M+m]. */
function depthwiseBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { x, dy },
    backend,
    attrs,
  } = args;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const ci = convInfo(x.shape, filterShape, attrs, true);
  const [kh, kw, cin, mult] = filterShape;
  const out = backend.makeOutput(filterShape, 'float32');
  // Views are taken after the last allocation: a heap view detaches when wasm memory grows.
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const dw = backend.typedArrayFromHeap(out) as Float32Array;
  dw.fill(0);
  forEachDepthwiseTap(ci, kh, kw, cin * mult, cin, (dyBase, xBase, wBase) => {
    for (let c = 0; c < cin; c++) {
      const xval = xv[xBase + c];
      for (let m = 0; m < mult; m++) dw[wBase + c * mult + m] += xval * dyv[dyBase + c * mult + m];
    }
  });
  return out;
}

/** DepthwiseConv2dNativeBackpropInput: scatters dy·W back onto the input positions each output read. */
function depthwiseBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { dy, filter },
    backend,
    attrs,
  } = args;
  const inputShape = attrs.inputShape as [number, number, number, number];
  const ci = convInfo(inputShape, filter.shape, attrs, true);
  const [kh, kw, cin, mult] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput(inputShape, 'float32');
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const wv = backend.typedArrayFromHeap(filter) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  forEachDepthwiseTap(ci, kh, kw, cin * mult, cin, (dyBase, xBase, wBase) => {
    for (let c = 0; c < cin; c++) {
      let acc = 0;
      for (let m = 0; m < mult; m++) acc += dyv[dyBase + c * mult + m] * wv[wBase + c * mult + m];
      dx[xBase + c] += acc;
    }
  });
  return out;
}

/** UnsortedSegmentSum (the gradient of gather): out[s, ...] = Σ_{i: ids[i]=s} x[i, ...]. */
function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { x, segmentIds },
    backend,
    attrs,
  } = args;
  const numSegments = attrs.numSegments as number;
  const inner = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let k = 0; k < inner; k++) ov[s * inner + k] += xv[i * inner + k];
  }
  return out;
}

/**
 * Tile, fast path for pure broadcasts: when every dimension with reps > 1 is preceded only by
 * dimensions of size 1, the output is x's buffer repeated ∏reps times, written by doubling
 * `copyWithin`. Any other case falls back to the built-in kernel.
 */
function makeTile(original: tf.KernelFunc) {
  return function tile(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: Attrs }): TensorInfo {
    const {
      inputs: { x },
      backend,
      attrs,
    } = args;
    const reps = attrs.reps as number[];
    let ok = x.dtype === 'float32' || x.dtype === 'int32';
    // a repeated dimension inside a non-unit one would interleave copies, not repeat the buffer
    for (let i = 0; i < reps.length && ok; i++) {
      if (reps[i] > 1 && x.shape.slice(0, i).some((d) => d !== 1)) ok = false;
    }
    if (!ok) return original(args as never) as TensorInfo;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const len = src.length;
    const total = dst.length;
    if (len === 0) return out;
    dst.set(src, 0);
    let filled = len;
    while (filled < total) {
      const chunk = Math.min(filled, total - filled);
      dst.copyWithin(filled, 0, chunk);
      filled += chunk;
    }
    return out;
  };
}

/**
 * BatchMatMul / _FusedMatMul with a transposed operand: the built-in wasm kernel is ~10x slower
 * with transposeA or transposeB than with an explicit Transpose followed by the plain product
 * (measured 3.6 ms vs 0.38 ms for [1000,64]ᵀ·[1000,64]). Every dense-layer gradient uses them.
 */
function makeMatMul(original: tf.KernelFunc) {
  return function matMul(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Attrs }): TensorInfo {
    const { inputs, backend, attrs } = args;
    if (!attrs.transposeA && !attrs.transposeB) return original(args as never) as TensorInfo;
    const swapLast = (t: TensorInfo) => {
      const r = t.shape.length;
      const perm = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
      return run(backend, 'Transpose', { x: t }, { perm });
    };
    const owned: TensorInfo[] = [];
    const a = attrs.transposeA ? swapLast(inputs.a) : inputs.a;
    const b = attrs.transposeB ? swapLast(inputs.b) : inputs.b;
    if (a !== inputs.a) owned.push(a);
    if (b !== inputs.b) owned.push(b);
    const out = original({
      inputs: { ...inputs, a, b },
      attrs: { ...attrs, transposeA: false, transposeB: false },
      backend,
    }) as TensorInfo;
    free(backend, ...owned);
    return out;
  };
}

/**
 * Adds `inputs.bias` (if any) to `out` and applies `attrs.activation` with the wasm kernels, freeing
 * each intermediate: the tail of a fused kernel (_FusedMatMul, FusedConv2D) run as separate kernels.
 */
export function applyBiasActivation(
  backend: BackendWasm,
  out: TensorInfo,
  inputs: Record<string, TensorInfo | undefined>,
  attrs: Attrs,
  kernel: string,
): TensorInfo {
  const step = (next: TensorInfo) => {
    free(backend, out);
    out = next;
  };
  if (inputs.bias) step(run(backend, 'Add', { a: out, b: inputs.bias }));
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  switch (activation) {
    case 'linear':
      break;
    case 'relu':
      step(run(backend, 'Relu', { x: out }));
      break;
    case 'relu6':
      step(run(backend, 'Relu6', { x: out }));
      break;
    case 'elu':
      step(run(backend, 'Elu', { x: out }));
      break;
    case 'sigmoid':
      step(run(backend, 'Sigmoid', { x: out }));
      break;
    case 'leakyrelu':
      step(run(backend, 'LeakyRelu', { x: out }, { alpha: attrs.leakyreluAlpha }));
      break;
    case 'prelu':
      step(run(backend, 'Prelu', { x: out, alpha: inputs.preluActivationWeights! }));
      break;
    default:
      free(backend, out);
      throw new Error(`${kernel} (wasm): unsupported activation '${activation}'`);
  }
  return out;
}

/**
 * _FusedMatMul: the built-in wasm kernel adds the bias wrongly for batched (rank > 2) operands
 * (tfjs 4.22; e.g. [2,7,5]ᵀ·[2,7,3] + bias differs from the cpu backend by 20%). Those cases run as
 * BatchMatMul, Add and the activation's own kernel.
 */
function makeFusedMatMul(matMul: ReturnType<typeof makeMatMul>, fusedRank2: ReturnType<typeof makeMatMul>) {
  return function fusedMatMul(args: {
    inputs: Record<string, TensorInfo>;
    backend: BackendWasm;
    attrs: Attrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    if (inputs.a.shape.length <= 2 && inputs.b.shape.length <= 2) return fusedRank2(args);
    const out = matMul({
      inputs: { a: inputs.a, b: inputs.b },
      attrs: { transposeA: attrs.transposeA, transposeB: attrs.transposeB },
      backend,
    });
    return applyBiasActivation(backend, out, inputs, attrs, '_FusedMatMul');
  };
}

const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b,
  NotEqual: (a, b) => a !== b,
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
};

/**
 * Comparison kernels with broadcasting. The built-in wasm ones take ~23 ms for [500,500] vs [500,1]
 * (20x their own non-broadcast time, 400x an arithmetic op); the gradient of max / logSumExp
 * (softmax cross-entropy, InfoNCE) runs one per step. A direct loop over the heap: the last axis in
 * the inner loop (stride 0 or 1 per operand), an odometer over the others.
 */
function makeComparison(name: string, original: tf.KernelFunc) {
  const cmp = COMPARISONS[name];
  return function compare(args: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: BackendWasm;
    attrs: Attrs;
  }): TensorInfo {
    const {
      inputs: { a, b },
      backend,
    } = args;
    const numeric = (t: TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32';
    const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (sameShape || !numeric(a) || !numeric(b)) return original(args as never) as TensorInfo;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const rank = outShape.length;
    const pad = (shape: number[]) => [...new Array<number>(rank - shape.length).fill(1), ...shape];
    const sa = pad(a.shape);
    const sb = pad(b.shape);
    // element strides of each operand per output axis (0 where broadcast)
    const strides = (shape: number[]) => {
      const st = new Array<number>(rank).fill(0);
      let acc = 1;
      for (let i = rank - 1; i >= 0; i--) {
        st[i] = shape[i] === 1 ? 0 : acc;
        acc *= shape[i];
      }
      return st;
    };
    const ta = strides(sa);
    const tb = strides(sb);
    const out = backend.makeOutput(outShape, 'bool');
    const av = backend.typedArrayFromHeap(a);
    const bv = backend.typedArrayFromHeap(b);
    const ov = backend.typedArrayFromHeap(out) as Uint8Array;
    const total = ov.length;
    if (total === 0) return out;
    const inner = rank === 0 ? 1 : outShape[rank - 1];
    const ia = rank === 0 ? 0 : ta[rank - 1];
    const ib = rank === 0 ? 0 : tb[rank - 1];
    const idx = new Array<number>(Math.max(0, rank - 1)).fill(0);
    let oa = 0;
    let ob = 0;
    for (let o = 0; o < total; o += inner) {
      for (let k = 0, pa = oa, pb = ob; k < inner; k++, pa += ia, pb += ib) ov[o + k] = cmp(av[pa], bv[pb]) ? 1 : 0;
      // advance the odometer over the outer axes
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]++;
        oa += ta[d];
        ob += tb[d];
        if (idx[d] < outShape[d]) break;
        oa -= ta[d] * outShape[d];
        ob -= tb[d] * outShape[d];
        idx[d] = 0;
      }
    }
    return out;
  };
}

/**
 * MaxPoolGrad: the built-in wasm kernel takes ~21 ms for [64,30,30,32] with a 3×3/2 window (a third of
 * a LeNet training step). Direct loop: recompute each window's argmax (first maximum in scan order,
 * as the cpu backend) and route dy there.
 */
function maxPoolGrad(args: {
  inputs: { dy: TensorInfo; input: TensorInfo };
  backend: BackendWasm;
  attrs: Attrs;
}): TensorInfo {
  const {
    inputs: { dy, input },
    backend,
    attrs,
  } = args;
  const ci = poolInfo(input.shape, attrs);
  const dx = backend.makeOutput(input.shape, 'float32');
  const xv = backend.typedArrayFromHeap(input) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const dxv = backend.typedArrayFromHeap(dx) as Float32Array;
  dxv.fill(0);
  const {
    batchSize,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: ho,
    outWidth: wo,
    strideHeight: sh,
    strideWidth: sw,
    effectiveFilterHeight: kh,
    effectiveFilterWidth: kw,
    dilationHeight: dh,
    dilationWidth: dwl,
  } = ci;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  const best = new Int32Array(c);
  const bestVal = new Float32Array(c);
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        best.fill(-1);
        bestVal.fill(-Infinity);
        for (let a = 0; a < kh; a += dh) {
          const y = oy * sh - pt + a;
          if (y < 0 || y >= h) continue;
          for (let b = 0; b < kw; b += dwl) {
            const x = ox * sw - pl + b;
            if (x < 0 || x >= w) continue;
            const base = ((n * h + y) * w + x) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > bestVal[k] || best[k] === -1) {
                bestVal[k] = v;
                best[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((n * ho + oy) * wo + ox) * c;
        for (let k = 0; k < c; k++) if (best[k] >= 0) dxv[best[k]] += dyv[dyBase + k];
      }
    }
  }
  return dx;
}

/**
 * Conv2D / FusedConv2D with pad 'same': the built-in wasm kernel hands 'same' to XNNPack, which gets
 * some strided non-square filters wrong (tfjs 4.22: a 1×3 filter at stride 2 or 3 on 8×11 or 9×9
 * gives outputs unrelated to the cpu backend's). The padding is computed here and passed explicitly.
 */
function makeExplicitSamePadding(original: tf.KernelFunc) {
  return function conv(args: {
    inputs: { x: TensorInfo; filter: TensorInfo };
    backend: BackendWasm;
    attrs: Attrs;
  }): TensorInfo {
    const {
      inputs: { x, filter },
      attrs,
    } = args;
    if (attrs.pad !== 'same' || ((attrs.dataFormat as string | undefined) ?? 'NHWC') !== 'NHWC')
      return original(args as never) as TensorInfo;
    const info = convInfo(x.shape, filter.shape, attrs);
    const p = info.padInfo;
    return original({
      ...args,
      attrs: {
        ...attrs,
        pad: [
          [0, 0],
          [p.top, p.bottom],
          [p.left, p.right],
          [0, 0],
        ],
      },
    }) as TensorInfo;
  };
}

/**
 * Slice: the built-in wasm kernel first copies the WHOLE input out of the heap (`readSync`), so taking
 * 64 rows of a [512, 8192] feature matrix copies 16 MiB (W4 of the bench spent 0.55 s there). Here the
 * slice is read in place: one copy per contiguous run of the innermost dimensions.
 */
function makeSlice(original: tf.KernelFunc) {
  return function slice(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: Attrs }): TensorInfo {
    const {
      inputs: { x },
      backend,
      attrs,
    } = args;
    if (x.dtype === 'string') return original(args as never) as TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    const rank = x.shape.length;
    const out = backend.makeOutput(size, x.dtype);
    const total = util.sizeFromShape(size);
    if (total === 0) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const strides = util.computeStrides(x.shape);
    // innermost dimensions taken whole form one run; `d` is the last dimension that is cut
    let d = rank - 1;
    let run = 1;
    while (d >= 0 && size[d] === x.shape[d]) run *= size[d--];
    if (d < 0) {
      dst.set(src.subarray(0, total));
      return out;
    }
    run *= size[d];
    const rowStride = (i: number) => (i === rank - 1 ? 1 : strides[i]);
    const outer = util.sizeFromShape(size.slice(0, d));
    const idx = new Array<number>(d).fill(0);
    let base = 0;
    for (let i = 0; i <= d; i++) base += begin[i] * rowStride(i);
    for (let o = 0, off = base; o < outer; o++) {
      dst.set(src.subarray(off, off + run), o * run);
      // odometer over the outer dimensions 0..d-1
      for (let k = d - 1; k >= 0; k--) {
        idx[k]++;
        off += rowStride(k);
        if (idx[k] < size[k]) break;
        off -= size[k] * rowStride(k);
        idx[k] = 0;
      }
    }
    return out;
  };
}

/**
 * Identity, and Cast to the same dtype: the built-in wasm kernels copy the whole buffer. The engine
 * clones every tensor it saves for the backward pass through Identity (a ResNet-18 step copied 54M
 * floats that way), and the ReLU gradient casts float32 to float32. Here they share the buffer and
 * count a reference, as the cpu backend's Identity and the wasm backend's own Reshape do.
 */
function makeShared(
  original: tf.KernelFunc,
  sameDtype: (args: { inputs: { x: TensorInfo }; attrs: Attrs }) => boolean,
) {
  return function shared(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: Attrs }): TensorInfo {
    const {
      inputs: { x },
      backend,
    } = args;
    if (x.dtype === 'string' || !sameDtype(args)) return original(args as never) as TensorInfo;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

let registered = false;

/** The kernel names this module registers (or replaces) on the wasm backend. */
export const WASM_TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'Tile',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPoolGrad',
  'Conv2D',
  'FusedConv2D',
  'Slice',
  'Identity',
  'Cast',
  ...Object.keys(COMPARISONS),
] as const;

/**
 * Registers the training kernels on the wasm backend. Call after `tf.setBackend('wasm')` resolved:
 * the replaced built-ins (Tile) keep the setup their own `setupFunc` did at backend start.
 * Idempotent.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const replace = (kernelName: string, kernelFunc: unknown) => {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  };
  const original = (name: string) => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm backend has no ${name} kernel: is @tensorflow/tfjs-backend-wasm 4.22 loaded?`);
    return k.kernelFunc;
  };
  const originalTile = original('Tile');
  const originalMatMul = original('BatchMatMul');
  const originalFusedMatMul = original('_FusedMatMul');
  replace('Conv2DBackpropFilter', conv2DBackpropFilter);
  replace('Conv2DBackpropInput', conv2DBackpropInput);
  replace('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter);
  replace('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput);
  replace('UnsortedSegmentSum', unsortedSegmentSum);
  replace('Tile', makeTile(originalTile));
  const matMul = makeMatMul(originalMatMul);
  replace('BatchMatMul', matMul);
  replace('_FusedMatMul', makeFusedMatMul(matMul, makeMatMul(originalFusedMatMul)));
  for (const name of Object.keys(COMPARISONS)) replace(name, makeComparison(name, original(name)));
  replace('MaxPoolGrad', maxPoolGrad);
  replace('Conv2D', makeExplicitSamePadding(original('Conv2D')));
  replace('FusedConv2D', makeExplicitSamePadding(original('FusedConv2D')));
  replace('Slice', makeSlice(original('Slice')));
  replace(
    'Identity',
    makeShared(original('Identity'), () => true),
  );
  replace(
    'Cast',
    makeShared(original('Cast'), ({ inputs: { x }, attrs }) => attrs.dtype === x.dtype),
  );
  registered = true;
}
