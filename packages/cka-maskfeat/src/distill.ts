/**
 * One distillation job (run × seed): the teachers trained first (each a full pass over the training set
 * per epoch, cross-entropy), then every student of the run trained on the same batches in turn, each
 * with its method's loss against its teacher in inference mode (teacher outputs computed once per batch
 * and shared); both phases checkpoint every epoch, so a killed job resumes to the same numbers. Then:
 * test accuracy of every network, debiased minibatch CKA between each student and its teacher (torch_cka's
 * estimator, batches of 64, the whole test set), one CKA value per minibatch of 25 at the last stage (the
 * rebuttal's figure) and, in the methods run, the torch_cka README's comparisons.
 *
 * DPK's per-batch CKA and mask ratio of each distilled stage are kept in a trace (the record's
 * `extra.dpkTrace`), saved beside the checkpoint so that a resumed job keeps the epochs it already ran.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, writeJsonAtomic } from '@repro/runtime';
import { ImageDataset, batchCount, batches, firstKPerClass, loadTrainTest, prepareDataset } from '@repro/datasets';
import {
  CompareResult,
  compareModels,
  createModel,
  disposeModel,
  dpkGenerator,
  featureModel,
  ickdEmbed,
  mgdGenerator,
  perMinibatchCka,
  saveModel,
} from '@repro/models';
import { linearCka } from '@repro/core-metrics';
import {
  Optimizer,
  RunContext,
  RunRecord,
  Scale,
  checkpointDir,
  constant,
  cosine,
  evaluateClassifier,
  jointStep,
  multiStep,
  newRunRecord,
  train,
  trainableVariables,
} from '@repro/experiments';
import { DistillRun, NetSpec, PAPER_MILESTONES, StudentSpec } from './runs';
import { dpkMask, dpkMaskRatio, ickdLoss, kdLoss, mgdChannelMask, mgdLoss } from './losses';

export const PACKAGE = 'cka-maskfeat';

export interface TrainOptions extends RunContext {
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Explicit changes to the run's config, recorded in the record's overrides (tests). */
  overrides?: {
    epochs?: number;
    teacherEpochs?: number;
    maxStepsPerEpoch?: number;
    /** Width of the teachers and the student (the paper-scale tests). */
    nfilters?: number;
    /** DPK generator sizes. */
    generator?: Partial<DistillRun['dpk']['generator']>;
  };
}

/** The run at a scale: smoke shrinks the cpu run to the fixture, 2 epochs and tiny widths. */
export function resolveRun(run: DistillRun, scale: Scale): DistillRun {
  if (scale === 'smoke') {
    if (run.scale !== 'cpu') throw new Error(`run ${run.id} is a paper-scale run; smoke scale runs the cpu runs`);
    const shrink = (n: NetSpec): NetSpec => ({ ...n, nfilters: Math.max(2, Math.round(n.nfilters / 4)) });
    return {
      ...run,
      trainPerClass: undefined,
      teacherEpochs: 2,
      epochs: 2,
      batchSize: 64,
      teachers: run.teachers.map(shrink),
      student: shrink(run.student),
      students: run.students.map((s) => (s.net ? { ...s, net: shrink(s.net) } : s)),
      dpk: { ...run.dpk, generator: { dim: 8, encoderDepth: 1, decoderDepth: 1, heads: 2, mlpRatio: 2 } },
      curveImagesPerClass: undefined,
      compareImagesPerClass: undefined,
    };
  }
  if (scale !== run.scale) throw new Error(`run ${run.id} belongs to the ${run.scale} scale, not ${scale}`);
  return run;
}

export function runDir(out: string, scale: Scale, runId: string, seed: number): string {
  return checkpointDir(out, PACKAGE, scale, runId, seed);
}

export const teacherName = (k: number) => `teacher${k}`;

/** Layers every plain-CNN comparison reads (both models), in network order. */
export const CKA_LAYERS = ['stage1', 'stage2', 'stage3', 'features', 'logits'];

/** Columns of a DPK trace row. */
export const DPK_TRACE_COLUMNS = ['epoch', 'step', 'student', 'stage', 'cka', 'ratio'] as const;
export type DpkTraceRow = [number, number, string, string, number, number];

interface Member {
  spec: StudentSpec;
  model: tf.LayersModel;
  /** outputs [penultimate stage, last stage, logits] (distilling members) */
  tap?: tf.LayersModel;
  mgd?: tf.LayersModel;
  ickd?: tf.LayersModel;
  dpk?: [tf.LayersModel, tf.LayersModel];
  groups: Array<{ opt: Optimizer; vars: tf.Variable[] }>;
  loss: number;
  n: number;
}

function buildNet(n: NetSpec, shape: [number, number, number], numClasses: number, seed: number): tf.LayersModel {
  return createModel(n.model, {
    nfilters: n.nfilters,
    ...(n.depth !== undefined ? { depth: n.depth } : {}),
    inputShape: shape,
    numClasses,
    seed,
  });
}

const outShape = (t: tf.SymbolicTensor) => t.shape.slice(1) as [number, number, number];

function readTrace(file: string): DpkTraceRow[] {
  if (!fs.existsSync(file)) return [];
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { rows: DpkTraceRow[] };
    if (!Array.isArray(j.rows)) throw new Error('no rows');
    return j.rows;
  } catch (err) {
    throw new Error(
      `${file}: unreadable DPK trace (${(err as Error).message}); delete it with the checkpoint to start over`,
      {
        cause: err,
      },
    );
  }
}

/** A copy of a dataset with every image shifted by (dy, dx) pixels, the border filled with 0 (black). */
export function shiftedCopy(ds: ImageDataset, dy: number, dx: number): ImageDataset {
  const [h, w, c] = ds.shape;
  const out = new Uint8Array(ds.images.length);
  for (let i = 0; i < ds.size; i++)
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++) {
        const sr = r - dy;
        const sq = q - dx;
        if (sr < 0 || sr >= h || sq < 0 || sq >= w) continue;
        for (let k = 0; k < c; k++) out[((i * h + r) * w + q) * c + k] = ds.images[((i * h + sr) * w + sq) * c + k];
      }
  return { ...ds, name: `${ds.name} shifted (${dy}, ${dx}) px`, images: out };
}

export async function trainDistillRun(run: DistillRun, o: TrainOptions): Promise<RunRecord> {
  const started = new Date();
  const tensorsAtStart = tf.memory().numTensors;
  const ov = o.overrides ?? {};
  const r: DistillRun & { maxStepsPerEpoch?: number } = {
    ...resolveRun(run, o.scale),
    ...(ov.epochs !== undefined ? { epochs: ov.epochs } : {}),
    ...(ov.teacherEpochs !== undefined ? { teacherEpochs: ov.teacherEpochs } : {}),
    ...(ov.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: ov.maxStepsPerEpoch } : {}),
  };
  if (ov.nfilters !== undefined) {
    r.teachers = r.teachers.map((t) => ({ ...t, nfilters: ov.nfilters! }));
    r.student = { ...r.student, nfilters: ov.nfilters };
  }
  if (ov.generator) r.dpk = { ...r.dpk, generator: { ...r.dpk.generator, ...ov.generator } };
  const stream = o.stream ?? process.stderr;
  const log = (s: string) => stream.write(`${r.id} seed ${o.seed}: ${s}\n`);
  await prepareDataset(r.dataset, { dataDir: o.dataDir, requester: `run ${r.id}`, log });
  const d = loadTrainTest(r.dataset, {
    dataDir: o.dataDir,
    fixture: o.scale === 'smoke',
    requester: `run ${r.id}`,
    trainPerClass: r.trainPerClass,
  });
  const norm = d.info.normalize;
  const shape = d.info.shape;
  const numClasses = d.train.numClasses;
  const curve = r.curveImagesPerClass !== undefined ? firstKPerClass(d.test, r.curveImagesPerClass) : d.test;
  const augment = r.scale === 'paper';
  const dir = runDir(o.out, o.scale, r.id, o.seed);
  const rng = new Rng(o.seed);
  const steps = Math.min(batchCount(d.train, { batchSize: r.batchSize }), r.maxStepsPerEpoch ?? Infinity);
  const configKey = JSON.stringify({ ...r, seed: o.seed, scale: o.scale, n: d.train.size, steps });
  const schedule = (lr: number, epochs: number) =>
    r.scale === 'paper' ? multiStep(lr, PAPER_MILESTONES, 0.1) : cosine(lr, epochs);
  const epochBatches = function* (stream: string, e: number) {
    let i = 0;
    for (const b of batches(d.train, {
      batchSize: r.batchSize,
      shuffle: rng.fork(`${stream}-${e}`),
      normalize: norm,
      ...(augment
        ? { augment: { cropPadding: 4, horizontalFlip: true, rng: rng.fork(`augment-${stream}-${e}`) } }
        : {}),
    })) {
      if (i++ >= steps) {
        tf.dispose([b.x, b.y]);
        break;
      }
      yield b;
    }
  };

  const teachers = r.teachers.map((t, k) => buildNet(t, shape, numClasses, 1000 * o.seed + 100 + k));
  const teacherOpts = teachers.map(() => new Optimizer(r.optimizer));
  const members: Member[] = [];
  const disposeAll = () => {
    for (const m of [...teachers, ...members.flatMap((x) => [x.model, x.mgd, x.ickd, ...(x.dpk ?? [])])])
      if (m) disposeModel(m);
    for (const opt of [...teacherOpts, ...members.flatMap((x) => x.groups.map((g) => g.opt))]) opt.dispose();
  };
  let record: RunRecord;
  try {
    // phase 1: the teachers
    const teacherResult = await train({
      label: `${r.id} seed ${o.seed} teachers`,
      models: teachers,
      optimizers: teacherOpts,
      schedules: teachers.map(() => schedule(r.optimizer.lr, r.teacherEpochs)),
      epochs: r.teacherEpochs,
      stepsPerEpoch: steps * teachers.length,
      itemsPerStep: r.batchSize,
      batches: function* (e) {
        for (let k = 0; k < teachers.length; k++) for (const b of epochBatches(`teacher${k}`, e)) yield { k, b };
      },
      step: ({ k, b }) => {
        const vars = trainableVariables(teachers[k]);
        const loss = teacherOpts[k].step(vars, () =>
          tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
            tf.oneHot(b.y, numClasses),
            teachers[k].apply(b.x, { training: true }) as tf.Tensor,
          ),
        );
        return { loss };
      },
      disposeBatch: ({ b }) => tf.dispose([b.x, b.y]),
      evaluate: () =>
        Object.fromEntries(
          teachers.map((t, k) => [
            `${teacherName(k)}TestAccPct`,
            100 * evaluateClassifier(t, curve, { batchSize: 250, normalize: norm }).accuracy,
          ]),
        ),
      checkpoint: { dir: path.join(dir, 'teachers'), everyEpochs: 1, configKey },
      resume: o.resume,
      stream: o.stream,
    });
    const teacherTaps = teachers.map((t) => featureModel(t, r.stages));

    // phase 2: the students
    for (const [k, s] of r.students.entries()) {
      const seed = 1000 * o.seed + k;
      const model = buildNet(s.net ?? r.student, shape, numClasses, seed);
      const opt = new Optimizer(r.optimizer);
      const m: Member = { spec: s, model, groups: [{ opt, vars: trainableVariables(model) }], loss: 0, n: 0 };
      members.push(m);
      if (s.method === 'vanilla') continue;
      m.tap = featureModel(model, r.stages);
      const [s2, s3] = m.tap.outputs.map(outShape);
      const [t2, t3] = teacherTaps[s.teacher].outputs.map(outShape);
      if (s.method === 'mgd') m.mgd = mgdGenerator({ studentShape: s3, teacherChannels: t3[2], seed: seed + 1 });
      if (s.method === 'ickd') m.ickd = ickdEmbed({ studentShape: s3, teacherChannels: t3[2], seed: seed + 1 });
      const aux = m.mgd ?? m.ickd;
      if (aux) m.groups[0].vars.push(...trainableVariables(aux));
      if (s.method === 'dpk') {
        const g = r.dpk.generator;
        m.dpk = [
          [s2, t2],
          [s3, t3],
        ].map(([sm, tm], j) => {
          if (sm[0] !== tm[0] || sm[1] !== tm[1])
            throw new Error(
              `${r.id}: DPK needs student and teacher maps of one size at ${r.stages[j]}; got ${sm.join('x')} and ${tm.join('x')}`,
            );
          return dpkGenerator({
            grid: [sm[0], sm[1]],
            studentChannels: sm[2],
            teacherChannels: tm[2],
            encoderDim: g.dim,
            decoderDim: g.dim,
            encoderDepth: g.encoderDepth,
            decoderDepth: g.decoderDepth,
            heads: g.heads,
            mlpRatio: g.mlpRatio,
            seed: seed + 1 + j,
            name: `dpk_generator_${r.stages[j]}`,
          });
        }) as [tf.LayersModel, tf.LayersModel];
        m.groups.push({ opt: new Optimizer(r.dpk.generatorOptimizer), vars: trainableVariables(...m.dpk) });
      }
    }
    const usedTeachers = [...new Set(members.filter((m) => m.tap).map((m) => m.spec.teacher))];
    const traceFile = path.join(dir, 'dpk-trace.json');
    let trace: DpkTraceRow[] = o.resume ? readTrace(traceFile) : [];
    const optimizers = members.flatMap((m) => m.groups.map((g) => g.opt));
    const schedules = members.flatMap((m) =>
      m.groups.map((g, i) => (i === 0 ? schedule(r.optimizer.lr, r.epochs) : constant(g.opt.learningRate))),
    );
    const studentResult = await train({
      label: `${r.id} seed ${o.seed} students`,
      models: members.flatMap((m) => [m.model, m.mgd, m.ickd, ...(m.dpk ?? [])].filter((x) => x !== undefined)),
      optimizers,
      schedules,
      epochs: r.epochs,
      stepsPerEpoch: steps,
      itemsPerStep: r.batchSize,
      batches: function* (e) {
        trace = trace.filter((row) => row[0] < e + 1);
        for (const m of members) {
          m.loss = 0;
          m.n = 0;
        }
        yield* epochBatches('students', e);
      },
      step: (b, ctx) => {
        const n = b.x.shape[0];
        const y1h = tf.oneHot(b.y, numClasses);
        const tOut = new Map<number, tf.Tensor[]>();
        try {
          for (const k of usedTeachers) tOut.set(k, teacherTaps[k].predict(b.x) as tf.Tensor[]);
          for (const m of members) {
            const s = m.spec;
            const t = tOut.get(s.teacher);
            const loss = jointStep(m.groups, () => {
              if (s.method === 'vanilla')
                return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
                  y1h,
                  m.model.apply(b.x, { training: true }) as tf.Tensor,
                );
              const [f2, f3, logits] = m.tap!.apply(b.x, { training: true }) as tf.Tensor[];
              const ce = tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(y1h, logits);
              const [t2, t3, tLogits] = t!;
              switch (s.method) {
                case 'kd':
                  return tf.add<tf.Scalar>(
                    tf.mul(r.kd.ce, ce),
                    tf.mul(r.kd.kl, kdLoss(logits, tLogits, r.kd.temperature)),
                  );
                case 'mgd': {
                  const mask = mgdChannelMask(
                    n,
                    t3.shape[3]!,
                    r.mgd.lambda,
                    rng.fork(`mgd-${s.name}-${ctx.globalStep}`),
                  );
                  const gen = m.mgd!.apply([f3, mask], { training: true }) as tf.Tensor;
                  return tf.add<tf.Scalar>(ce, tf.mul(r.mgd.alpha, mgdLoss(gen, t3)));
                }
                case 'ickd': {
                  const e = m.ickd!.apply(f3, { training: true }) as tf.Tensor;
                  return tf.add<tf.Scalar>(ce, tf.mul(r.ickd.beta, ickdLoss(e, t3)));
                }
                case 'dpk': {
                  const p = r.dpk;
                  let feat: tf.Scalar = tf.scalar(0);
                  [
                    [f2, t2],
                    [f3, t3],
                  ].forEach(([fs, ts], j) => {
                    const [, h, w, cs] = fs.shape;
                    const ct = ts.shape[3]!;
                    const cka =
                      n >= 4
                        ? tf.tidy(
                            () =>
                              linearCka(tf.reshape(fs, [n, -1]), tf.reshape(ts, [n, -1]), {
                                debiased: true,
                              }).dataSync()[0],
                          )
                        : NaN;
                    const ratio = dpkMaskRatio(cka, p);
                    trace.push([ctx.epoch + 1, ctx.step, s.name, r.stages[j], cka, ratio]);
                    const mask = dpkMask(
                      n,
                      h * w,
                      ratio,
                      p.minMasked,
                      rng.fork(`dpk-${s.name}-${j}-${ctx.globalStep}`),
                    );
                    const tTok = tf.reshape(ts, [n, h * w, ct]);
                    const out = m.dpk![j].apply([tf.reshape(fs, [n, h * w, cs]), tTok, mask], {
                      training: true,
                    }) as tf.Tensor;
                    feat = tf.add(feat, tf.losses.meanSquaredError(tTok, out));
                  });
                  return tf.addN([
                    tf.mul(p.gamma, ce),
                    tf.mul(p.alpha, kdLoss(logits, tLogits, p.temperature)),
                    tf.mul(p.beta, feat),
                  ]) as tf.Scalar;
                }
              }
            });
            m.loss += loss;
            m.n++;
          }
        } finally {
          tf.dispose([y1h, ...[...tOut.values()].flat()]);
        }
        return { loss: members[0].loss / members[0].n };
      },
      disposeBatch: (b) => tf.dispose([b.x, b.y]),
      evaluate: (e) => {
        const metrics: Record<string, number> = {};
        for (const m of members) {
          metrics[`${m.spec.name}TestAccPct`] =
            100 * evaluateClassifier(m.model, curve, { batchSize: 250, normalize: norm }).accuracy;
          metrics[`${m.spec.name}TrainLoss`] = m.n ? m.loss / m.n : NaN;
        }
        // per-epoch means of DPK's batch CKA and mask ratio, per student and stage
        for (const m of members.filter((x) => x.spec.method === 'dpk'))
          for (const stage of r.stages) {
            const rows = trace.filter((row) => row[0] === e + 1 && row[2] === m.spec.name && row[3] === stage);
            const mean = (i: 4 | 5) => rows.reduce((a, row) => a + row[i], 0) / rows.length;
            metrics[`${m.spec.name}_${stage}_cka`] = mean(4);
            metrics[`${m.spec.name}_${stage}_maskRatio`] = mean(5);
          }
        return metrics;
      },
      onEpoch: () => {
        if (members.some((m) => m.spec.method === 'dpk'))
          writeJsonAtomic(traceFile, { columns: DPK_TRACE_COLUMNS, rows: trace });
      },
      checkpoint: { dir: path.join(dir, 'students'), everyEpochs: 1, configKey },
      resume: o.resume,
      stream: o.stream,
    });
    for (const [k, t] of teachers.entries()) await saveModel(t, path.join(dir, `final-${teacherName(k)}`));
    for (const m of members) await saveModel(m.model, path.join(dir, `final-${m.spec.name}`));

    // evaluation on the test set
    const metrics: Record<string, number> = {};
    const acc = (model: tf.LayersModel) =>
      100 * evaluateClassifier(model, d.test, { batchSize: 250, normalize: norm }).accuracy;
    teachers.forEach((t, k) => (metrics[`${teacherName(k)}TestAccPct`] = acc(t)));
    for (const m of members) metrics[`${m.spec.name}TestAccPct`] = acc(m.model);
    metrics.testImages = d.test.size;
    const cka: Record<string, CompareResult> = {};
    const perMinibatch: Record<string, number[]> = {};
    const batchOptions = { normalize: norm };
    const plain = (x: NetSpec) => x.model === 'plaincnn';
    for (const m of members.filter((x) => !x.spec.net)) {
      log(`CKA of ${m.spec.name} vs ${teacherName(m.spec.teacher)} on ${d.test.size} test images`);
      const t = teachers[m.spec.teacher];
      const layers =
        plain(r.student) && plain(r.teachers[m.spec.teacher]) ? CKA_LAYERS : [...r.stages, 'features', 'logits'];
      const res = compareModels(m.model, t, {
        layersA: layers,
        layersB: layers,
        data: d.test,
        batchSize: 64,
        batchOptions,
        nameA: `student ${m.spec.name}`,
        nameB: `teacher (${r.teachers[m.spec.teacher].model}${r.teachers[m.spec.teacher].depth ?? ''})`,
      });
      cka[m.spec.name] = res;
      res.layersA.forEach((la, i) => (metrics[`${m.spec.name}Cka_${la}`] = res.matrix[i][i]));
      if (r.perMinibatch)
        perMinibatch[m.spec.name] = perMinibatchCka(m.model, t, {
          layerA: r.stages[1],
          layerB: r.stages[1],
          data: d.test,
          batchSize: 25,
          maxBatches: 400,
          batchOptions,
        });
    }
    const comparisons: Record<string, CompareResult> = {};
    if (r.kind === 'methods' && r.scale !== 'paper') {
      const sub = r.compareImagesPerClass !== undefined ? firstKPerClass(d.test, r.compareImagesPerClass) : d.test;
      const get = (name: string) => members.find((x) => x.spec.name === name)!.model;
      const t = teachers[0];
      const opts = { data: sub, batchSize: 64, batchOptions };
      log(`torch_cka README comparisons on ${sub.size} test images`);
      comparisons['two-depths'] = compareModels(t, get('wide'), {
        ...opts,
        layersA: CKA_LAYERS,
        layersB: CKA_LAYERS,
        nameA: `plaincnn ${r.teachers[0].depth} layers`,
        nameB: 'plaincnn 3 layers (same width)',
      });
      comparisons['two-widths'] = compareModels(get('wide'), get('vanilla'), {
        ...opts,
        layersA: CKA_LAYERS,
        layersB: CKA_LAYERS,
        nameA: `plaincnn 3 layers width ${r.students.find((s) => s.name === 'wide')!.net!.nfilters}`,
        nameB: `plaincnn 3 layers width ${r.student.nfilters}`,
      });
      comparisons['two-architectures'] = compareModels(t, get('resnet8'), {
        ...opts,
        nameA: `plaincnn ${r.teachers[0].depth} layers`,
        nameB: 'resnet8 (every layer)',
      });
      comparisons['two-datasets'] = compareModels(t, t, {
        ...opts,
        dataB: shiftedCopy(sub, 2, 2),
        layersA: CKA_LAYERS,
        layersB: CKA_LAYERS,
        nameA: `plaincnn ${r.teachers[0].depth} on Fashion-MNIST test`,
        nameB: 'the same model on the test images shifted by 2 px',
      });
    }
    const history = studentResult.history;
    record = newRunRecord({
      package: PACKAGE,
      runId: r.id,
      seed: o.seed,
      scale: o.scale,
      dataset: d.label,
      model: `${r.teachers.map((t) => `${t.model}${t.depth ?? ''}`).join('/')} -> ${r.student.model}${r.student.depth ?? ''}`,
      config: { ...r },
      overrides: { ...ov },
      extra: {
        teacherHistory: teacherResult.history,
        cka,
        perMinibatch,
        comparisons,
        dpkTrace: { columns: DPK_TRACE_COLUMNS, rows: trace },
      },
      history,
      metrics,
      backend: o.backend,
      started,
      codeDir: path.join(__dirname, '..'),
    });
  } finally {
    disposeAll();
  }
  record.tensors = { atStart: tensorsAtStart, atEnd: tf.memory().numTensors };
  return record;
}
