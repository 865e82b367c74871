/** Seeded randomness, atomic writes and the progress reporter. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Progress, Rng, formatDuration, parseBackendPreference, writeFileAtomic, writeJsonAtomic } from '../src';

describe('Rng', () => {
  it('is reproducible per seed and forks independent named streams', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
    // a fork depends on the seed and the name, not on how much the parent was used
    const p = new Rng(7);
    const f1 = p.fork('shuffle').next();
    p.next();
    p.next();
    expect(p.fork('shuffle').next()).toBe(f1);
    expect(p.fork('augment').next()).not.toBe(f1);
  });

  it('permutations are permutations; normals have mean 0 and variance 1', () => {
    const perm = Array.from(new Rng(3).permutation(1000)).sort((x, y) => x - y);
    expect(perm).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const r = new Rng(5);
    const xs = Array.from({ length: 20000 }, () => r.normal());
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
    expect(() => new Rng(1.5)).toThrow(/seed must be an integer/);
  });
});

describe('writeFileAtomic', () => {
  it('writes through a temporary file and leaves nothing else behind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-atomic-'));
    const target = path.join(dir, 'sub', 'out.json');
    writeJsonAtomic(target, { a: 1 });
    writeFileAtomic(target, 'second');
    expect(fs.readFileSync(target, 'utf8')).toBe('second');
    expect(fs.readdirSync(path.dirname(target))).toEqual(['out.json']);
  });
});

describe('Progress', () => {
  const sink = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s), isTTY: false } };
  };

  it('writes one line per epoch when not interactive (CI, pipes)', () => {
    const { out, stream } = sink();
    const p = new Progress({ label: 'run', epochs: 2, stepsPerEpoch: 3, stream, interactive: false });
    for (let e = 0; e < 2; e++) {
      for (let s = 0; s < 3; s++) p.step(e, s, 1.5);
      p.endEpoch(e, { loss: 1.25, acc: 0.5 });
    }
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^run epoch 1\/2 loss 1\.2500 acc 0\.5000 \(.*s, ETA .*\)\n$/);
  });

  it('redraws a status line with step, loss, rate and ETA on a terminal', () => {
    const { out, stream } = sink();
    const p = new Progress({ label: 'run', epochs: 1, stepsPerEpoch: 2, itemsPerStep: 64, stream, interactive: true });
    p.step(0, 0, 2.0);
    p.step(0, 1, 1.0);
    expect(out.some((l) => /^\rrun epoch 1\/1 step 2\/2 loss 1\.0000 [0-9.]+\/s ETA /.test(l))).toBe(true);
  });

  it('after a resume the ETA counts only the steps of this process (one epoch of 10 s left: about 10 s)', () => {
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const { out, stream } = sink();
      const p = new Progress({ label: 'run', epochs: 4, stepsPerEpoch: 10, stream, interactive: false });
      // resumed after epoch 2: epoch 3 (index 2) runs here at 1 s per step
      for (let s = 0; s < 10; s++) {
        now += 1000;
        p.step(2, s, 1);
      }
      p.endEpoch(2, { loss: 1 });
      expect(out[0]).toMatch(/ETA 10s\)\n$/);
    } finally {
      clock.mockRestore();
    }
  });

  it('formats durations and parses backend names', () => {
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(65)).toBe('1m05s');
    expect(parseBackendPreference('wasm')).toBe('wasm');
    expect(parseBackendPreference(undefined)).toBeUndefined();
    expect(() => parseBackendPreference('gpu', 'REPRO_BACKEND')).toThrow(
      /REPRO_BACKEND: unknown backend 'gpu'; valid: auto, tensorflow, wasm, cpu/,
    );
  });
});
