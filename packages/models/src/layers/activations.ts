/**
 * Activations and the squeeze-excitation product with PyTorch's definitions (MobileNetV3,
 * EfficientNet): hard-sigmoid = relu6(x + 3)/6 (tfjs's 'hardSigmoid' is Keras's 0.2x + 0.5, a
 * different function), hard-swish = x · hard-sigmoid(x), and a channel scale x · s with s [B,1,1,C].
 */
import * as tf from '@tensorflow/tfjs';

export class HardSigmoid extends tf.layers.Layer {
  static className = 'HardSigmoid';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
  }
}
tf.serialization.registerClass(HardSigmoid);

export class HardSwish extends tf.layers.Layer {
  static className = 'HardSwish';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
  }
}
tf.serialization.registerClass(HardSwish);

/** [x [B,H,W,C], s [B,1,1,C]] → x · s (squeeze-excitation). */
export class ChannelScale extends tf.layers.Layer {
  static className = 'ChannelScale';
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
    return (s as tf.Shape[])[0];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [x, s] = inputs as tf.Tensor[];
    return tf.mul(x, s);
  }
}
tf.serialization.registerClass(ChannelScale);
