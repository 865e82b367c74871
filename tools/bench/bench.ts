/**
 * Benchmarks of the reference workloads (tools/bench/WORKLOADS.md) beside the peers, PyTorch
 * and R energy, run in the same invocation so that the ratio is meaningful on a shared machine.
 *
 *   npx nx run tools:bench                      # all workloads, peers if installed, results/bench.csv
 *   npx nx run tools:bench -- --only W3,W4      # a subset (the CSV keeps the other workloads' rows)
 *   npx tsx tools/bench/bench.ts --quick --out /tmp/b.csv   # tiny sizes, no peers (the test)
 *
 * speed ratio = our throughput / the peer's throughput: > 1 means ours is faster. Both sides use the
 * machine's two cores: the peer through PyTorch's 2 threads, ours through the native kernels
 * (oneDNN, the C loops and split OpenBLAS products on OpenMP threads; packages/runtime/README.md). Rounds
 * (--rounds, default 3) alternate ours and the peers; medians are reported with the per-round range.
 * Where the native kernels are active, W1 and W2 also run with them switched off (rows
 * `repro-wasm-train` / `repro-wasm-infer`): the pure WebAssembly figures of a machine without
 * OpenBLAS and oneDNN, against the same peer rounds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { initBackend, nativeStatus, parseBackendPreference, writeFileAtomic } from '@repro/runtime';
import { gitCommit } from '@repro/experiments';
import { Measurement, median, w3, w4, w7 } from './workloads';
import { W1_STEPS, W2_STEPS, w1, w2 } from './train-workloads';
import { w5, w6 } from './pdc-workloads';
import { w8a, w8b } from './dt-workloads';

const ROOT = path.resolve(__dirname, '..', '..');

type PeerResult = Measurement;

function runPeer(cmd: string, args: string[], label: string): PeerResult[] | string {
  if (!fs.existsSync(cmd) && !cmd.includes('/')) return `${label}: ${cmd} not found`;
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 3_600_000 });
  if (r.error) return `${label}: ${r.error.message}`;
  if (r.status !== 0) return `${label}: exit ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => {
      const o = JSON.parse(l) as { workload: string; impl: string; seconds: number; per_second: number; unit: string };
      return { workload: o.workload, impl: o.impl, seconds: o.seconds, perSecond: o.per_second, unit: o.unit };
    });
}

/** The peer's throughput in our unit: images/s for W1/W2 (batch 64), calls or matrices per second otherwise. */
function peerPerSecond(m: Measurement, peerSeconds: number): number {
  return (m.perSecond * m.seconds) / peerSeconds;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('Reference workloads W1-W8 beside PyTorch and R energy, in one run')
    .option('--only <list>', 'comma-separated workloads', 'W1,W2,W3,W4,W5,W6,W7,W8')
    .option('--quick', 'tiny sizes and no peers (for tests)', false)
    .option('--no-peers', 'do not run the peer scripts')
    .option('--threads <n>', 'threads for the PyTorch peer', '2')
    .option('--rounds <n>', 'alternate ours and the peers this many times; medians are reported', '3')
    .option('--out <file>', 'CSV to write', path.join(ROOT, 'results', 'bench.csv'))
    .option('--backend <name>', 'auto | tensorflow | wasm | cpu (or REPRO_BACKEND)')
    .parse();
  const o = program.opts<{
    only: string;
    quick: boolean;
    peers: boolean;
    threads: string;
    rounds: string;
    out: string;
    backend?: string;
  }>();
  const only = new Set(o.only.split(',').map((s) => s.trim().toUpperCase()));
  for (const w of only)
    if (!['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8'].includes(w))
      throw new Error(`--only: unknown workload '${w}'; available: W1, W2, W3, W4, W5, W6, W7, W8`);
  const backend = await initBackend(parseBackendPreference(o.backend));
  process.stderr.write(`[bench] backend ${backend.name} (${backend.detail}), tfjs ${backend.tfjsVersion}\n`);
  const nativeOff = backend.name === 'wasm' && backend.native?.startsWith('off') ? backend.native : undefined;

  const rounds = o.quick ? 1 : Number(o.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: '${o.rounds}' is not a positive integer`);
  const runOurs = (): Measurement[] => {
    const out: Measurement[] = [];
    if (only.has('W1')) {
      process.stderr.write('[bench] W1\n');
      out.push(...w1(o.quick ? 1 : W1_STEPS, !o.quick));
    }
    if (only.has('W2')) {
      process.stderr.write('[bench] W2\n');
      out.push(...w2(o.quick ? 1 : W2_STEPS, !o.quick));
    }
    if (only.has('W3')) {
      for (const n of o.quick ? [200] : [1000, 2000, 4000]) {
        process.stderr.write(`[bench] W3 n=${n}\n`);
        out.push(w3(n, o.quick ? 1 : 3));
      }
    }
    if (only.has('W4')) {
      process.stderr.write('[bench] W4\n');
      out.push(o.quick ? w4(128, [256, 128, 64]) : w4());
    }
    if (only.has('W5')) {
      process.stderr.write('[bench] W5\n');
      out.push(w5(o.quick ? 1 : 5));
    }
    if (only.has('W6')) {
      process.stderr.write('[bench] W6\n');
      out.push(o.quick ? w6(1, 2) : w6());
    }
    if (only.has('W7')) {
      process.stderr.write('[bench] W7\n');
      out.push(...(o.quick ? w7(64, 4) : w7()));
    }
    if (only.has('W8')) {
      process.stderr.write('[bench] W8\n');
      out.push(o.quick ? w8a(1, 16, 8, 8) : w8a(), o.quick ? w8b(1, 200, 8, 16) : w8b());
    }
    return out;
  };
  const notes = new Set<string>();
  const runPeers = (): PeerResult[] => {
    if (!o.peers || o.quick) return [];
    const out: PeerResult[] = [];
    const torchScript = path.join(__dirname, 'peers', 'peer_torch.py');
    const rScript = path.join(__dirname, 'peers', 'peer_energy.R');
    process.stderr.write('[bench] running peers (PyTorch, R energy)\n');
    const t = runPeer(
      '/usr/bin/python3',
      [
        torchScript,
        '--threads',
        o.threads,
        '--only',
        [...only].join(','),
        '--w1-steps',
        String(W1_STEPS),
        '--w2-steps',
        String(W2_STEPS),
      ],
      'PyTorch',
    );
    if (typeof t === 'string') notes.add(`${t} (apt-get install -y python3-torch libopenblas0-pthread)`);
    else out.push(...t);
    if (only.has('W3')) {
      const r = runPeer('/usr/bin/Rscript', [rScript], 'R energy');
      if (typeof r === 'string') notes.add(`${r} (apt-get install -y r-cran-energy)`);
      else out.push(...r);
    }
    return out;
  };
  // Rounds alternate ours and the peers, so that a slow spell of this shared machine hits both;
  // each figure is the median over rounds, and the per-round ratios give the spread.
  const ourRounds: Measurement[][] = [];
  const peerRounds: PeerResult[][] = [];
  for (let r = 0; r < rounds; r++) {
    if (rounds > 1) process.stderr.write(`[bench] round ${r + 1} of ${rounds}\n`);
    ourRounds.push(runOurs());
    peerRounds.push(runPeers());
  }

  const commit = gitCommit(ROOT);
  const date = new Date().toISOString();
  const rows: Record<string, string | number>[] = [];
  const kind = (impl: string) => /-(train|infer|attack)$/.exec(impl)?.[1] ?? ''; // train ↔ train, infer ↔ infer, attack ↔ attack
  const sig = (x: number) => +x.toPrecision(5);
  for (const m of ourRounds[0]) {
    const mine = ourRounds.map((rs) => rs.find((x) => x.workload === m.workload && x.impl === m.impl)!.seconds);
    const peerImpls = [
      ...new Set(
        peerRounds
          .flat()
          .filter((p) => p.workload === m.workload && kind(p.impl) === kind(m.impl))
          .map((p) => p.impl),
      ),
    ];
    for (const peerImpl of peerImpls.length ? peerImpls : [undefined]) {
      const theirs =
        peerImpl === undefined
          ? []
          : peerRounds.map((rs) => rs.find((p) => p.workload === m.workload && p.impl === peerImpl)?.seconds);
      const ratios = theirs.flatMap((t, i) => (t === undefined ? [] : [t / mine[i]]));
      const peerSeconds = theirs.filter((t): t is number => t !== undefined);
      const ours = median(mine);
      const peer = peerSeconds.length ? median(peerSeconds) : undefined;
      rows.push({
        workload: m.workload,
        impl: m.impl,
        seconds: sig(ours),
        per_second: sig(m.perSecond * (m.seconds / ours)),
        unit: m.unit,
        peer_impl: peerImpl ?? '',
        peer_seconds: peer === undefined ? '' : sig(peer),
        peer_per_second: peer === undefined ? '' : sig(peerPerSecond(m, peer)),
        speed_ratio: peer === undefined ? '' : +(peer / ours).toPrecision(3),
        backend: m.backend ?? `${backend.name} (${backend.detail})`,
        commit,
        date,
        ratio_min: ratios.length ? +Math.min(...ratios).toPrecision(3) : '',
        ratio_max: ratios.length ? +Math.max(...ratios).toPrecision(3) : '',
        rounds,
      });
    }
  }
  const header = ['workload', 'ours', 'ours (s)', 'peer', 'peer (s)', 'speed ratio ours/peer', 'per-round range'];
  const lines = rows.map((r) =>
    [
      r.workload,
      r.impl,
      r.seconds,
      r.peer_impl || '-',
      r.peer_seconds === '' ? '-' : r.peer_seconds,
      r.speed_ratio === '' ? '-' : r.speed_ratio,
      r.ratio_min === '' ? '-' : `${r.ratio_min}-${r.ratio_max}`,
    ].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  for (const n of notes) console.log(`note: ${n}`);
  if (nativeOff)
    console.log(
      `note: native kernels ${nativeOff}; these are the pure WebAssembly figures (bash tools/install-deps.sh, then npm install)`,
    );
  const dnnl = nativeStatus();
  if (backend.name === 'wasm' && dnnl.available && !dnnl.dnnl)
    console.log(
      `note: oneDNN is off (${dnnl.dnnlReason}); convolutions ran as im2col + OpenBLAS sgemm (bash tools/install-deps.sh, then npm install)`,
    );
  if (!o.quick) {
    // wall times of the paper packages' reproductions (written by each `reproduce`)
    const runsDir = path.join(ROOT, 'results', 'runs');
    const walls = fs.existsSync(runsDir)
      ? fs
          .readdirSync(runsDir)
          .flatMap((pkg) => ['cpu', 'paper'].map((scale) => path.join(runsDir, pkg, `reproduce-${scale}.json`)))
          .filter((f) => fs.existsSync(f))
      : [];
    for (const f of walls) {
      const w = JSON.parse(fs.readFileSync(f, 'utf8')) as {
        package: string;
        scale: string;
        runs: number;
        parallel: number;
        wallSeconds: number;
        commit: string;
      };
      console.log(
        `reproduce ${w.package} --scale ${w.scale}: ${w.runs} runs, ${w.parallel} at a time, ${w.wallSeconds} s wall (commit ${w.commit})`,
      );
      rows.push({
        workload: `reproduce ${w.package} ${w.scale}`,
        impl: `repro-reproduce-${w.parallel}procs`,
        seconds: w.wallSeconds,
        per_second: +(w.runs / w.wallSeconds).toPrecision(5),
        unit: 'runs/s',
        peer_impl: '',
        peer_seconds: '',
        peer_per_second: '',
        speed_ratio: '',
        backend: `${backend.name} (${backend.detail})`,
        commit: w.commit,
        date,
        ratio_min: '',
        ratio_max: '',
        rounds: '',
      });
    }
    if (walls.length === 0) console.log('reproduce wall times: none recorded yet (run npx nx run <package>:reproduce)');
  }
  // a subset (--only) keeps the other workloads' rows of an existing file, each with its own commit and date
  if (!o.quick && fs.existsSync(o.out)) {
    const kept = parse<Record<string, string>>(fs.readFileSync(o.out, 'utf8'), { columns: true }).filter((r) => {
      const id = /^(W\d+)/.exec(r.workload)?.[1];
      return id !== undefined && !only.has(id);
    });
    if (kept.length) process.stderr.write(`[bench] kept ${kept.length} rows of other workloads from ${o.out}\n`);
    rows.unshift(...kept);
  }
  writeFileAtomic(o.out, stringify(rows, { header: true }));
  process.stderr.write(`[bench] wrote ${o.out}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
