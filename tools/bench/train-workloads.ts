/**
 * W1 and W2 of WORKLOADS.md: training and inference throughput of the PNN LeNet (3×3, nf 32, 28×28×1)
 * and the CIFAR ResNet-18 (base width 16, 32×32×3), batch 64, SGD Nesterov (momentum 0.9, wd 1e-4),
 * built from the project's model registry exactly as the reproductions use them.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel, foldBatchNorm } from '@repro/models';
import type { FoldedInference } from '@repro/models';
import { Optimizer, trainableVariables } from '@repro/experiments';
import { nativeStatus, setWasmNativeKernels, wasmNativeKernelsActive } from '@repro/runtime';
import { Measurement, timed } from './workloads';

export type TrainWorkloadId = 'W1' | 'W2';

const WORKLOADS: Record<
  TrainWorkloadId,
  { name: string; shape: [number, number, number]; build: () => tf.LayersModel }
> = {
  W1: {
    name: 'W1 lenet3x3-nf32 28x28x1 b64',
    shape: [28, 28, 1],
    build: () =>
      createModel('lenet', {
        inputShape: [28, 28, 1],
        numClasses: 10,
        nfilters: 32,
        firstFilterSize: 3,
        filterSize: 3,
        seed: 0,
      }),
  },
  W2: {
    name: 'W2 resnet18-nf16 32x32x3 b64',
    shape: [32, 32, 3],
    build: () => createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10, nfilters: 16, seed: 0 }),
  },
};

/** A workload's model, a fixed batch of 64, one training step and one inference pass; `dispose` frees all. */
export interface TrainWorkload {
  name: string;
  trainStep: () => void;
  /** one batch of an evaluation pass (weights folded at the first call after endInference) */
  inferStep: () => void;
  /** ends an evaluation pass: frees the folded weights (the next inferStep folds the current ones) */
  endInference: () => void;
  dispose: () => void;
}

export function trainWorkload(id: TrainWorkloadId): TrainWorkload {
  const w = WORKLOADS[id];
  const batch = 64;
  const model = w.build();
  const x = tf.randomNormal([batch, ...w.shape], 0, 1, 'float32', 3);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const opt = new Optimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const vars = trainableVariables(model);
  let folded: FoldedInference | undefined;
  return {
    name: w.name,
    trainStep: () => {
      opt.step(vars, () =>
        tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(y, model.apply(x, { training: true }) as tf.Tensor),
      );
    },
    // the peer's model(x) in eval mode: one forward pass of the whole batch, as evaluateClassifier
    // runs it (batch norms folded into the convolutions once per evaluation pass: here, per timing)
    inferStep: () => {
      folded ??= foldBatchNorm(model);
      tf.tidy(() => {
        (folded!.predict(x) as tf.Tensor).dataSync();
      });
    },
    endInference: () => {
      folded?.dispose();
      folded = undefined;
    },
    dispose: () => {
      folded?.dispose();
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    },
  };
}

function throughput(id: TrainWorkloadId, steps: number, prefix = 'repro', backend?: string): Measurement[] {
  const w = trainWorkload(id);
  try {
    const batch = 64;
    const train = timed(w.trainStep, 2, steps);
    const infer = timed(w.inferStep, 2, steps);
    w.endInference();
    const unit = 'images/s';
    return [
      { workload: w.name, impl: `${prefix}-train`, seconds: train, perSecond: batch / train, unit, backend },
      { workload: w.name, impl: `${prefix}-infer`, seconds: infer, perSecond: batch / infer, unit, backend },
    ];
  } finally {
    w.dispose();
  }
}

/**
 * The same workload with the native kernels switched off for its duration (the pure WebAssembly
 * kernels of machines without OpenBLAS and oneDNN), as `repro-wasm-train` / `repro-wasm-infer`;
 * nothing when the native kernels are not active (then the main rows are these figures).
 */
function pureWasm(id: TrainWorkloadId, steps: number): Measurement[] {
  const native = nativeStatus();
  if (!native.available || !wasmNativeKernelsActive()) return [];
  setWasmNativeKernels(undefined);
  try {
    return throughput(id, steps, 'repro-wasm', 'wasm (wasm simd, 1 thread; native kernels off: pure WebAssembly)');
  } finally {
    setWasmNativeKernels(native.addon);
  }
}

/** W1 on the run's kernels, then (native kernels active, `withPureWasm`) on the pure wasm ones. */
/**
 * Timed steps per round (after 2 warm-up steps), the same in peer_torch.py: a round of W1 lasts about
 * a second, so that a slow spell of this shared machine is averaged over rather than taken whole.
 */
export const W1_STEPS = 20;
export const W2_STEPS = 10;

export function w1(steps = W1_STEPS, withPureWasm = false): Measurement[] {
  return [...throughput('W1', steps), ...(withPureWasm ? pureWasm('W1', steps) : [])];
}

export function w2(steps = W2_STEPS, withPureWasm = false): Measurement[] {
  return [...throughput('W2', steps), ...(withPureWasm ? pureWasm('W2', Math.min(steps, 3)) : [])];
}
