/**
 * Kill and resume, for real: a training process is killed with SIGKILL after its first checkpoint
 * (mid-run), restarted with --resume, and must end with exactly the metrics of an uninterrupted run
 * on the same backend and seed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';

const SCRIPT = path.join(__dirname, 'fixtures', 'train-tiny.ts');
const ROOT = path.join(__dirname, '..', '..', '..');

function runToEnd(out: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('npx', ['tsx', SCRIPT, out, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { status: r.status, stderr: r.stderr };
}

function readFinal(out: string): { history: Array<Record<string, number>>; resumedEpochs: number } {
  return JSON.parse(fs.readFileSync(path.join(out, 'final.json'), 'utf8')) as {
    history: Array<Record<string, number>>;
    resumedEpochs: number;
  };
}

// Adam failed before the optimizer saved its bias-correction powers β₁ᵗ, β₂ᵗ (tfjs recomputes them on
// restore with a float32 pow, not the step-by-step product): epochs after the kill differed.
it.each([
  ['sgd-nesterov', []],
  ['adam', ['--adam']],
])(
  '%s: a run killed after a checkpoint resumes and ends with the metrics of an uninterrupted run',
  async (_name, opt) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-resume-'));
    const plain = path.join(base, 'plain');
    const a = runToEnd(plain, opt);
    expect(a.stderr).not.toMatch(/train-tiny:/);
    expect(a.status).toBe(0);
    const ref = readFinal(plain);
    expect(ref.history.length).toBe(6);
    expect(ref.resumedEpochs).toBe(0);

    const killed = path.join(base, 'killed');
    const child = spawn('npx', ['tsx', SCRIPT, killed, ...opt], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      detached: true,
      stdio: 'ignore',
    });
    const index = path.join(killed, 'checkpoint', 'checkpoint.json');
    const deadline = Date.now() + 120_000;
    while (!fs.existsSync(index) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(index)).toBe(true);
    process.kill(-child.pid!, 'SIGKILL'); // the whole process group (npx → node)
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.existsSync(path.join(killed, 'final.json'))).toBe(false);
    const epochAtKill = (JSON.parse(fs.readFileSync(index, 'utf8')) as { epoch: number }).epoch;
    expect(epochAtKill).toBeLessThan(6);

    const b = runToEnd(killed, ['--resume', ...opt]);
    expect(b.status).toBe(0);
    expect(b.stderr).toMatch(/resumed from .* after epoch \d/);
    const resumed = readFinal(killed);
    expect(resumed.resumedEpochs).toBeGreaterThanOrEqual(1);
    expect(resumed.history).toEqual(ref.history);
  },
  300_000,
);
