/** Optimizers and schedules against PyTorch's update rules, written out by hand. */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeStatus, Rng, setWasmNativeKernels, SGD_MOMENTUM } from '@repro/runtime';
import { cosine, multiStep, Optimizer } from '../src';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Loss ½·Σ(a ⊙ θ²) has gradient a ⊙ θ. */
const A = [1, 2, -0.5];
const lossOf = (v: tf.Variable) => () => tf.mul<tf.Scalar>(0.5, tf.sum(tf.mul(tf.tensor1d(A), tf.square(v))));

it('SGD with Nesterov momentum and weight decay follows torch.optim.SGD', () => {
  const lr = 0.1,
    m = 0.9,
    wd = 0.01;
  const v = tf.variable(tf.tensor1d([1, -1, 2]));
  const opt = new Optimizer({ kind: 'sgd', lr, momentum: m, nesterov: true, weightDecay: wd });
  let theta = [1, -1, 2];
  let buf = [0, 0, 0];
  for (let step = 0; step < 5; step++) {
    opt.step([v], lossOf(v));
    // torch: g = ∇ + wd·θ; buf = m·buf + g (buf = g at step 0, same since buf starts at 0); g' = g + m·buf; θ -= lr·g'
    const g = theta.map((t, i) => A[i] * t + wd * t);
    buf = buf.map((b, i) => m * b + g[i]);
    theta = theta.map((t, i) => t - lr * (g[i] + m * buf[i]));
  }
  Array.from(v.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(theta[i], 5));
  v.dispose();
  opt.dispose();
});

it('Adam with L2 weight decay follows torch.optim.Adam (eps 1e-8)', () => {
  const lr = 0.01,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    wd = 1e-2;
  const v = tf.variable(tf.tensor1d([1, -1, 2]));
  const opt = new Optimizer({ kind: 'adam', lr, weightDecay: wd });
  let theta = [1, -1, 2];
  let mm = [0, 0, 0];
  let vv = [0, 0, 0];
  for (let t = 1; t <= 5; t++) {
    opt.step([v], lossOf(v));
    const g = theta.map((x, i) => A[i] * x + wd * x);
    mm = mm.map((x, i) => b1 * x + (1 - b1) * g[i]);
    vv = vv.map((x, i) => b2 * x + (1 - b2) * g[i] ** 2);
    theta = theta.map((x, i) => x - (lr * (mm[i] / (1 - b1 ** t))) / (Math.sqrt(vv[i] / (1 - b2 ** t)) + eps));
  }
  Array.from(v.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(theta[i], 5));
  v.dispose();
  opt.dispose();
});

it('learning rates can be changed between steps; a step leaks nothing', () => {
  const v = tf.variable(tf.tensor1d([1, 1, 1]));
  const opt = new Optimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  opt.step([v], lossOf(v));
  opt.setLearningRate(0.05);
  expect(opt.learningRate).toBe(0.05);
  const before = tf.memory().numTensors;
  opt.step([v], lossOf(v));
  expect(tf.memory().numTensors).toBe(before);
  v.dispose();
  opt.dispose();
  expect(() => new Optimizer({ kind: 'rmsprop' } as never)).toThrow(/lr must be > 0|unknown kind/);
});

it('schedules: PNN multi-step (epoch+1) and cosine with warm-up and floor', () => {
  const pnn = multiStep(1e-3, [60, 90, 120, 160], 0.2, 1);
  expect(pnn(0)).toBeCloseTo(1e-3, 12);
  expect(pnn(58)).toBeCloseTo(1e-3, 12);
  expect(pnn(59)).toBeCloseTo(2e-4, 12); // epoch+1 = 60
  expect(pnn(149)).toBeCloseTo(1e-3 * 0.2 ** 3, 12);
  const c = cosine(0.1, 10, { warmup: 2, floor: 0.001 });
  expect(c(0)).toBeCloseTo(0.05, 12);
  expect(c(2)).toBeCloseTo(0.1, 12);
  expect(c(10)).toBeCloseTo(0.001, 12);
});

it('dispose frees every tensor an optimizer made, momentum included (tfjs leaks the momentum lr scalar)', () => {
  for (const config of [
    { kind: 'sgd', lr: 0.1 },
    { kind: 'sgd', lr: 0.1, momentum: 0.9 },
    { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
    { kind: 'adam', lr: 0.01 },
  ] as const) {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2]);
    const v = tf.variable(init);
    init.dispose();
    const opt = new Optimizer(config);
    opt.step([v], () => tf.sum(tf.square(v)));
    opt.setLearningRate(0.05);
    opt.step([v], () => tf.sum(tf.square(v)));
    opt.dispose();
    v.dispose();
    expect([config, tf.memory().numTensors - before]).toEqual([config, 0]);
  }
});

describe('SGD momentum as one native kernel per variable', () => {
  const native = nativeStatus();
  const maybe = native.available ? it : it.skip;

  /** Five steps on three variables (one without a gradient), returning values and optimizer state. */
  async function run(fused: boolean, nesterov: boolean, wd: number): Promise<number[][]> {
    setWasmNativeKernels(fused && native.available ? native.addon : undefined);
    const tensorsBefore = tf.memory().numTensors;
    const rng = new Rng(5);
    const make = (n: number) => tf.tidy(() => tf.variable(tf.tensor1d(Array.from({ length: n }, () => rng.normal()))));
    const vars = [make(7), make(1), make(300)];
    const targets = vars.map((v) => tf.tensor1d(Array.from({ length: v.size }, () => rng.normal())));
    const opt = new Optimizer({ kind: 'sgd', lr: 0.037, momentum: 0.9, nesterov, weightDecay: wd });
    const loss = () =>
      tf.tidy(() => tf.addN([0, 2].map((i) => tf.sum(tf.mul(0.5, tf.square(tf.sub(vars[i], targets[i])))))).asScalar());
    for (let s = 0; s < 5; s++) {
      const prof = await tf.profile(() => {
        opt.step(vars, loss);
      });
      // the fused path is the one that ran: one kernel per variable with a gradient
      const names = prof.kernels.map((k) => k.name);
      expect(names.filter((n) => n === SGD_MOMENTUM).length).toBe(fused ? 2 : 0);
      if (s === 2) opt.setLearningRate(0.011);
    }
    const state = await opt.getWeights();
    const out = [...vars.map((v) => Array.from(v.dataSync())), ...state.map((w) => Array.from(w.tensor.dataSync()))];
    const names = state.map((w) => w.name);
    tf.dispose(state.map((w) => w.tensor));
    opt.dispose();
    tf.dispose([...vars, ...targets]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    return [...out, names.map((n) => n.length)];
  }

  afterAll(() => setWasmNativeKernels(native.available ? native.addon : undefined));

  maybe.each([
    [true, 1e-4],
    [false, 0],
    [true, 0],
  ])('nesterov %s, weight decay %s: bit for bit tfjs MomentumOptimizer', async (nesterov, wd) => {
    const fused = await run(true, nesterov, wd);
    const plain = await run(false, nesterov, wd);
    expect(fused).toEqual(plain);
    expect(fused[1]).not.toEqual(plain[1].map(() => 0)); // the gradient-free variable kept its value
  });
});
