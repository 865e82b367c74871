/**
 * Inference with every batch norm that directly follows a convolution folded into it: a snapshot of
 * a functional model's weights in which conv → TorchBatchNorm (→ ReLU) becomes one convolution with a
 * bias (and ReLU) per channel, W' = W·s and b' = β − μ·s + b·s with s = γ/√(σ² + eps), the running
 * statistics' batch norm. The batch norm pass and the ReLU pass disappear; on the WebAssembly backend
 * with oneDNN the ReLU runs inside the convolution (post-op). Results equal `model.predict` up to
 * float32 rounding (another summation order).
 *
 * The folded weights are computed once, from the weights at the time of the call: fold, run a whole
 * evaluation pass, dispose. A model whose layers are applied more than once (shared layers) is not
 * folded: `predict` is then the model's own.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-layers' graph the folding reads (public fields of Layer and Node). */
interface GraphNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}
type GraphLayer = tf.layers.Layer & { inboundNodes: GraphNode[] };

export interface FoldedInference {
  /** The model's outputs in inference mode (one tensor for a single-output model). */
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  /** How many batch norms were folded into their convolution (0: the model's own predict). */
  folded: number;
  /** Frees the folded weights. */
  dispose(): void;
}

interface FusedStep {
  kind: 'fused';
  input: number;
  output: number;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  strides: [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  relu: boolean;
}
interface LayerStep {
  kind: 'layer';
  layer: tf.layers.Layer;
  inputs: number[];
  outputs: number[];
}

function convGeometry(layer: tf.layers.Layer): Pick<FusedStep, 'strides' | 'pad'> | undefined {
  const c = layer.getConfig() as Record<string, unknown>;
  const pair = (v: unknown): [number, number] =>
    Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
  if (layer.getClassName() === 'TorchConv2D') {
    const p = Number(c.padding);
    return {
      strides: pair(c.strides),
      pad: [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ],
    };
  }
  if (layer.getClassName() !== 'Conv2D') return undefined;
  const dil = pair(c.dilationRate ?? 1);
  const linear = c.activation === undefined || c.activation === null || c.activation === 'linear';
  const channelsLast = c.dataFormat === undefined || c.dataFormat === 'channelsLast';
  if (!linear || !channelsLast || dil[0] !== 1 || dil[1] !== 1) return undefined;
  if (c.padding !== 'same' && c.padding !== 'valid') return undefined;
  return { strides: pair(c.strides), pad: c.padding };
}

function isPlainRelu(layer: tf.layers.Layer): boolean {
  const c = layer.getConfig() as Record<string, unknown>;
  if (layer.getClassName() === 'ReLU') return c.maxValue === undefined || c.maxValue === null;
  return layer.getClassName() === 'Activation' && c.activation === 'relu';
}

/** Folds the model's conv → batch norm (→ ReLU) chains; see the module comment. */
export function foldBatchNorm(model: tf.LayersModel): FoldedInference {
  const layers = model.layers as GraphLayer[];
  const own = (): FoldedInference => ({ predict: (x) => model.predict(x), folded: 0, dispose: () => {} });
  if (model.inputs.length !== 1 || layers.some((l) => l.inboundNodes.length !== 1)) return own();
  const consumers = new Map<number, GraphLayer[]>();
  for (const l of layers)
    for (const t of l.inboundNodes[0].inputTensors) consumers.set(t.id, [...(consumers.get(t.id) ?? []), l]);
  for (const t of model.outputs) consumers.set(t.id, [...(consumers.get(t.id) ?? []), model]);
  const only = (t: tf.SymbolicTensor): GraphLayer | undefined => {
    const c = consumers.get(t.id) ?? [];
    return c.length === 1 && c[0] !== (model as unknown as GraphLayer) ? c[0] : undefined;
  };

  const steps: Array<FusedStep | LayerStep> = [];
  const absorbed = new Set<tf.layers.Layer>();
  const owned: tf.Tensor[] = [];
  for (const layer of layers) {
    if (absorbed.has(layer) || layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes[0];
    const geometry = convGeometry(layer);
    const bn = geometry && node.outputTensors.length === 1 ? only(node.outputTensors[0]) : undefined;
    if (geometry && bn && bn.getClassName() === 'TorchBatchNorm' && bn.inboundNodes[0].outputTensors.length === 1) {
      const bnOut = bn.inboundNodes[0].outputTensors[0];
      const relu = only(bnOut);
      const fuseRelu = relu !== undefined && isPlainRelu(relu);
      const [kernel, convBias] = layer.getWeights();
      const [gamma, beta, mean, variance] = bn.getWeights();
      const eps = (bn as unknown as { eps: number }).eps;
      const [filter, bias] = tf.tidy(() => {
        const s = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
        const shift = tf.sub(beta, tf.mul(mean, s));
        return [
          tf.mul<tf.Tensor4D>(kernel, s),
          convBias ? tf.add<tf.Tensor1D>(shift, tf.mul(convBias, s)) : (shift as tf.Tensor1D),
        ];
      });
      owned.push(filter, bias);
      absorbed.add(bn);
      if (fuseRelu) absorbed.add(relu);
      steps.push({
        kind: 'fused',
        input: node.inputTensors[0].id,
        output: (fuseRelu ? relu.inboundNodes[0].outputTensors[0] : bnOut).id,
        filter,
        bias,
        relu: fuseRelu,
        ...geometry,
      });
      continue;
    }
    steps.push({
      kind: 'layer',
      layer,
      inputs: node.inputTensors.map((t) => t.id),
      outputs: node.outputTensors.map((t) => t.id),
    });
  }
  const folded = steps.filter((s) => s.kind === 'fused').length;
  if (folded === 0) {
    tf.dispose(owned);
    return own();
  }
  const inputId = model.inputs[0].id;
  return {
    folded,
    predict: (x) =>
      tf.tidy(() => {
        const values = new Map<number, tf.Tensor>([[inputId, x]]);
        const get = (id: number) => values.get(id)!;
        for (const s of steps) {
          if (s.kind === 'fused') {
            values.set(
              s.output,
              tf.fused.conv2d({
                x: get(s.input) as tf.Tensor4D,
                filter: s.filter,
                strides: s.strides,
                pad: s.pad,
                bias: s.bias,
                activation: s.relu ? 'relu' : 'linear',
              }),
            );
          } else {
            const ins = s.inputs.map(get);
            const out = s.layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor | tf.Tensor[];
            (Array.isArray(out) ? out : [out]).forEach((t, i) => values.set(s.outputs[i], t));
          }
        }
        const outs = model.outputs.map((t) => get(t.id));
        return outs.length === 1 ? outs[0] : outs;
      }),
    dispose: () => tf.dispose(owned),
  };
}
