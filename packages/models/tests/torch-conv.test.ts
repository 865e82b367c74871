/**
 * TorchConv2D (one convolution with explicit symmetric padding) against what it replaces: ZeroPadding2D
 * followed by a 'valid' Conv2D with the same weights, forward and gradients, on every backend kernel
 * path the project trains on (wasm with the native kernels where present, and the pure wasm ones).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeStatus, setWasmNativeKernels } from '@repro/runtime';
import { TorchConv2D } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(() => {
  const native = nativeStatus();
  setWasmNativeKernels(native.available ? native.addon : undefined);
});

function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
}

const CASES: Array<{ h: number; cin: number; cout: number; k: number; stride: number; pad: number; bias: boolean }> = [
  { h: 32, cin: 16, cout: 32, k: 3, stride: 2, pad: 1, bias: false }, // ResNet's downsampling 3×3
  { h: 9, cin: 3, cout: 5, k: 3, stride: 2, pad: 1, bias: true }, // odd size
  { h: 8, cin: 4, cout: 6, k: 5, stride: 3, pad: 2, bias: true },
  { h: 7, cin: 2, cout: 3, k: 3, stride: 1, pad: 2, bias: false }, // more padding than 'same'
];

describe.each([
  ['native kernels', true],
  ['pure wasm kernels', false],
] as const)('%s', (_mode, useNative) => {
  const native = nativeStatus();
  const run = useNative && !native.available ? it.skip : it;
  beforeAll(() => setWasmNativeKernels(useNative && native.available ? native.addon : undefined));

  run.each(CASES.map((c) => [JSON.stringify(c), c] as const))(
    'equals ZeroPadding2D + valid Conv2D, forward and gradients: %s',
    (_name, c) => {
      const before = tf.memory().numTensors;
      const init = tf.initializers.randomNormal({ mean: 0, stddev: 0.3, seed: 7 });
      const ours = new TorchConv2D({
        filters: c.cout,
        kernelSize: c.k,
        strides: c.stride,
        padding: c.pad,
        useBias: c.bias,
        kernelInitializer: init,
        biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 8 }),
      });
      const pad = tf.layers.zeroPadding2d({ padding: c.pad });
      const ref = tf.layers.conv2d({
        filters: c.cout,
        kernelSize: c.k,
        strides: c.stride,
        padding: 'valid',
        useBias: c.bias,
      });
      const x = tf.randomNormal([3, c.h, c.h, c.cin], 0, 1, 'float32', 9);
      tf.tidy(() => {
        ours.apply(x); // builds the weights
        ref.apply(pad.apply(x));
      });
      ref.setWeights(ours.getWeights());
      expect(ours.computeOutputShape(x.shape)).toEqual(ref.computeOutputShape(pad.computeOutputShape(x.shape)));
      const dy = tf.randomNormal(ours.computeOutputShape(x.shape) as number[], 0, 1, 'float32', 10);
      const grads = (f: (t: tf.Tensor) => tf.Tensor, vars: tf.LayerVariable[]) =>
        tf.tidy(() => {
          const { value, grads: g } = tf.variableGrads(
            () => tf.sum<tf.Scalar>(tf.mul(f(x), dy)),
            vars.map((v) => (v as unknown as { val: tf.Variable }).val),
          );
          const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
          return [value, dx, ...Object.values(g)];
        });
      const got = grads((t) => ours.apply(t) as tf.Tensor, ours.trainableWeights);
      const want = grads((t) => ref.apply(pad.apply(t)) as tf.Tensor, ref.trainableWeights);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(maxRelErr(g, want[i])).toBeLessThan(1e-5));
      tf.dispose([...got, ...want, x, dy]);
      ours.dispose();
      ref.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

it('rejects a negative or fractional padding', () => {
  const kernelInitializer = tf.initializers.zeros();
  expect(() => new TorchConv2D({ filters: 1, kernelSize: 3, padding: -1, kernelInitializer })).toThrow(
    /padding must be a non-negative integer, got -1/,
  );
  expect(() => new TorchConv2D({ filters: 1, kernelSize: 3, padding: 0.5, kernelInitializer })).toThrow(
    /padding must be a non-negative integer/,
  );
});

it('computes only the gradients asked for (no filter gradient for the input alone, no input gradient for the weights alone)', async () => {
  const layer = new TorchConv2D({
    filters: 4,
    kernelSize: 3,
    padding: 1,
    kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.3, seed: 7 }),
  });
  const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 9);
  tf.tidy(() => {
    layer.apply(x); // builds the kernel
  });
  const kernelsOf = async (f: () => tf.Tensor) => {
    const prof = await tf.profile(() => {
      f().dispose();
    });
    return prof.kernels.map((k) => k.name);
  };
  const toInput = await kernelsOf(() => tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(x));
  expect(toInput).toContain('Conv2DBackpropInput');
  expect(toInput).not.toContain('Conv2DBackpropFilter');
  const toWeights = await kernelsOf(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor));
    tf.dispose(Object.values(grads));
    return value;
  });
  expect(toWeights).toContain('Conv2DBackpropFilter');
  expect(toWeights).not.toContain('Conv2DBackpropInput');
  x.dispose();
  layer.dispose();
});
