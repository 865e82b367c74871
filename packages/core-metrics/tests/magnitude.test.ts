/**
 * Magnitude: every statistic at inputs scaled by 1e-30 … 1e30 against its value at scale 1 (scale-
 * invariant ones equal, the others scaled exactly or refused with an error naming the range), and
 * the outputs at ordinary magnitudes unchanged bit for bit (constants recorded before the rescaling
 * code was written).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeStatus } from '@repro/runtime';
import {
  MinibatchCka,
  bcdcor,
  dcor,
  dcor2,
  dcorTest,
  dcov2,
  dcovU,
  distanceMatrix,
  gram,
  hsic,
  hsicBiasedFromGrams,
  hsicUnbiasedFromGrams,
  infoNce,
  uCentreGram,
  linearCka,
  mine,
  pdcor,
  pdcov,
  rbfCka,
  semipartialDcor,
} from '../src';
import { randn } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

/** The bits of a float32 value, as 8 hex digits. */
function f32hex(v: number): string {
  return new Uint32Array(Float32Array.of(v).buffer)[0].toString(16).padStart(8, '0');
}

/** The bits of a JavaScript number (float64), as 16 hex digits. */
function f64hex(v: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/** FNV-1a over the bits of every entry of a float32 array, with its length: one string per tensor. */
function bitsHash(values: Float32Array): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (const w of words) {
    for (let b = 0; b < 4; b++) {
      h ^= (w >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return `${values.length}:${h.toString(16).padStart(8, '0')}`;
}

const scalarHex = (s: tf.Scalar): string => {
  const v = s.dataSync()[0];
  s.dispose();
  return f32hex(v);
};
const tensorHash = (t: tf.Tensor): string => {
  const h = bitsHash(t.dataSync() as Float32Array);
  t.dispose();
  return h;
};

/**
 * The outputs of every statistic on a few seeded inputs at ordinary magnitudes (1e-3, 1, 1e3 and
 * 200 features, where the rescaling rules come close to their windows), as bits.
 */
function ordinaryOutputs(): Record<string, string> {
  const out: Record<string, string> = {};
  // randn leaves its unshifted draw behind: inputs are made in tidy scopes
  const small = tf.tidy(() => randn(11, 24, 3));
  const smallY = tf.tidy(() => tf.add<tf.Tensor2D>(tf.tanh(small.slice([0, 0], [-1, 2])), randn(12, 24, 2).mul(0.4)));
  const smallZ = tf.tidy(() => randn(13, 24, 2));
  const wide = tf.tidy(() => randn(14, 40, 9, 3));
  const wideY = tf.tidy(() => tf.add<tf.Tensor2D>(tf.square(wide.slice([0, 0], [-1, 6])), randn(15, 40, 6)));
  const wideZ = tf.tidy(() => randn(16, 40, 5));
  const sets: Array<[string, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]> = [['p3', small, smallY, smallZ]];
  for (const s of [1e-3, 1, 1e3]) {
    sets.push([`p9x${s}`, tf.mul<tf.Tensor2D>(wide, s), tf.mul<tf.Tensor2D>(wideY, s), tf.mul<tf.Tensor2D>(wideZ, s)]);
  }
  for (const [name, x, y, z] of sets) {
    for (const [path, o] of [
      ['full', { method: 'full' }],
      ['blocked', { method: 'blocked', blockRows: 7 }],
    ] as const) {
      const k = `${name}.${path}`;
      out[`${k}.dcov2`] = scalarHex(dcov2(x, y, o));
      out[`${k}.dcor`] = scalarHex(dcor(x, y, o));
      out[`${k}.dcor2`] = scalarHex(dcor2(x, y, o));
      out[`${k}.dcor2rn`] = scalarHex(dcor2(x, y, { ...o, rowNormalize: true }));
      out[`${k}.dcovU`] = scalarHex(dcovU(x, y, o));
      out[`${k}.bcdcor`] = scalarHex(bcdcor(x, y, o));
      out[`${k}.pdcov`] = scalarHex(pdcov(x, y, z, o));
      out[`${k}.pdcor`] = scalarHex(pdcor(x, y, z, o));
      out[`${k}.spdcor`] = scalarHex(semipartialDcor(x, y, z, o));
    }
    const t = dcorTest(x, y, { permutations: 19, seed: 3 });
    out[`${name}.dcorTest`] = `${f64hex(t.statistic)} ${f64hex(t.pValue)}`;
    for (const kernel of ['linear', 'rbf'] as const)
      for (const estimator of ['biased', 'unbiased'] as const)
        out[`${name}.hsic.${kernel}.${estimator}`] = scalarHex(hsic(x, y, { kernel, estimator }));
    out[`${name}.linearCka`] = scalarHex(linearCka(x, y));
    out[`${name}.linearCkaDebiased`] = scalarHex(linearCka(x, y, { debiased: true }));
    out[`${name}.rbfCka`] = scalarHex(rbfCka(x, y));
    out[`${name}.rbfCkaDebiased`] = scalarHex(rbfCka(x, y, { debiased: true, threshold: 0.8 }));
    out[`${name}.distanceMatrix`] = tensorHash(distanceMatrix(x));
    out[`${name}.gram.linear`] = tensorHash(gram(x));
    out[`${name}.gram.rbf`] = tensorHash(gram(x, 'rbf'));
    const [kx, ly] = [gram(x), gram(y)];
    out[`${name}.hsicFromGrams`] =
      `${scalarHex(hsicBiasedFromGrams(kx, ly))} ${scalarHex(hsicUnbiasedFromGrams(kx, ly))}`;
    tf.dispose([kx, ly]);
    // the differentiable path of the training losses: gradients of dcor2 (plain and row-normalised) and pdcor
    out[`${name}.grad.dcor2`] = tensorHash(tf.grad((a: tf.Tensor) => dcor2(a as tf.Tensor2D, y))(x));
    out[`${name}.grad.dcor2rn`] = tensorHash(
      tf.grad((a: tf.Tensor) => dcor2(a as tf.Tensor2D, y, { rowNormalize: true }))(x),
    );
    out[`${name}.grad.pdcor`] = tensorHash(tf.grad((a: tf.Tensor) => pdcor(a as tf.Tensor2D, y, z))(x));
  }
  // MinibatchCka over 3 batches, 2 layers against 2, every weighting and estimator
  const wide200 = tf.tidy(() => randn(17, 96, 200));
  const wide200b = tf.tidy(() => tf.tanh(tf.matMul(wide200, randn(18, 200, 30))));
  for (const s of [1e-3, 1, 1e3]) {
    const [a, b] = tf.tidy((): [tf.Tensor2D[], tf.Tensor2D[]] => [
      [tf.mul(wide200, s), tf.mul(wide200b, s)],
      [tf.mul(wide200b, 2 * s), tf.mul(tf.square(wide200b.slice([0, 0], [-1, 7])), s)],
    ]);
    for (const weighting of ['equal', 'size'] as const)
      for (const estimator of ['debiased', 'biased'] as const) {
        const m = new MinibatchCka({ weighting, estimator });
        for (const [start, size] of [
          [0, 40],
          [40, 40],
          [80, 16],
        ]) {
          tf.tidy(() =>
            m.update(
              a.map((f) => f.slice([start, 0], [size, -1])),
              b.map((f) => f.slice([start, 0], [size, -1])),
            ),
          );
        }
        const self = m.selfHsic();
        out[`mb.x${s}.${weighting}.${estimator}`] = [...m.result().flat(), ...self.a, ...self.b].map(f64hex).join(' ');
      }
    out[`wide200.x${s}.linearCka`] = scalarHex(linearCka(a[0], a[1]));
    out[`wide200.x${s}.linearCkaDebiased`] = scalarHex(linearCka(a[0], a[1], { debiased: true }));
    out[`wide200.x${s}.hsic`] = scalarHex(hsic(a[0], a[1]));
    tf.dispose([...a, ...b]);
  }
  const tiny = { iterations: 30, hidden: 8, batchSize: 16, seed: 1 };
  const mi = mine(small, smallY, tiny);
  out['mine'] = `${f64hex(mi.estimate)} ${f64hex(mi.heldOut)} ${bitsHash(Float32Array.from(mi.history))}`;
  const nce = infoNce(small, smallY, tiny);
  out['infoNce'] = `${f64hex(nce.estimate)} ${f64hex(nce.heldOut)} ${bitsHash(Float32Array.from(nce.history))}`;
  tf.dispose([wide200, wide200b, wide, wideY, wideZ, ...sets.flatMap(([, x, y, z]) => [x, y, z])]);
  return out;
}

/** Recorded with the code before the rescaling rules (commit c813d94). */
const RECORDED: Record<string, string> = {
  'p3.full.dcov2': '3e886179',
  'p3.full.dcor': '3f5401c1',
  'p3.full.dcor2': '3f2f92e8',
  'p3.full.dcor2rn': '3f203d6b',
  'p3.full.dcovU': '3e30bd85',
  'p3.full.bcdcor': '3f138836',
  'p3.full.pdcov': '3e311899',
  'p3.full.pdcor': '3f140b2e',
  'p3.full.spdcor': '3f13df3a',
  'p3.blocked.dcov2': '3e886180',
  'p3.blocked.dcor': '3f5401ce',
  'p3.blocked.dcor2': '3f2f92fe',
  'p3.blocked.dcor2rn': '3f203d68',
  'p3.blocked.dcovU': '3e30bd90',
  'p3.blocked.bcdcor': '3f13883f',
  'p3.blocked.pdcov': '3e3118a4',
  'p3.blocked.pdcor': '3f140b37',
  'p3.blocked.spdcor': '3f13df42',
  'p3.dcorTest': '3fea803820000000 3fa999999999999a',
  'p3.hsic.linear.biased': '3f2f755e',
  'p3.hsic.linear.unbiased': '3f1065c3',
  'p3.hsic.rbf.biased': '3d3f5274',
  'p3.hsic.rbf.unbiased': '3ca486ca',
  'p3.linearCka': '3f221ffa',
  'p3.linearCkaDebiased': '3f187028',
  'p3.rbfCka': '3f22486c',
  'p3.rbfCkaDebiased': '3f0392f6',
  'p3.distanceMatrix': '576:a7a9715d',
  'p3.gram.linear': '576:0f9ef984',
  'p3.gram.rbf': '576:e5794545',
  'p3.hsicFromGrams': '3f2f755e 3f1065c3',
  'p3.grad.dcor2': '72:1b8b3cbd',
  'p3.grad.dcor2rn': '72:b8ccd057',
  'p3.grad.pdcor': '72:a12bdaf9',
  'p9x0.001.full.dcov2': '369583a3',
  'p9x0.001.full.dcor': '3f6d5ec5',
  'p9x0.001.full.dcor2': '3f5c189b',
  'p9x0.001.full.dcor2rn': '3f50baca',
  'p9x0.001.full.dcovU': '3629b6cb',
  'p9x0.001.full.bcdcor': '3f486060',
  'p9x0.001.full.pdcov': '36297ad2',
  'p9x0.001.full.pdcor': '3f48594e',
  'p9x0.001.full.spdcor': '3f4829ae',
  'p9x0.001.blocked.dcov2': '369583a7',
  'p9x0.001.blocked.dcor': '3f6d5ec3',
  'p9x0.001.blocked.dcor2': '3f5c1898',
  'p9x0.001.blocked.dcor2rn': '3f50bac0',
  'p9x0.001.blocked.dcovU': '3629b6c7',
  'p9x0.001.blocked.bcdcor': '3f48605f',
  'p9x0.001.blocked.pdcov': '36297ace',
  'p9x0.001.blocked.pdcor': '3f48594d',
  'p9x0.001.blocked.spdcor': '3f4829ad',
  'p9x0.001.dcorTest': '3fedabd8a0000000 3fa999999999999a',
  'p9x0.001.hsic.linear.biased': '2f9a481e',
  'p9x0.001.hsic.linear.unbiased': '2f7a0995',
  'p9x0.001.hsic.rbf.biased': '3ce67635',
  'p9x0.001.hsic.rbf.unbiased': '3c2ee5a4',
  'p9x0.001.linearCka': '3f520480',
  'p9x0.001.linearCkaDebiased': '3f4bfae8',
  'p9x0.001.rbfCka': '3f5857d7',
  'p9x0.001.rbfCkaDebiased': '3f42bfce',
  'p9x0.001.distanceMatrix': '1600:edc2c5e5',
  'p9x0.001.gram.linear': '1600:daf704a8',
  'p9x0.001.gram.rbf': '1600:fd5ae8d9',
  'p9x0.001.hsicFromGrams': '2f9a481e 2f7a0995',
  'p9x0.001.grad.dcor2': '360:52fa5233',
  'p9x0.001.grad.dcor2rn': '360:894ec5d8',
  'p9x0.001.grad.pdcor': '360:20897002',
  'p9x1.full.dcov2': '408e9684',
  'p9x1.full.dcor': '3f6d5ec0',
  'p9x1.full.dcor2': '3f5c1893',
  'p9x1.full.dcor2rn': '3f50bac9',
  'p9x1.full.dcovU': '4021da1e',
  'p9x1.full.bcdcor': '3f486065',
  'p9x1.full.pdcov': '4021a0ec',
  'p9x1.full.pdcor': '3f485954',
  'p9x1.full.spdcor': '3f4829b3',
  'p9x1.blocked.dcov2': '408e9681',
  'p9x1.blocked.dcor': '3f6d5ec3',
  'p9x1.blocked.dcor2': '3f5c1899',
  'p9x1.blocked.dcor2rn': '3f50bac0',
  'p9x1.blocked.dcovU': '4021da12',
  'p9x1.blocked.bcdcor': '3f486060',
  'p9x1.blocked.pdcov': '4021a0e0',
  'p9x1.blocked.pdcor': '3f48594e',
  'p9x1.blocked.spdcor': '3f4829ad',
  'p9x1.dcorTest': '3fedabd800000000 3fa999999999999a',
  'p9x1.hsic.linear.biased': '438c5176',
  'p9x1.hsic.linear.unbiased': '4363686d',
  'p9x1.hsic.rbf.biased': '3ce67636',
  'p9x1.hsic.rbf.unbiased': '3c2ee5a5',
  'p9x1.linearCka': '3f520474',
  'p9x1.linearCkaDebiased': '3f4bfaff',
  'p9x1.rbfCka': '3f5857d7',
  'p9x1.rbfCkaDebiased': '3f42bfcf',
  'p9x1.distanceMatrix': '1600:287a8961',
  'p9x1.gram.linear': '1600:87c124f8',
  'p9x1.gram.rbf': '1600:27c87f79',
  'p9x1.hsicFromGrams': '438c5176 4363686d',
  'p9x1.grad.dcor2': '360:127b2716',
  'p9x1.grad.dcor2rn': '360:e229758a',
  'p9x1.grad.pdcor': '360:89c286f1',
  'p9x1000.full.dcov2': '4a87fb7d',
  'p9x1000.full.dcor': '3f6d5ec2',
  'p9x1000.full.dcor2': '3f5c1896',
  'p9x1000.full.dcor2rn': '3f50bac9',
  'p9x1000.full.dcovU': '4a1a5a98',
  'p9x1000.full.bcdcor': '3f48605f',
  'p9x1000.full.pdcov': '4a1a240c',
  'p9x1000.full.pdcor': '3f48594e',
  'p9x1000.full.spdcor': '3f4829ad',
  'p9x1000.blocked.dcov2': '4a87fb80',
  'p9x1000.blocked.dcor': '3f6d5ec3',
  'p9x1000.blocked.dcor2': '3f5c1898',
  'p9x1000.blocked.dcor2rn': '3f50bac0',
  'p9x1000.blocked.dcovU': '4a1a5a9b',
  'p9x1000.blocked.bcdcor': '3f48605e',
  'p9x1000.blocked.pdcov': '4a1a240f',
  'p9x1000.blocked.pdcor': '3f48594c',
  'p9x1000.blocked.spdcor': '3f4829ac',
  'p9x1000.dcorTest': '3fedabd840000000 3fa999999999999a',
  'p9x1000.hsic.linear.biased': '577f3cd9',
  'p9x1000.hsic.linear.unbiased': '574ed376',
  'p9x1000.hsic.rbf.biased': '3ce67636',
  'p9x1000.hsic.rbf.unbiased': '3c2ee5a5',
  'p9x1000.linearCka': '3f520492',
  'p9x1000.linearCkaDebiased': '3f4bfaea',
  'p9x1000.rbfCka': '3f5857d7',
  'p9x1000.rbfCkaDebiased': '3f42bfcf',
  'p9x1000.distanceMatrix': '1600:44e986b5',
  'p9x1000.gram.linear': '1600:725dd478',
  'p9x1000.gram.rbf': '1600:e43bb245',
  'p9x1000.hsicFromGrams': '577f3cd9 574ed376',
  'p9x1000.grad.dcor2': '360:e58ef2c8',
  'p9x1000.grad.dcor2rn': '360:18a83a25',
  'p9x1000.grad.pdcor': '360:950991d7',
  'mb.x0.001.equal.debiased':
    '3fd156adcbebaaa0 bf68278d3251f7a3 3ff0000022997a9f bf720401213071f5 3e0307a270000000 3dd63263c8000000 3e163263c8000000 3d1978f253000000',
  'mb.x0.001.equal.biased':
    '3fe8354010b303cc 3fd3eb3affd2070a 3fefffffd51baf12 3fccf616cf772940 3e3718bfa8000000 3de7dfbe10000000 3e27dfbe10000000 3d26b48d18000000',
  'mb.x0.001.size.debiased':
    '3fd0c513669da125 bf6176db5781a050 3ff000001a975280 3f5fd8cc2112cd9b 3ea4f4f4d5200000 3e77ce1187800000 3eb7ce1187800000 3dc2376b61de0000',
  'mb.x0.001.size.biased':
    '3fe65c8f0904843b 3fd2c648f682cac7 3fefffff46b45530 3fcaeaf38e0cfea9 3ed2da90f48a0000 3e86326c83040000 3ec6326c83040000 3dcd2c944a260000',
  'wide200.x0.001.linearCka': '3f05394f',
  'wide200.x0.001.linearCkaDebiased': '3e827a9c',
  'wide200.x0.001.hsic': '2eb05d4a',
  'mb.x1.equal.debiased':
    '3fd156ad98172dd4 bf68278a059a38a0 3fefffff8ddf4cd0 bf7203ff920d0530 40814eb9e0000000 4054301aa0000000 4094301aa0000000 3f972ac403000000',
  'mb.x1.equal.biased':
    '3fe835400d438105 3fd3eb3ae51d29a1 3fefffffe86b8190 3fccf6168a4e559f 40b5019ce8000000 4065b698a0000000 40a5b698a0000000 3fa4a67c28000000',
  'mb.x1.size.debiased':
    '3fd0c5130e475c1d bf6176d7e72a80f5 3fefffff66315c01 3f5fd8cdefea4ed4 41230f668e100000 40f5a68613400000 4135a68613400000 4040915ad3c60000',
  'mb.x1.size.biased':
    '3fe65c8eac62c618 3fd2c6488a762575 3fefffffba3b1bbb 3fcaeaf34671e065 415125bd059a0000 41043021f0280000 41443021f0280000 404a88a26c8a0000',
  'wide200.x1.linearCka': '3f053941',
  'wide200.x1.linearCkaDebiased': '3e827aa1',
  'wide200.x1.hsic': '42a0671b',
  'mb.x1000.equal.debiased':
    '3fd156add9890fca bf68278ecfad556b 3ff0000037c5620a bf7203fddeb8efdf 42ff7b7060000000 42d25c5c98000000 43125c5c98000000 421512018d000000',
  'mb.x1000.equal.biased':
    '3fe8353f92936a92 3fd3eb3ac48dfdc4 3fefffff30967420 3fccf6164d4a8517 43331ae948000000 42e3bf83e8000000 4323bf83e8000000 4222c80748000000',
  'mb.x1000.size.debiased':
    '3fd0c51379a7a348 bf6176dc4e746fc5 3ff00000533c6cbf 3f5fd8d3ea8a3944 43a155c913f00000 4373b0e4c8a00000 43b3b0e4c8a00000 42be22fcfcb40000',
  'mb.x1000.size.biased':
    '3fe65c8e8e8e8944 3fd2c64888614f0b 3fefffff41d0304e 3fcaeaf31c053c67 43cf30e329640000 43825c63e55a0000 43c25c63e55a0000 42c821dcbf720000',
  'wide200.x1000.linearCka': '3f05393b',
  'wide200.x1000.linearCkaDebiased': '3e827aab',
  'wide200.x1000.hsic': '5691e29d',
  mine: '3ef7be23d5555555 3ef79b3800000000 30:614a5f96',
  infoNce: '3f969f1000000000 3f8d20e000000000 30:cf7a45c8',
};

/**
 * The outputs that differ under OpenBLAS's Haswell (AVX2) kernels, recorded on an AMD Zen 5 with
 * OPENBLAS_CORETYPE=Haswell (OpenBLAS 0.3.21, oneDNN 2.6.3); every other output is as RECORDED.
 */
const RECORDED_HASWELL: Record<string, string> = {
  'p9x0.001.full.dcor': '3f6d5ec4',
  'p9x0.001.full.dcor2': '3f5c189a',
  'p9x0.001.full.dcor2rn': '3f50bac9',
  'p9x0.001.full.dcovU': '3629b6cc',
  'p9x0.001.full.pdcov': '36297ad3',
  'p9x0.001.blocked.bcdcor': '3f486060',
  'p9x0.001.blocked.pdcor': '3f48594e',
  'p9x0.001.blocked.spdcor': '3f4829ae',
  'p9x0.001.dcorTest': '3fedabd880000000 3fa999999999999a',
  'p9x0.001.hsic.linear.biased': '2f9a481d',
  'p9x0.001.hsic.rbf.biased': '3ce67634',
  'p9x0.001.hsic.rbf.unbiased': '3c2ee5a5',
  'p9x0.001.rbfCka': '3f5857d5',
  'p9x0.001.hsicFromGrams': '2f9a481d 2f7a0995',
  'p9x0.001.grad.dcor2': '360:75f40032',
  'p9x0.001.grad.dcor2rn': '360:583731c3',
  'p9x0.001.grad.pdcor': '360:7bea41a7',
  'p9x1.full.dcov2': '408e9688',
  'p9x1.full.dcor': '3f6d5ec3',
  'p9x1.full.dcor2': '3f5c1899',
  'p9x1.full.dcovU': '4021da21',
  'p9x1.full.bcdcor': '3f486066',
  'p9x1.full.pdcov': '4021a0ef',
  'p9x1.full.pdcor': '3f485955',
  'p9x1.full.spdcor': '3f4829b4',
  'p9x1.blocked.dcor2': '3f5c1898',
  'p9x1.blocked.bcdcor': '3f48605f',
  'p9x1.blocked.pdcor': '3f48594d',
  'p9x1.blocked.spdcor': '3f4829ac',
  'p9x1.dcorTest': '3fedabd860000000 3fa999999999999a',
  'p9x1.hsic.linear.unbiased': '4363686c',
  'p9x1.hsic.rbf.biased': '3ce67635',
  'p9x1.linearCkaDebiased': '3f4bfb00',
  'p9x1.rbfCkaDebiased': '3f42bfd7',
  'p9x1.hsicFromGrams': '438c5176 4363686c',
  'p9x1.grad.dcor2': '360:ad9d6a46',
  'p9x1.grad.dcor2rn': '360:5c61ff4a',
  'p9x1.grad.pdcor': '360:0d3f7de1',
  'p9x1000.full.dcor': '3f6d5ec1',
  'p9x1000.full.dcor2': '3f5c1895',
  'p9x1000.full.dcor2rn': '3f50baca',
  'p9x1000.full.dcovU': '4a1a5a99',
  'p9x1000.full.bcdcor': '3f48605e',
  'p9x1000.full.pdcov': '4a1a240d',
  'p9x1000.full.pdcor': '3f48594d',
  'p9x1000.full.spdcor': '3f4829ab',
  'p9x1000.blocked.dcovU': '4a1a5a9c',
  'p9x1000.blocked.bcdcor': '3f48605f',
  'p9x1000.blocked.pdcov': '4a1a2410',
  'p9x1000.blocked.pdcor': '3f48594d',
  'p9x1000.blocked.spdcor': '3f4829ad',
  'p9x1000.dcorTest': '3fedabd820000000 3fa999999999999a',
  'p9x1000.hsic.linear.biased': '577f3cd8',
  'p9x1000.hsic.linear.unbiased': '574ed377',
  'p9x1000.hsic.rbf.biased': '3ce67635',
  'p9x1000.linearCkaDebiased': '3f4bfaeb',
  'p9x1000.rbfCka': '3f5857d6',
  'p9x1000.rbfCkaDebiased': '3f42bfd1',
  'p9x1000.hsicFromGrams': '577f3cd8 574ed377',
  'p9x1000.grad.dcor2': '360:de358619',
  'p9x1000.grad.dcor2rn': '360:9b9cb1b4',
  'p9x1000.grad.pdcor': '360:62d0bfe9',
  'mb.x0.001.equal.debiased':
    '3fd156adc08de171 bf68277b02709d95 3ff0000022997ab8 bf7203fde77d30b9 3e0307a270000000 3dd63263b8000000 3e163263b8000000 3d1978f27a800000',
  'mb.x0.001.equal.biased':
    '3fe8353fd6ae7d50 3fd3eb3ab3c3ebc9 3fefffff49b5a84a 3fccf6164f3f92c7 3e3718bfa8000000 3de7dfbe18000000 3e27dfbe18000000 3d26b48c78000000',
  'mb.x0.001.size.debiased':
    '3fd0c5133fb2ede5 bf6176c68bab467e 3ff000002ea102d1 3f5fd8d231b8fb12 3ea4f4f4d5200000 3e77ce117a500000 3eb7ce117a500000 3dc2376b83b10000',
  'mb.x0.001.size.biased':
    '3fe65c8ec99febd2 3fd2c648fe249129 3feffffedcc71f57 3fcaeaf2f9c34fbf 3ed2da90f48a0000 3e86326ca3260000 3ec6326ca3260000 3dcd2c93c1be0000',
  'wide200.x0.001.linearCkaDebiased': '3e827a99',
  'mb.x1.equal.debiased':
    '3fd156ada26598e6 bf68277a00cbd5fd 3fefffffb3ea32db bf7203feb2899ae4 40814eb9e0000000 4054301a88000000 4094301a88000000 3f972ac3fc800000',
  'mb.x1.equal.biased':
    '3fe8353ff4b8eaac 3fd3eb3af1952095 3fefffffb9428447 3fccf61648cca7f9 40b5019ce8000000 4065b69880000000 40a5b69880000000 3fa4a67b90000000',
  'mb.x1.size.debiased':
    '3fd0c512f6a8135f bf6176c4d00ad63e 3fefffff99763ce1 3f5fd8d195ea0400 41230f668e100000 40f5a685fa800000 4135a685fa800000 4040915ad31d0000',
  'mb.x1.size.biased':
    '3fe65c8e8bdd925a 3fd2c648b0a0a32e 3fefffff8efcc6e8 3fcaeaf3352f786d 415125bd059a0000 41043021d4e00000 41443021d4e00000 404a88a1dbc40000',
  'mb.x1000.equal.debiased':
    '3fd156adb6ad555c bf68277b238971d0 3ff0000022db5cfa bf7203f9ff5bf110 42ff7b7060000000 42d25c5cc0000000 43125c5cc0000000 42151201de000000',
  'mb.x1000.equal.biased':
    '3fe8353f3561c95c 3fd3eb3afcbb3297 3fefffff71676fd6 3fccf6168cd5efd7 43331ae948000000 42e3bf83e8000000 4323bf83e8000000 4222c806a8000000',
  'mb.x1000.size.debiased':
    '3fd0c51384f10a3a bf6176c6418f4b10 3ff0000026e6aa2d 3f5fd8dee9b249e9 43a155c913f00000 4373b0e4ee900000 43b3b0e4ee900000 42be22fd7a780000',
  'mb.x1000.size.biased':
    '3fe65c8e25d17b65 3fd2c648f83ee474 3fefffff1c3149b2 3fcaeaf3a9ce4a0e 43cf30e329640000 43825c63e55a0000 43c25c63e55a0000 42c821dc27da0000',
  'wide200.x1000.linearCka': '3f05393c',
  'wide200.x1000.hsic': '5691e29e',
  mine: '3ef7be23e0000000 3ef79b3800000000 30:899574c3',
  infoNce: '3f969f0d55555555 3f8d20e000000000 30:fe2e5784',
};

/**
 * Bits hold per set of OpenBLAS kernels, which sum in different orders: SkylakeX where OpenBLAS
 * picks it (AVX-512 machines it knows), Haswell where it does not know the CPU or OPENBLAS_CORETYPE
 * says so. On another set only the outputs' names are compared, with a warning.
 */
const RECORDED_FOR_KERNELS: Record<string, Record<string, string>> = {
  SkylakeX: RECORDED,
  Haswell: { ...RECORDED, ...RECORDED_HASWELL },
};

function kernelSet(): string {
  const s = nativeStatus();
  return s.available ? (s.kernels ?? 'unknown') : `none (${s.reason})`;
}

describe('ordinary magnitudes', () => {
  it('every output is unchanged bit for bit', () => {
    const before = tf.memory().numTensors;
    const got = ordinaryOutputs();
    expect(tf.memory().numTensors).toBe(before);
    const want = RECORDED_FOR_KERNELS[kernelSet()];
    if (!want) {
      console.warn(`no outputs recorded for the OpenBLAS kernels ${kernelSet()}: comparing names only`);
      expect(Object.keys(got).sort()).toEqual(Object.keys(RECORDED).sort());
      return;
    }
    expect(got).toEqual(want);
  });
});

/** The scales of the issue: far outside float32's comfortable range on both sides. */
const SCALES = [1e-30, 1e-15, 1e-8, 1e8, 1e15, 1e20, 1e30];
/** Exact powers of two: rescaled and unscaled computations then agree bit for bit. */
const POWERS = [-100, -60, -30, 30, 60, 100];
// (float32's range, restated here so that this file also runs against code without magnitude.ts)
const FLOAT32_MAX = (2 - 2 ** -23) * 2 ** 127;
const FLOAT32_MIN_NORMAL = 2 ** -126;
const RANGE_ERROR = /outside the range of float32 numbers \(1\.18e-38 to 3\.40e\+38 in magnitude\)/;
// inputs multiplied by a decimal scale are rounded to float32 (2^-24 relative per entry)
const TOL = { abs: 1e-6, rel: 1e-5 };

function close(actual: number, expected: number, tol: { abs: number; rel: number }, what: string): void {
  const bound = tol.abs + tol.rel * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= bound))
    throw new Error(`${what}: got ${actual}, expected ${expected} (|Δ| = ${Math.abs(actual - expected)} > ${bound})`);
}

const valueOf = (s: tf.Scalar): number => {
  const v = s.dataSync()[0];
  s.dispose();
  return v;
};

interface Stat {
  name: string;
  /** result(c_i · input_i) = Π |c_i|^degrees[i] · result(inputs): all 0 for a scale-invariant statistic */
  degrees: number[];
  /** takes the linear Grams of the inputs instead of the inputs */
  grams?: boolean;
  call: (a: tf.Tensor2D[]) => tf.Scalar;
}

const PATHS = [
  ['full', { method: 'full' }],
  ['blocked', { method: 'blocked', blockRows: 7 }],
] as const;
const STATS: Stat[] = [
  ...PATHS.flatMap(([path, o]): Stat[] => [
    { name: `dcor2 ${path}`, degrees: [0, 0], call: ([x, y]) => dcor2(x, y, o) },
    {
      name: `dcor2 rowNormalize ${path}`,
      degrees: [0, 0],
      call: ([x, y]) => dcor2(x, y, { ...o, rowNormalize: true }),
    },
    { name: `dcor ${path}`, degrees: [0, 0], call: ([x, y]) => dcor(x, y, o) },
    { name: `bcdcor ${path}`, degrees: [0, 0], call: ([x, y]) => bcdcor(x, y, o) },
    { name: `pdcor ${path}`, degrees: [0, 0, 0], call: ([x, y, z]) => pdcor(x, y, z, o) },
    { name: `semipartialDcor ${path}`, degrees: [0, 0, 0], call: ([x, y, z]) => semipartialDcor(x, y, z, o) },
    { name: `dcov2 ${path}`, degrees: [1, 1], call: ([x, y]) => dcov2(x, y, o) },
    { name: `dcovU ${path}`, degrees: [1, 1], call: ([x, y]) => dcovU(x, y, o) },
    { name: `pdcov ${path}`, degrees: [1, 1, 0], call: ([x, y, z]) => pdcov(x, y, z, o) },
  ]),
  {
    name: 'dcorTest statistic',
    degrees: [0, 0],
    call: ([x, y]) => tf.scalar(dcorTest(x, y, { permutations: 9 }).statistic),
  },
  {
    name: 'dcorTest p-value',
    degrees: [0, 0],
    call: ([x, y]) => tf.scalar(dcorTest(x, y, { permutations: 9 }).pValue),
  },
  { name: 'linearCka', degrees: [0, 0], call: ([x, y]) => linearCka(x, y) },
  { name: 'linearCka debiased', degrees: [0, 0], call: ([x, y]) => linearCka(x, y, { debiased: true }) },
  { name: 'rbfCka', degrees: [0, 0], call: ([x, y]) => rbfCka(x, y) },
  { name: 'rbfCka debiased', degrees: [0, 0], call: ([x, y]) => rbfCka(x, y, { debiased: true }) },
  { name: 'hsic rbf', degrees: [0, 0], call: ([x, y]) => hsic(x, y, { kernel: 'rbf' }) },
  {
    name: 'hsic rbf unbiased',
    degrees: [0, 0],
    call: ([x, y]) => hsic(x, y, { kernel: 'rbf', estimator: 'unbiased' }),
  },
  { name: 'hsic linear', degrees: [2, 2], call: ([x, y]) => hsic(x, y) },
  { name: 'hsic linear unbiased', degrees: [2, 2], call: ([x, y]) => hsic(x, y, { estimator: 'unbiased' }) },
  // the Gram-level functions take Grams: the Grams (of x and y at scale 1) are what is scaled
  { name: 'hsicBiasedFromGrams', degrees: [1, 1], grams: true, call: ([k, l]) => hsicBiasedFromGrams(k, l) },
  { name: 'hsicUnbiasedFromGrams', degrees: [1, 1], grams: true, call: ([k, l]) => hsicUnbiasedFromGrams(k, l) },
  {
    name: 'uCentreGram (an entry)',
    degrees: [1],
    grams: true,
    call: ([k]) => tf.tidy(() => tf.slice(uCentreGram(k), [2, 3], [1, 1]).reshape([])),
  },
  { name: 'distanceMatrix (largest entry)', degrees: [1], call: ([x]) => tf.tidy(() => tf.max(distanceMatrix(x))) },
  {
    name: 'gram linear (an entry)',
    degrees: [2],
    call: ([x]) => tf.tidy(() => tf.slice(gram(x), [2, 3], [1, 1]).reshape([])),
  },
  {
    name: 'gram rbf (an entry)',
    degrees: [0],
    call: ([x]) => tf.tidy(() => tf.slice(gram(x, 'rbf'), [2, 3], [1, 1]).reshape([])),
  },
];

/** Dependent inputs: x [40, 6] (the Gram-trick distances), y [40, 3] and z [40, 2] (per-column distances). */
function inputs(): tf.Tensor2D[] {
  return tf.tidy(() => {
    const x = randn(21, 40, 6, 2);
    const y = tf.add<tf.Tensor2D>(tf.tanh(x.slice([0, 0], [-1, 3])), randn(22, 40, 3).mul(0.5));
    const z = tf.add<tf.Tensor2D>(x.slice([0, 3], [-1, 2]), randn(23, 40, 2).mul(0.7));
    return [x, y, z];
  });
}

/** Which inputs a case scales: x alone, every input, and z alone (where there is a z). */
function scalings(arity: number): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [['x', [0]]];
  if (arity > 1) out.push(['all', Array.from({ length: arity }, (_, i) => i)]);
  if (arity === 3) out.push(['z', [2]]);
  return out;
}

describe.each(STATS.map((s) => [s.name, s] as const))('%s at extreme magnitudes', (_name, s) => {
  const all = inputs();
  const args = s.grams ? all.slice(0, s.degrees.length).map((x) => gram(x)) : all.slice(0, s.degrees.length);
  let atOne: number;
  beforeAll(() => {
    atOne = valueOf(s.call(args));
  });
  afterAll(() => tf.dispose(s.grams ? [...all, ...args] : all));

  const run = (scale: number, which: number[]) => {
    const scaled = args.map((a, i) => (which.includes(i) ? tf.mul<tf.Tensor2D>(a, scale) : a));
    try {
      return valueOf(s.call(scaled));
    } finally {
      tf.dispose(scaled.filter((t, i) => t !== args[i]));
    }
  };
  const factor = (scale: number, which: number[]) => which.reduce((f, i) => f * scale ** s.degrees[i], 1);

  it.each(scalings(s.degrees.length))(
    'scaling %s by 1e-30 … 1e30: the value at scale 1, times the scale to its degree, or an error naming the range',
    (_which, which) => {
      for (const scale of SCALES) {
        const expected = atOne * factor(scale, which);
        const what = `${s.name}, inputs ${which.join(',')} × ${scale}`;
        if (Math.abs(expected) > 2 * FLOAT32_MAX || (expected !== 0 && Math.abs(expected) < FLOAT32_MIN_NORMAL / 2)) {
          expect(() => run(scale, which)).toThrow(RANGE_ERROR);
        } else if (Math.abs(expected) > FLOAT32_MAX / 2 || Math.abs(expected) < 2 * FLOAT32_MIN_NORMAL) {
          // at the edge of the range either answer is right
          try {
            close(run(scale, which), expected, { abs: 0, rel: TOL.rel }, what);
          } catch (err) {
            expect((err as Error).message).toMatch(RANGE_ERROR);
          }
        } else {
          close(run(scale, which), expected, { abs: TOL.abs * factor(scale, which), rel: TOL.rel }, what);
        }
      }
    },
  );

  it.each(scalings(s.degrees.length))(
    'scaling %s by powers of two 2^±30 … 2^±100: exact, bit for bit',
    (_which, which) => {
      for (const j of POWERS) {
        const expected = Math.fround(atOne * factor(2 ** j, which));
        const exact = atOne * factor(2 ** j, which);
        if (Math.abs(exact) > FLOAT32_MAX || (exact !== 0 && Math.abs(exact) < FLOAT32_MIN_NORMAL)) {
          expect(() => run(2 ** j, which)).toThrow(RANGE_ERROR);
        } else {
          expect(`2^${j}: ${f32hex(run(2 ** j, which))}`).toBe(`2^${j}: ${f32hex(expected)}`);
        }
      }
    },
  );

  it('leaves no tensor behind on the rescaled path', () => {
    const scaled = tf.tidy(() => args.map((a) => tf.mul<tf.Tensor2D>(a, 1e20)));
    const small = tf.tidy(() => args.map((a) => tf.mul<tf.Tensor2D>(a, 1e-20)));
    for (const t of [scaled, small]) {
      const before = tf.memory().numTensors;
      try {
        s.call(t).dispose();
      } catch (err) {
        expect((err as Error).message).toMatch(RANGE_ERROR);
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([...scaled, ...small]);
  });
});

describe('gradients at extreme magnitudes (the full, differentiable path)', () => {
  const [x, y, z] = inputs();
  afterAll(() => tf.dispose([x, y, z]));
  // d f(c·x) / d(c·x) = (1/c) · d f(x) / dx for a scale-invariant f
  it.each([
    ['dcor2', (a: tf.Tensor2D) => dcor2(a, y)],
    ['dcor2 rowNormalize', (a: tf.Tensor2D) => dcor2(a, y, { rowNormalize: true })],
    ['pdcor', (a: tf.Tensor2D) => pdcor(a, y, z)],
    ['linearCka', (a: tf.Tensor2D) => linearCka(a, y)],
  ] as const)('%s', (_name, f) => {
    const grad = (a: tf.Tensor2D) => {
      const g = tf.grad((t: tf.Tensor) => f(t as tf.Tensor2D))(a);
      const v = Array.from(g.dataSync());
      g.dispose();
      return v;
    };
    const atOne = grad(x);
    const largest = Math.max(...atOne.map(Math.abs));
    for (const scale of [...SCALES, ...POWERS.map((j) => 2 ** j)]) {
      const xs = tf.mul<tf.Tensor2D>(x, scale);
      const before = tf.memory().numTensors;
      const g = grad(xs);
      expect(tf.memory().numTensors).toBe(before);
      xs.dispose();
      g.forEach((v, i) => close(v * scale, atOne[i], { abs: 1e-4 * largest, rel: 1e-4 }, `${scale}: entry ${i}`));
    }
  });
});

describe('constant and zero inputs keep their defined results at any magnitude', () => {
  it('0, never NaN', () => {
    const y = tf.tidy(() => randn(5, 20, 2));
    for (const level of [7.5e-30, 7.5, 7.5e30, 0]) {
      const c = tf.fill<tf.Rank.R2>([20, 3], level);
      for (const f of [dcor, dcor2, dcov2, bcdcor, dcovU, linearCka, rbfCka]) expect(valueOf(f(c, y))).toBe(0);
      expect(valueOf(pdcor(c, y, y))).toBe(0);
      c.dispose();
    }
    y.dispose();
  });
});

describe('MinibatchCka', () => {
  const layers = () =>
    tf.tidy(() => {
      const a = randn(31, 96, 12);
      return [a, tf.tanh(tf.matMul(a, randn(32, 12, 5))), tf.square(a.slice([0, 0], [-1, 4]))] as tf.Tensor2D[];
    });
  const accumulate = (fs: tf.Tensor2D[], scales: number[], opts = {}) => {
    const m = new MinibatchCka(opts);
    for (const start of [0, 32, 64])
      tf.tidy(() => {
        const batch = fs.map((f, i) => tf.mul(f.slice([start, 0], [32, -1]), scales[i]));
        m.update(batch.slice(0, 2), batch.slice(1));
      });
    return m;
  };

  it.each([
    ['debiased, equal', {}],
    ['biased, size', { estimator: 'biased', weighting: 'size' }],
  ] as const)('%s: CKA at scale 1 and the self-HSICs scaled exactly (float64), at 1e-30 … 1e30', (_n, opts) => {
    const fs = layers();
    const ref = accumulate(fs, [1, 1, 1], opts);
    const want = ref.result();
    expect(want[1][0]).toBeCloseTo(1, 5); // layer 1 of A is layer 0 of B
    for (const scale of SCALES)
      for (const scales of [
        [scale, 1, 1],
        [scale, scale, scale],
      ]) {
        const m = accumulate(fs, scales, opts);
        m.result().forEach((row, i) =>
          row.forEach((v, j) => close(v, want[i][j], TOL, `× ${scales.join(',')}: [${i}][${j}]`)),
        );
        const self = m.selfHsic();
        const selfRef = ref.selfHsic();
        self.a.forEach((v, i) => close(v, selfRef.a[i] * scales[i] ** 4, { abs: 0, rel: TOL.rel }, `selfHsic a[${i}]`));
        self.b.forEach((v, i) =>
          close(v, selfRef.b[i] * scales[i + 1] ** 4, { abs: 0, rel: TOL.rel }, `selfHsic b[${i}]`),
        );
      }
    tf.dispose(fs);
  });

  it('a layer against itself is 1, a zero-variance layer gives self-HSIC 0 and CKA 0, at any magnitude', () => {
    const fs = layers();
    for (const scale of [1, ...SCALES]) {
      const m = new MinibatchCka();
      tf.tidy(() => {
        const f = tf.mul(fs[0], scale);
        const flat = tf.fill([96, 3], 2.5 * scale);
        m.update([f, flat], [f]);
      });
      close(m.result()[0][0], 1, { abs: 1e-5, rel: 0 }, `self × ${scale}`);
      expect(m.result()[1][0]).toBe(0);
      expect(m.selfHsic().a[1]).toBe(0);
    }
    tf.dispose(fs);
  });

  it('update leaves no tensor behind when it rescales', () => {
    const fs = layers();
    const big = tf.tidy(() => fs.map((f) => tf.mul(f, 1e30)));
    const m = new MinibatchCka();
    m.update(big.slice(0, 2), big.slice(1));
    const before = tf.memory().numTensors;
    m.update(big.slice(0, 2), big.slice(1));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...fs, ...big]);
  });
});

describe('mine and infoNce', () => {
  /** Correlated Gaussians (MI 0.83 nats), x scaled so that its largest |entry| is in [1, 2). */
  const pair = (): [tf.Tensor2D, tf.Tensor2D] =>
    tf.tidy(() => {
      const x = tf.randomNormal<tf.Rank.R2>([300, 1], 0, 1, 'float32', 41);
      const e = tf.randomNormal<tf.Rank.R2>([300, 1], 0, 1, 'float32', 42);
      const y = tf.add<tf.Tensor2D>(tf.mul(x, 0.9), tf.mul(e, Math.sqrt(1 - 0.81)));
      const largest = tf.max(tf.abs(x)).dataSync()[0];
      return [tf.mul<tf.Tensor2D>(x, 2 ** -Math.floor(Math.log2(largest))), y];
    });
  const settings = { iterations: 120, hidden: 16, batchSize: 100, learningRate: 3e-3, seed: 1 };
  const estimators = [
    ['mine', (a: tf.Tensor2D, b: tf.Tensor2D) => mine(a, b, settings)],
    ['infoNce', (a: tf.Tensor2D, b: tf.Tensor2D) => infoNce(a, b, settings)],
  ] as const;

  it.each(estimators)('%s: the estimate at scale 1, exactly at powers of two and closely at 1e-30 … 1e30', (_n, f) => {
    const [x, y] = pair();
    const atOne = f(x, y);
    expect(atOne.estimate).toBeGreaterThan(0.4);
    for (const j of [-100, -30, 30, 100]) {
      const xs = tf.mul<tf.Tensor2D>(x, 2 ** j);
      const before = tf.memory().numTensors;
      const r = f(xs, y);
      expect(tf.memory().numTensors).toBe(before);
      expect([j, r.estimate, r.heldOut]).toEqual([j, atOne.estimate, atOne.heldOut]);
      xs.dispose();
    }
    // a decimal scale lands the input at another power of two's multiple of x (a factor in [1/2, 2)):
    // the network is not scale-free, so the estimates differ by optimisation noise, not by the scale
    for (const scale of SCALES) {
      const [xs, ys] = [tf.mul<tf.Tensor2D>(x, scale), tf.mul<tf.Tensor2D>(y, scale)];
      for (const [a, b] of [
        [xs, y],
        [xs, ys],
      ]) {
        const r = f(a, b);
        close(r.estimate, atOne.estimate, { abs: 0.15, rel: 0 }, `× ${scale}`);
      }
      tf.dispose([xs, ys]);
    }
    tf.dispose([x, y]);
  });

  it.each(estimators.map(([n]) => n))('%s refuses options that would give a meaningless estimate', (name) => {
    const [x, y] = pair();
    const f = name === 'mine' ? mine : infoNce;
    for (const [bad, pattern] of [
      [{ iterations: 0 }, /iterations must be an integer >= 1, got 0/],
      [{ iterations: 2.5 }, /iterations must be an integer >= 1, got 2.5/],
      [{ batchSize: -5 }, /batchSize must be an integer >= 2, got -5/],
      [{ batchSize: 1 }, /batchSize must be an integer >= 2, got 1/],
      [{ hidden: 0 }, /hidden must be an integer >= 1/],
      [{ layers: 0 }, /layers must be an integer >= 1/],
      [{ learningRate: 0 }, /learningRate must be a finite number > 0, got 0/],
      [{ learningRate: NaN }, /learningRate must be a finite number > 0, got NaN/],
      [{ heldOutFraction: 1 }, /heldOutFraction must be in \(0, 1\), got 1/],
      [{ maRate: 0 }, /maRate must be in \(0, 1\], got 0/],
      [{ window: 0 }, /window must be an integer >= 1/],
      [{ progressEvery: 0 }, /progressEvery must be an integer >= 1/],
      // a misspelt option would leave its default in force (dt-tradeoff passed lr, and ran at 1e-4)
      [{ lr: 4e-4 }, /unknown option 'lr' \(options: .*learningRate/],
    ] as const) {
      const before = tf.memory().numTensors;
      expect(() => f(x, y, { ...settings, ...bad })).toThrow(new RegExp(`${name}: ${pattern.source}`));
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, y]);
  });

  it('a network that diverges is an error, not an estimate of 0 nats', () => {
    const [x, y] = pair();
    // a learning rate far too large sends the statistics network to ±Infinity within a few steps
    expect(() => mine(x, y, { ...settings, learningRate: 1e30 })).toThrow(/mine: the bound is non-finite/);
    tf.dispose([x, y]);
  });
});
