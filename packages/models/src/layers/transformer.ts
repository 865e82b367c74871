/**
 * Transformer layers from tfjs ops (tfjs-layers has no attention layer), as timm's / MAE's ViT
 * defines them: a pre-norm block x + Attn(LN(x)), then + MLP(LN(x)) with exact (erf) GELU, LayerNorm
 * eps 1e-6, multi-head attention with a fused qkv projection and scale 1/√(head dim); Linear weights
 * Xavier-uniform and biases 0 (MAE's _init_weights). Tokens are [batch, tokens, dim].
 *
 * Key masks: a block may attend only over some tokens. `keys: 'unmasked'` reads a second input
 * m [batch, tokens] (1 = masked) and lets every token attend to the unmasked tokens only;
 * `keys: 'masked'` to the masked ones. For the tokens that can see each other this equals running the
 * block on the gathered subset (MAE's encoder on the visible tokens); the outputs at the other
 * positions are not used by the callers. Every query row needs at least one visible key.
 */
import * as tf from '@tensorflow/tfjs';

type LayerVariable = tf.LayerVariable;

export interface TransformerBlockArgs {
  name?: string;
  dim: number;
  heads: number;
  /** Hidden width of the MLP = mlpRatio · dim (ViT: 4). */
  mlpRatio?: number;
  /** 'all' (default): full self-attention; otherwise the second input is the mask and selects the keys. */
  keys?: 'all' | 'unmasked' | 'masked';
  seed?: number;
}

const LN_EPS = 1e-6;

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LN_EPS))), g), b);
}

/** x [..., d] · w [d, e] + b, as one 2-D product. */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const d = shape[shape.length - 1];
  const y = tf.add(tf.matMul(tf.reshape<tf.Rank.R2>(x, [-1, d]), w as tf.Tensor2D), b);
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]!]);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (torch.nn.GELU's default). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

export class TransformerBlock extends tf.layers.Layer {
  static className = 'TransformerBlock';
  readonly dim: number;
  readonly heads: number;
  readonly mlpRatio: number;
  readonly keys: 'all' | 'unmasked' | 'masked';
  readonly seed: number;
  private w: Record<string, LayerVariable> = {};

  constructor(args: TransformerBlockArgs) {
    super(args);
    this.dim = args.dim;
    this.heads = args.heads;
    this.mlpRatio = args.mlpRatio ?? 4;
    this.keys = args.keys ?? 'all';
    this.seed = args.seed ?? 0;
    if (!Number.isInteger(this.dim) || this.dim < 1 || this.dim % this.heads !== 0)
      throw new Error(`TransformerBlock: dim ${this.dim} must be a positive multiple of heads ${this.heads}`);
    if (!['all', 'unmasked', 'masked'].includes(this.keys))
      throw new Error(`TransformerBlock: keys must be all, unmasked or masked, got '${String(this.keys)}'`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape[shape.length - 1] !== this.dim)
      throw new Error(`TransformerBlock: input dim ${shape[shape.length - 1]} differs from dim ${this.dim}`);
    const d = this.dim;
    const hidden = Math.round(this.mlpRatio * d);
    let k = 0;
    const xavier = () => tf.initializers.glorotUniform({ seed: (this.seed * 7919 + ++k) >>> 0 });
    const add = (name: string, s: number[], init: ReturnType<typeof tf.initializers.zeros>) =>
      (this.w[name] = this.addWeight(name, s, 'float32', init));
    add('norm1_gamma', [d], tf.initializers.ones());
    add('norm1_beta', [d], tf.initializers.zeros());
    add('qkv_kernel', [d, 3 * d], xavier());
    add('qkv_bias', [3 * d], tf.initializers.zeros());
    add('proj_kernel', [d, d], xavier());
    add('proj_bias', [d], tf.initializers.zeros());
    add('norm2_gamma', [d], tf.initializers.ones());
    add('norm2_beta', [d], tf.initializers.zeros());
    add('fc1_kernel', [d, hidden], xavier());
    add('fc1_bias', [hidden], tf.initializers.zeros());
    add('fc2_kernel', [hidden, d], xavier());
    add('fc2_bias', [d], tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0];
      if (this.keys !== 'all' && list.length < 2)
        throw new Error(`TransformerBlock (keys '${this.keys}'): the mask input is missing`);
      const v = (n: string) => this.w[n].read();
      const [b, n, d] = x.shape;
      const h = this.heads;
      const dh = d / h;
      const y = layerNorm(x, v('norm1_gamma'), v('norm1_beta'));
      // q, k, v as slices of one 2-D product, each to [b, heads, n, dh] (4-D transposes: the wasm
      // backend's 5-D transpose and unstack are ~100x slower)
      const qkv = tf.add(
        tf.matMul(tf.reshape<tf.Rank.R2>(y, [b * n, d]), v('qkv_kernel') as tf.Tensor2D),
        v('qkv_bias'),
      );
      const part = (i: number) =>
        tf.transpose(tf.reshape(tf.slice(qkv, [0, i * d], [b * n, d]), [b, n, h, dh]), [0, 2, 1, 3]);
      const [q, k, val] = [part(0), part(1), part(2)];
      let logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
      if (this.keys !== 'all') {
        const m = list[1];
        const visible = this.keys === 'unmasked' ? tf.sub(1, m) : m;
        // −1e9 where a key is hidden: exp underflows to exactly 0 in the softmax
        logits = tf.add(logits, tf.reshape(tf.mul(tf.sub(visible, 1), 1e9), [b, 1, 1, n]));
      }
      const att = tf.matMul(tf.softmax(logits), val);
      const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [b, n, d]);
      const x1 = tf.add(x, linear(merged, v('proj_kernel'), v('proj_bias')));
      const z = layerNorm(x1, v('norm2_gamma'), v('norm2_beta'));
      const mlp = linear(gelu(linear(z, v('fc1_kernel'), v('fc1_bias'))), v('fc2_kernel'), v('fc2_bias'));
      return tf.add(x1, mlp);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      dim: this.dim,
      heads: this.heads,
      mlpRatio: this.mlpRatio,
      keys: this.keys,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(TransformerBlock);

/**
 * LayerNorm over the last axis (eps 1e-6, γ = 1, β = 0 at init). tfjs-layers' layerNormalization
 * broadcasts γ and β with tf.tile, whose gradient slices and adds every repetition: 6272 kernel calls
 * for one [128, 49, 64] input, 1.5 s of a 2 s generator step here.
 */
export class LayerNorm extends tf.layers.Layer {
  static className = 'LayerNorm';
  private gamma!: LayerVariable;
  private beta!: LayerVariable;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const d = shape[shape.length - 1]!;
    this.gamma = this.addWeight('gamma', [d], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => layerNorm(x, this.gamma.read(), this.beta.read()));
  }
}
tf.serialization.registerClass(LayerNorm);

/**
 * MAE's fixed 2-D sine-cosine position embedding (get_2d_sincos_pos_embed): half the channels encode
 * the row, half the column, each as [sin, cos] of position · 1/10000^(2i/(d/2)). @returns [h·w, dim].
 */
export function sincosPositionEmbedding(h: number, w: number, dim: number): Float32Array {
  if (dim % 4 !== 0) throw new Error(`sincosPositionEmbedding: dim must be a multiple of 4, got ${dim}`);
  const out = new Float32Array(h * w * dim);
  const quarter = dim / 4;
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const row = out.subarray((i * w + j) * dim, (i * w + j + 1) * dim);
      // MAE: emb_h from grid[0] (the column index w), emb_w from grid[1] (the row index h)
      [j, i].forEach((pos, half) => {
        for (let k = 0; k < quarter; k++) {
          const omega = 1 / 10000 ** (k / quarter);
          row[half * 2 * quarter + k] = Math.sin(pos * omega);
          row[half * 2 * quarter + quarter + k] = Math.cos(pos * omega);
        }
      });
    }
  return out;
}

export interface PositionEmbeddingArgs {
  name?: string;
  grid: [number, number];
}

/** Adds the fixed sine-cosine embedding of an h×w grid to tokens [batch, h·w, dim] (no weights). */
export class AddPositionEmbedding extends tf.layers.Layer {
  static className = 'AddPositionEmbedding';
  readonly grid: [number, number];
  private table: Float32Array | undefined;

  constructor(args: PositionEmbeddingArgs) {
    super(args);
    this.grid = args.grid;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [, n, d] = x.shape;
    if (n !== this.grid[0] * this.grid[1])
      throw new Error(
        `AddPositionEmbedding: ${n} tokens, but the grid ${this.grid.join('x')} has ${this.grid[0] * this.grid[1]}`,
      );
    this.table ??= sincosPositionEmbedding(this.grid[0], this.grid[1], d);
    return tf.tidy(() => tf.add(x, tf.tensor2d(this.table!, [n, d])));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), grid: this.grid };
  }
}
tf.serialization.registerClass(AddPositionEmbedding);

/** [a, b, m] → m·a + (1 − m)·b per token (a, b [batch, tokens, dim]; m [batch, tokens], 1 = take a). */
export class MaskMerge extends tf.layers.Layer {
  static className = 'MaskMerge';
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    return (s as tf.Shape[])[0];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b, m] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      const mm = tf.expandDims(m, -1);
      return tf.add(tf.mul(a, mm), tf.mul(b, tf.sub(1, mm)));
    });
  }
}
tf.serialization.registerClass(MaskMerge);
