/**
 * `npx nx run tools:doctor` (or `npm run doctor`): why is it slow, what runs here? Plain lines on the
 * backend `auto` picks and why the others were not picked, the native kernels and OpenBLAS, the
 * datasets and where they were found, and the recorded cpu-scale wall time of each package's
 * reproduce beside this machine's description. Reads nothing outside the repository; exits 0.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { formatDuration, initBackend, nativeStatus } from '@repro/runtime';
import { DEBIAN_FASHION_MNIST_DIR, USER_CACHE_FASHION_MNIST_DIR, loadFashionMnist } from '@repro/datasets';
import { hardwareDescription, readRunRecords } from '@repro/experiments';

const ROOT = path.resolve(__dirname, '..');
const line = (what: string, text: string) => process.stdout.write(`${what.padEnd(16)} ${text}\n`);

function installed(name: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [ROOT] }));
  } catch {
    return undefined;
  }
}

function cudaLibraries(): string {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const libs = ['libcudart.so.11.0', 'libcudnn.so.8'].filter((l) => r.stdout?.includes(l));
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  const gpus = smi.status === 0 ? smi.stdout.trim().split('\n').length : 0;
  return `${gpus ? `${gpus} GPU(s) (nvidia-smi)` : 'no GPU (nvidia-smi absent or found none)'}; CUDA 11.2 runtime ${libs.includes('libcudart.so.11.0') ? 'found' : 'not found'}, cuDNN 8 ${libs.includes('libcudnn.so.8') ? 'found' : 'not found'}`;
}

async function main(): Promise<void> {
  line('machine', `${hardwareDescription()}; Node ${process.version}; ${os.platform()} ${os.arch()}`);

  const gpu = installed('@tensorflow/tfjs-node-gpu');
  const node = installed('@tensorflow/tfjs-node');
  line(
    'tfjs-node-gpu',
    gpu
      ? `installed (${cudaLibraries()})`
      : 'not installed (optional; its install downloads libtensorflow, which fails without internet)',
  );
  line('tfjs-node', node ? 'installed' : 'not installed (optional, same reason)');
  const native = nativeStatus();
  // oneDNN has its own line: the detail would say it twice
  line(
    'native kernels',
    native.available
      ? `on: OpenBLAS ${native.library}, ${native.threads} thread${native.threads === 1 ? '' : 's'}`
      : `off: ${native.reason}`,
  );
  if (!native.available)
    line(
      '',
      'fix: bash tools/install-deps.sh (OpenBLAS) then node tools/build-native.js; without them training is ~2-4x slower',
    );
  if (native.available)
    line(
      'oneDNN conv + BN',
      native.dnnl
        ? `on: ${native.dnnl}`
        : `off: ${native.dnnlReason}; fix: bash tools/install-deps.sh then node tools/build-native.js`,
    );
  const picked = await initBackend('auto');
  line('backend (auto)', `${picked.name}: ${picked.detail}`);
  if (picked.name !== 'tensorflow') line('', 'tensorflow not picked: neither tfjs-node-gpu nor tfjs-node loads here');
  if (picked.name === 'cpu') line('', 'WARNING: the plain JavaScript backend trains ~100x slower than wasm');

  try {
    const test = loadFashionMnist('test');
    const where = [process.env.REPRO_DATA_DIR, DEBIAN_FASHION_MNIST_DIR, USER_CACHE_FASHION_MNIST_DIR].find(
      (d) => d && fs.existsSync(d),
    );
    line('Fashion-MNIST', `found (${test.size} test images) in ${where ?? 'the default location'}`);
  } catch (err) {
    line(
      'Fashion-MNIST',
      `not found: ${(err as Error).message.split('\n')[0]} (bash tools/install-deps.sh installs it)`,
    );
  }
  line(
    'paper data',
    process.env.REPRO_DATA_DIR
      ? `REPRO_DATA_DIR=${process.env.REPRO_DATA_DIR}`
      : 'REPRO_DATA_DIR not set: paper scales need --data-dir (CIFAR-10, ImageNet)',
  );

  const results = path.join(ROOT, 'results', 'runs');
  for (const pkg of fs.readdirSync(path.join(ROOT, 'packages')).sort()) {
    const wallFile = path.join(results, pkg, 'reproduce-cpu.json');
    if (!fs.existsSync(wallFile)) continue;
    const wall = JSON.parse(fs.readFileSync(wallFile, 'utf8')) as {
      wallSeconds: number;
      runs: number;
      parallel: number;
      commit: string;
    };
    const recs = readRunRecords(results, pkg).filter((r) => r.scale === 'cpu');
    const hw = [...new Set(recs.map((r) => r.hardware ?? 'unknown hardware'))].join('; ');
    const kernels = [...new Set(recs.map((r) => r.backend.detail))].join('; ');
    const nativeThen = kernels.includes('native');
    const same =
      hw === hardwareDescription()
        ? ' (the same kind of machine as this one: expect about that)'
        : ' (another machine: scale by its speed)';
    const caveat =
      (nativeThen && !native.available
        ? ' (that run used the native kernels, which are off here: expect it slower)'
        : '') + same;
    line(
      `${pkg} cpu`,
      `reproduce took ${formatDuration(wall.wallSeconds)} for ${wall.runs} runs, ${wall.parallel} at a time, on ${hw} at ${wall.commit} [${kernels}]${caveat}`,
    );
  }
}

main().catch((err) => {
  process.stderr.write(`doctor: ${(err as Error).message}\n`);
  process.exit(1);
});
