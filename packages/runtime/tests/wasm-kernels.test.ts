/**
 * The wasm training kernels against the plain cpu backend's gradients (the tfjs reference
 * implementation), on random inputs over the shapes the issue names. Tolerance: worst
 * max|Δ| / max|ref| below 1e-5 (float32 sums of a few hundred terms in another order).
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  batchNormRunningUpdate,
  batchNormTrain,
  initBackend,
  nativeStatus,
  Rng,
  setWasmNativeKernels,
  wasmNativeKernelsActive,
} from '../src';

const REL_TOL = 1e-5;

function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

interface ConvCase {
  name: string;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  pad: 'same' | 'valid';
  depthwise?: boolean;
  mult?: number;
}

const CONV_CASES: ConvCase[] = [];
const kernels: Array<[number, number]> = [
  [1, 1],
  [3, 3],
  [5, 5],
  [7, 7],
  [5, 3],
  [1, 3],
];
const sizes: Array<[number, number]> = [
  [9, 9],
  [8, 11],
];
for (const [kh, kw] of kernels) {
  for (const stride of [1, 2, 3]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [h, w] of sizes) {
        if (pad === 'valid' && (kh > h || kw > w)) continue;
        CONV_CASES.push({
          name: `conv k${kh}x${kw} s${stride} ${pad} ${h}x${w}`,
          n: 3,
          h,
          w,
          cin: 4,
          cout: 5,
          kh,
          kw,
          stride,
          pad,
        });
      }
    }
  }
}
// layer widths of the models (16/32 channels): the native convolutions split these batches over two threads
for (const [cin, cout] of [
  [16, 16],
  [3, 16],
  [16, 32],
  [5, 16],
] as Array<[number, number]>) {
  for (const [kh, kw] of [
    [3, 3],
    [1, 1],
    [5, 3],
  ] as Array<[number, number]>) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        CONV_CASES.push({
          name: `conv ${cin}->${cout} k${kh}x${kw} s${stride} ${pad} 9x10`,
          n: 3,
          h: 9,
          w: 10,
          cin,
          cout,
          kh,
          kw,
          stride,
          pad,
        });
      }
    }
  }
}
// large enough (≥ 2^22 multiply-adds) for the native convolutions to split the batch over two threads;
// an odd batch makes the halves unequal
for (const [cin, cout, k, stride, n, h] of [
  [16, 32, 3, 1, 5, 14],
  [32, 64, 3, 2, 4, 16],
  [64, 64, 1, 1, 5, 16],
] as Array<[number, number, number, number, number, number]>) {
  CONV_CASES.push({
    name: `conv ${cin}->${cout} k${k}x${k} s${stride} same ${h}x${h} n${n} (two threads)`,
    n,
    h,
    w: h,
    cin,
    cout,
    kh: k,
    kw: k,
    stride,
    pad: 'same',
  });
}
for (const [kh, kw] of [
  [3, 3],
  [5, 5],
  [3, 1],
] as Array<[number, number]>) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const mult of [1, 2]) {
        CONV_CASES.push({
          name: `depthwise k${kh}x${kw} s${stride} ${pad} m${mult}`,
          n: 2,
          h: 9,
          w: 7,
          cin: 3,
          cout: 3 * mult,
          kh,
          kw,
          stride,
          pad,
          depthwise: true,
          mult,
        });
      }
    }
  }
}

interface Grads {
  dx: Float32Array;
  dw: Float32Array;
}

function convGrads(c: ConvCase, seed: number): Grads {
  const rng = new Rng(seed);
  const x = tf.tensor4d(randn(rng, c.n * c.h * c.w * c.cin), [c.n, c.h, c.w, c.cin]);
  const wShape: [number, number, number, number] = c.depthwise
    ? [c.kh, c.kw, c.cin, c.mult!]
    : [c.kh, c.kw, c.cin, c.cout];
  const w = tf.tensor4d(
    randn(
      rng,
      wShape.reduce((a, b) => a * b, 1),
    ),
    wShape,
  );
  const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) =>
    c.depthwise ? tf.depthwiseConv2d(xx, ww, c.stride, c.pad) : tf.conv2d(xx, ww, c.stride, c.pad);
  const outShape = tf.tidy(() => f(x, w).shape);
  const r = tf.tensor(
    randn(
      rng,
      outShape.reduce((a, b) => a * b, 1),
    ),
    outShape,
  );
  const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
    tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D), r)),
  )([x, w]);
  const out = { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  tf.dispose([x, w, r, dx, dw]);
  return out;
}

/** Forward convolution and fused convolution (bias + relu), NHWC. */
type Forward = Record<'plain' | 'fused' | 'biasOnly' | 'reluOnly' | 'relu6', Float32Array>;

function convForward(c: ConvCase, seed: number): Forward {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const x = tf.tensor4d(randn(rng, c.n * c.h * c.w * c.cin), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(randn(rng, c.kh * c.kw * c.cin * c.cout), [c.kh, c.kw, c.cin, c.cout]);
    const bias = tf.tensor1d(randn(rng, c.cout));
    const plain = tf.conv2d(x, w, c.stride, c.pad);
    const fused = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias, activation: 'relu' });
    // bias alone, ReLU alone (both inside the native kernel) and relu6 (a separate kernel after it)
    const biasOnly = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias });
    const reluOnly = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, activation: 'relu' });
    const relu6 = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias, activation: 'relu6' });
    return {
      plain: plain.dataSync() as Float32Array,
      fused: fused.dataSync() as Float32Array,
      biasOnly: biasOnly.dataSync() as Float32Array,
      reluOnly: reluOnly.dataSync() as Float32Array,
      relu6: relu6.dataSync() as Float32Array,
    };
  });
}

/**
 * Training-mode batch norm: outputs and the gradients of a random projection of y alone (a training
 * step: oneDNN's backward where it is on) and of all three outputs (the gradient reaching the mean
 * and variance: the C loops). Odd channel counts, where oneDNN has only its reference kernel and the
 * C loops run, and the models' channel counts.
 */
const BN_CASES: number[][] = [
  [4, 3, 5, 6],
  [7, 4],
  [2, 9, 9, 3],
  [16, 16, 16, 16],
  [8, 7, 7, 32],
  [32, 64],
];
function bnCase(i: number): Float32Array[] {
  return [...bnCaseWith(i, false), ...bnCaseWith(i, true)];
}
function bnCaseWith(i: number, statsGrad: boolean): Float32Array[] {
  const shape = BN_CASES[i];
  const c = shape[shape.length - 1];
  const rng = new Rng(1200 + i);
  return tf.tidy(() => {
    const x = tf.add(
      tf.mul(
        tf.tensor(
          randn(
            rng,
            shape.reduce((a, b) => a * b, 1),
          ),
          shape,
        ),
        3,
      ),
      1.5,
    );
    const gamma = tf.tensor1d(randn(rng, c));
    const beta = tf.tensor1d(randn(rng, c));
    const r = tf.tensor(randn(rng, x.size), shape);
    const rm = tf.tensor1d(randn(rng, c));
    const rv = tf.tensor1d(randn(rng, c));
    const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const o = batchNormTrain(xx, g, b, 1e-5);
      const loss = tf.sum(tf.mul(o.y, r));
      return statsGrad ? tf.addN([loss, tf.sum(tf.mul(o.mean, rm)), tf.sum(tf.mul(o.variance, rv))]) : loss;
    };
    const o = batchNormTrain(x, gamma, beta, 1e-5);
    const [dx, dg, db] = tf.grads(f)([x, gamma, beta]);
    return [o.y, o.mean, o.variance, dx, dg, db].map((t) => t.dataSync() as Float32Array);
  });
}

const SLICE_CASES: Array<[number[], number[], number[]]> = [
  [
    [512, 64],
    [64, 0],
    [64, -1],
  ], // rows of a feature matrix (contiguous)
  [
    [6, 7],
    [1, 2],
    [3, 4],
  ],
  [
    [4, 5, 6],
    [1, 0, 2],
    [2, 5, 3],
  ],
  [
    [3, 4, 5, 6],
    [0, 1, 0, 0],
    [3, 2, 5, 6],
  ],
  [
    [3, 4, 5, 6],
    [1, 1, 1, 2],
    [2, 2, 3, 3],
  ],
  [
    [2, 3, 2, 3, 4],
    [1, 0, 1, 1, 0],
    [1, 3, 1, 2, 4],
  ],
  [[9], [2], [5]],
  [
    [4, 5],
    [0, 0],
    [4, 5],
  ],
];
function sliceCase(i: number): number[] {
  const [shape, begin, size] = SLICE_CASES[i];
  const rng = new Rng(1300 + i);
  return tf.tidy(() => {
    const x = tf.tensor(
      randn(
        rng,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    );
    const xi = tf.cast(tf.mul(x, 10), 'int32');
    return [...tf.slice(x, begin, size).dataSync(), ...tf.slice(xi, begin, size).dataSync()];
  });
}

/** Inference-mode batch norm (FusedBatchNorm) with and without offset/scale, rank 2 and 4. */
const BN_INFER_CASES: number[][] = [
  [3, 4, 5, 6],
  [7, 6],
  [4, 5, 5, 16],
];
function bnInferCase(i: number): number[] {
  const rng = new Rng(1400 + i);
  const shape = BN_INFER_CASES[i];
  const c = shape[shape.length - 1];
  return tf.tidy(() => {
    const x = tf.tensor(
      randn(
        rng,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    );
    const p = () => tf.tensor1d(randn(rng, c));
    const v = tf.abs(p());
    return [
      ...tf.batchNorm(x, p(), v, p(), p(), 1e-3).dataSync(),
      ...tf.batchNorm(x, p(), v).dataSync(),
      ...tf.batchNorm(x, tf.tensor1d([0.5]), tf.tensor1d([2]), undefined, tf.tensor1d([1.5])).dataSync(),
    ];
  });
}

function tileCase(shape: number[], reps: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return tf.tidy(
    () =>
      tf
        .tile(
          tf.tensor(
            randn(
              rng,
              shape.reduce((a, b) => a * b, 1),
            ),
            shape,
          ),
          reps,
        )
        .dataSync() as Float32Array,
  );
}
const TILE_CASES: Array<[number[], number[]]> = [
  [
    [1, 1, 1, 5],
    [3, 4, 2, 1],
  ], // the BatchNorm-gradient broadcast (fast path)
  [
    [1, 6],
    [4, 1],
  ], // fast path
  [
    [2, 3],
    [2, 2],
  ], // interleaving: falls back to the built-in kernel
  [
    [3, 1, 2],
    [1, 4, 1],
  ], // fallback
];

function segmentSumCase(seed: number): Float32Array {
  const rng = new Rng(seed);
  return tf.tidy(() => {
    const table = tf.tensor2d(randn(rng, 7 * 4), [7, 4]);
    const idx = tf.tensor1d([0, 3, 3, 6, 1, 0], 'int32');
    const r = tf.tensor2d(randn(rng, 6 * 4), [6, 4]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), r)))(table);
    return g.dataSync() as Float32Array;
  });
}

const MATMUL_CASES: Array<[number[], number[], boolean, boolean]> = [
  [[7, 5], [7, 3], true, false],
  [[7, 5], [3, 5], false, true],
  [[5, 7], [3, 5], true, true],
  [[2, 7, 5], [2, 7, 3], true, false], // batched
  [[2, 4, 6], [2, 5, 6], false, true],
  // above the size the native sgemm splits over threads: by rows, by columns, edges off the 16-row tiles
  [[200, 96], [96, 150], false, false],
  [[96, 70], [96, 400], true, false],
  [[2, 160, 128], [2, 150, 128], false, true],
  [[130, 200], [90, 130], true, true],
  [[70, 96], [400, 96], false, true],
];
function matMulCase(i: number): { plain: Float32Array; fused: Float32Array } {
  const [sa, sb, ta, tb] = MATMUL_CASES[i];
  const rng = new Rng(700 + i);
  return tf.tidy(() => {
    const a = tf.tensor(
      randn(
        rng,
        sa.reduce((x, y) => x * y, 1),
      ),
      sa,
    );
    const b = tf.tensor(
      randn(
        rng,
        sb.reduce((x, y) => x * y, 1),
      ),
      sb,
    );
    const plain = tf.matMul(a, b, ta, tb);
    const bias = tf.tensor1d(randn(rng, plain.shape[plain.rank - 1]));
    const fused = tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
    return { plain: plain.dataSync() as Float32Array, fused: fused.dataSync() as Float32Array };
  });
}

/** The ReLU gradient, with zeros, NaN and ±∞ in x and dy (the native path is one fused kernel). */
function reluGradCase(seed: number): number[] {
  const rng = new Rng(seed);
  const n = 4 * 9 * 7 * 5;
  const x = randn(rng, n);
  const dy = randn(rng, n);
  x.set([0, -0, NaN, Infinity, -Infinity, 0, NaN], 0);
  dy.set([1, -2, 3, NaN, Infinity, -Infinity, -1], 0);
  dy[10] = Infinity;
  dy[11] = -Infinity;
  return tf.tidy(() => {
    const g = tf.grad((t: tf.Tensor) => tf.relu(t))(tf.tensor4d(x, [4, 9, 7, 5]), tf.tensor4d(dy, [4, 9, 7, 5]));
    return Array.from(g.dataSync());
  });
}

/** Relu and a same-shape Add, below and above the size the native passes split over threads. */
function elementwiseCase(seed: number): number[][] {
  const rng = new Rng(seed);
  return [4 * 9 * 7 * 5, 3 * 64 * 1024 + 7].flatMap((n) => {
    const a = randn(rng, n);
    const b = randn(rng, n);
    a.set([0, -0, NaN, Infinity, -Infinity, -3, 2], 0);
    b.set([-0, -0, 1, -Infinity, Infinity, NaN, 0.5], 0);
    return tf.tidy(() => {
      const ta = tf.tensor1d(a);
      const tb = tf.tensor1d(b);
      return [Array.from(tf.relu(ta).dataSync()), Array.from(tf.add(ta, tb).dataSync())];
    });
  });
}

/** Batch norm's running-statistics update (one native kernel, else the composite ops). */
function runningCase(seed: number): number[][] {
  const rng = new Rng(seed);
  const c = 37;
  const [rm, mean] = [randn(rng, c), randn(rng, c)];
  const [rv, variance] = [randn(rng, c).map(Math.abs), randn(rng, c).map(Math.abs)];
  return tf.tidy(() =>
    batchNormRunningUpdate(
      tf.tensor1d(rm),
      tf.tensor1d(rv),
      tf.tensor1d(mean),
      tf.tensor1d(variance),
      64 * 32 * 32,
      0.1,
    ).map((t) => Array.from(t.dataSync())),
  );
}

/** Gram matrices: the same tensor on both sides (the native path uses ssyrk). */
function gramCase(i: number): number[] {
  const rng = new Rng(750 + i);
  return tf.tidy(() => {
    const a = tf.tensor2d(randn(rng, 37 * 11), [37, 11]);
    return [...tf.matMul(a, a, false, true).dataSync(), ...tf.matMul(a, a, true, false).dataSync()];
  });
}

const COMPARE_CASES: Array<[number[], number[]]> = [
  [
    [4, 5],
    [4, 1],
  ],
  [
    [4, 5],
    [1, 5],
  ],
  [[2, 3, 4], [4]],
  [
    [3, 1, 4],
    [1, 5, 1],
  ],
  [[6], []],
  [
    [2, 2],
    [2, 2],
  ],
];
function compareCase(i: number): number[] {
  const [sa, sb] = COMPARE_CASES[i];
  const rng = new Rng(800 + i);
  // small integers, so that equality happens
  const ints = (shape: number[]) =>
    tf.tensor(
      Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => rng.int(3)),
      shape,
      'float32',
    );
  return tf.tidy(() => {
    const a = ints(sa);
    const b = ints(sb);
    return [tf.equal, tf.notEqual, tf.greater, tf.greaterEqual, tf.less, tf.lessEqual].flatMap((f) =>
      Array.from(f(a, b).dataSync()),
    );
  });
}

// the fifth field rounds x to integers: ties, where the gradient goes to the first maximum in scan order
const POOL_CASES: Array<[number[], number, number, 'valid' | 'same' | number, boolean?]> = [
  [[2, 9, 9, 3], 3, 2, 1],
  [[2, 8, 8, 3], 3, 2, 1],
  [[2, 8, 8, 4], 2, 2, 'valid'],
  [[1, 7, 9, 2], 3, 1, 'same'],
  [[2, 10, 10, 3], 3, 2, 'same'],
  [[3, 28, 28, 32], 2, 2, 'valid'],
  [[2, 8, 8, 5], 2, 2, 'valid', true],
  [[2, 9, 9, 3], 3, 2, 'same', true],
];
const AVG_POOL_CASES = [...POOL_CASES.filter((c) => !c[4]), [[2, 4, 4, 8], 4, 4, 'valid'] as (typeof POOL_CASES)[0]];
function poolGrad(i: number, op: 'max' | 'avg' = 'max'): Float32Array {
  const [shape, k, s, pad, ties] = (op === 'max' ? POOL_CASES : AVG_POOL_CASES)[i];
  const rng = new Rng(950 + i);
  return tf.tidy(() => {
    const values = randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
    );
    const x = tf.tensor4d(ties ? values.map(Math.round) : values, shape as [number, number, number, number]);
    const pool = op === 'max' ? tf.maxPool : tf.avgPool;
    const f = (xx: tf.Tensor) => pool(xx as tf.Tensor4D, k, s, pad, typeof pad === 'number' ? 'floor' : undefined);
    const outShape = tf.tidy(() => f(x).shape);
    const r = tf.tensor(
      randn(
        rng,
        outShape.reduce((a, b) => a * b, 1),
      ),
      outShape,
    );
    return tf
      .grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), r)))(x)
      .dataSync() as Float32Array;
  });
}

const FORWARD_CASES = CONV_CASES.filter((c) => !c.depthwise);
const reference: {
  conv: Grads[];
  fwd: Forward[];
  tile: Float32Array[];
  seg: Float32Array;
  mm: Array<{ plain: Float32Array; fused: Float32Array }>;
  cmp: number[][];
  pool: Float32Array[];
  avgPool: Float32Array[];
  relu: number[];
  elementwise: number[][];
  running: number[][];
  bn: Float32Array[][];
  slice: number[][];
  gram: number[];
  bnInfer: number[][];
} = {
  gram: [],
  bnInfer: [],
  conv: [],
  fwd: [],
  tile: [],
  seg: new Float32Array(),
  mm: [],
  cmp: [],
  pool: [],
  avgPool: [],
  relu: [],
  elementwise: [],
  running: [],
  bn: [],
  slice: [],
};

beforeAll(async () => {
  await initBackend('cpu');
  reference.conv = CONV_CASES.map((c, i) => convGrads(c, 100 + i));
  reference.fwd = FORWARD_CASES.map((c, i) => convForward(c, 300 + i));
  reference.bn = BN_CASES.map((_, i) => bnCase(i));
  reference.slice = SLICE_CASES.map((_, i) => sliceCase(i));
  reference.gram = gramCase(0);
  reference.bnInfer = BN_INFER_CASES.map((_, i) => bnInferCase(i));
  reference.tile = TILE_CASES.map(([s, r], i) => tileCase(s, r, 500 + i));
  reference.seg = segmentSumCase(900);
  reference.mm = MATMUL_CASES.map((_, i) => matMulCase(i));
  reference.cmp = COMPARE_CASES.map((_, i) => compareCase(i));
  reference.pool = POOL_CASES.map((_, i) => poolGrad(i));
  reference.avgPool = AVG_POOL_CASES.map((_, i) => poolGrad(i, 'avg'));
  reference.relu = reluGradCase(990);
  reference.elementwise = elementwiseCase(991);
  reference.running = runningCase(992);
  const info = await initBackend('wasm');
  expect(info.name).toBe('wasm');
});

const native = nativeStatus();
if (!native.available) console.warn(`native kernels not tested: ${native.reason}`);
else if (!native.dnnl) console.warn(`oneDNN kernels not tested: ${native.dnnlReason}`);
type Mode = 'pure wasm' | 'OpenBLAS' | 'oneDNN';
// every mode present on this machine; the oneDNN mode keeps OpenBLAS for products and declined shapes
const MODES: Array<[Mode, boolean]> = [
  ['pure wasm', true],
  ['OpenBLAS', native.available],
  ['oneDNN', native.available && native.dnnl !== undefined],
];

describe.each(MODES)('%s training kernels match the cpu backend', (mode, enabled) => {
  // oneDNN replaces the convolutions and batch norm: the other kernels are the OpenBLAS mode's, tested there
  const maybeConv = enabled ? it : it.skip;
  const maybe = enabled && mode !== 'oneDNN' ? it : it.skip;
  beforeAll(() => {
    if (!enabled) return;
    const addon = mode !== 'pure wasm' && native.available ? native.addon : undefined;
    setWasmNativeKernels(addon);
    addon?.dnnlEnable(mode === 'oneDNN');
    // threads set explicitly, as REPRO_BLAS_THREADS and runChildJobs do: oneDNN's strided 1×1 filter
    // gradient raced only in that state (see native/src/repro_dnnl.c)
    addon?.setThreads(Math.max(2, os.cpus().length));
    expect(wasmNativeKernelsActive()).toBe(mode !== 'pure wasm');
    if (addon) expect(addon.config().dnnlEnabled).toBe(mode === 'oneDNN');
  });
  afterAll(() => {
    if (native.available && native.dnnl) native.addon.dnnlEnable(true);
  });

  maybeConv.each(CONV_CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const got = convGrads(CONV_CASES[i], 100 + i);
    const ref = reference.conv[i];
    expect(relErr(got.dx, ref.dx)).toBeLessThan(REL_TOL);
    expect(relErr(got.dw, ref.dw)).toBeLessThan(REL_TOL);
  });

  maybeConv.each(FORWARD_CASES.map((c, i) => [c.name, i] as const))(
    'forward %s (plain; fused bias + relu, bias, relu, bias + relu6)',
    (_name, i) => {
      const got = convForward(FORWARD_CASES[i], 300 + i);
      for (const k of ['plain', 'fused', 'biasOnly', 'reluOnly', 'relu6'] as const)
        expect(relErr(got[k], reference.fwd[i][k])).toBeLessThan(REL_TOL);
    },
  );

  maybeConv.each(BN_CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    'training batch norm and its gradient %s',
    (_n, i) => {
      const got = bnCase(i);
      got.forEach((g, k) => expect(relErr(g, reference.bn[i][k])).toBeLessThan(REL_TOL));
    },
  );

  maybe.each(SLICE_CASES.map((c, i) => [JSON.stringify(c), i] as const))('slice %s', (_n, i) => {
    expect(sliceCase(i)).toEqual(reference.slice[i]);
  });

  maybe.each(TILE_CASES.map((c, i) => [JSON.stringify(c), i] as const))('tile %s', (_n, i) => {
    const [s, r] = TILE_CASES[i];
    expect(Array.from(tileCase(s, r, 500 + i))).toEqual(Array.from(reference.tile[i]));
  });

  maybe.each(MATMUL_CASES.map((c, i) => [JSON.stringify(c), i] as const))('matMul with transposes %s', (_n, i) => {
    const got = matMulCase(i);
    expect(relErr(got.plain, reference.mm[i].plain)).toBeLessThan(REL_TOL);
    expect(relErr(got.fused, reference.mm[i].fused)).toBeLessThan(REL_TOL);
  });

  maybeConv.each(BN_INFER_CASES.map((c, i) => [JSON.stringify(c), i] as const))('inference batch norm %s', (_n, i) => {
    expect(relErr(bnInferCase(i), reference.bnInfer[i])).toBeLessThan(REL_TOL);
  });

  (mode === 'oneDNN' && enabled ? it : it.skip)("batch norm ran on oneDNN at the models' channel counts", () => {
    bnCase(3);
    bnInferCase(2);
    const lines = native.available ? native.addon.dnnlPrimitives().split('\n') : [];
    for (const kind of ['batchnorm-train', 'batchnorm-grad', 'batchnorm-infer'])
      expect(
        lines.filter((l) => l.startsWith(kind) && / c(16|32|64): /.test(l) && !l.includes('declined')),
      ).not.toEqual([]);
  });

  maybe('clone and same-dtype cast share the buffer safely', () => {
    const before = tf.engine().backend.numDataIds();
    const x = tf.tensor1d([1.5, -2, 3]);
    const c = x.clone();
    const f = tf.cast(x, 'float32');
    const i = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3]);
    expect(Array.from(f.dataSync())).toEqual([1.5, -2, 3]);
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    expect(i.dtype).toBe('int32');
    tf.dispose([c, f, i]);
    expect(tf.engine().backend.numDataIds()).toBe(before);
  });

  maybe('Gram matrices X·Xᵀ and Xᵀ·X', () => {
    expect(relErr(gramCase(0), reference.gram)).toBeLessThan(REL_TOL);
  });

  maybe.each(COMPARE_CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    'comparisons with broadcasting %s',
    (_n, i) => {
      expect(compareCase(i)).toEqual(reference.cmp[i]);
    },
  );

  maybe.each(POOL_CASES.map((c, i) => [JSON.stringify(c), i] as const))('max-pool gradient %s', (_n, i) => {
    expect(relErr(poolGrad(i), reference.pool[i])).toBeLessThan(REL_TOL);
  });

  maybe.each(AVG_POOL_CASES.map((c, i) => [JSON.stringify(c), i] as const))('average-pool gradient %s', (_n, i) => {
    expect(relErr(poolGrad(i, 'avg'), reference.avgPool[i])).toBeLessThan(REL_TOL);
  });

  maybe('ReLU gradient, bit for bit, with NaN, ±∞ and signed zeros', () => {
    expect(reluGradCase(990)).toEqual(reference.relu);
  });

  maybe('Relu and Add, bit for bit, with NaN, ±∞ and signed zeros, split over threads or not', () => {
    expect(elementwiseCase(991)).toEqual(reference.elementwise);
  });

  maybe("batch norm's running statistics, bit for bit", () => {
    expect(runningCase(992)).toEqual(reference.running);
  });

  maybe('gather gradient (UnsortedSegmentSum)', () => {
    expect(relErr(segmentSumCase(900), reference.seg)).toBeLessThan(REL_TOL);
  });

  maybeConv('leaks no tensors and no wasm buffers', () => {
    const c = CONV_CASES.find((k) => k.stride === 2 && k.kh === 3 && !k.depthwise)!;
    const d = CONV_CASES.find((k) => k.depthwise)!;
    convGrads(c, 1);
    convGrads(d, 1);
    convForward(c, 4);
    bnCase(1);
    const before = tf.memory().numTensors;
    const beforeData = tf.engine().backend.numDataIds();
    convGrads(c, 2);
    convGrads(d, 2);
    tileCase([1, 1, 1, 5], [3, 4, 2, 1], 3);
    segmentSumCase(4);
    matMulCase(0);
    matMulCase(2);
    compareCase(3);
    poolGrad(0);
    poolGrad(1, 'avg');
    convForward(c, 5);
    bnCase(0);
    sliceCase(3);
    gramCase(1);
    bnInferCase(0);
    elementwiseCase(5);
    runningCase(6);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(beforeData);
  });
});
