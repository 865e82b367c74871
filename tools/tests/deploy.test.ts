/**
 * The cluster templates in deploy/: the Slurm script passes `bash -n`, the Kubernetes manifest parses
 * as an Indexed Job whose completions match its --shard count, and every flag the templates and the
 * README use is one the CLI accepts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (f: string) => fs.readFileSync(path.join(DEPLOY, f), 'utf8');

function help(sub: string): string {
  const r = spawnSync('npx', ['tsx', path.join(ROOT, 'packages', 'pnn-perturb', 'src', 'cli.ts'), sub, '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  return r.stdout;
}

it('the Slurm array script is valid bash and shards by SLURM_ARRAY_TASK_ID', () => {
  const r = spawnSync('bash', ['-n', path.join(DEPLOY, 'slurm', 'reproduce.sbatch')], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const script = read('slurm/reproduce.sbatch');
  expect(script).toMatch(/^#SBATCH --gres=gpu:1$/m);
  expect(script).toMatch(/reproduce --scale "\$SCALE" --shard "\$SHARDS" --data-dir "\$DATA" --out "\$OUT"/);
});

it('the Kubernetes manifest is an Indexed Job: completions = shards, data read-only, a GPU per pod', () => {
  const job = parse(read('kubernetes/reproduce-job.yaml')) as {
    kind: string;
    spec: {
      completionMode: string;
      completions: number;
      template: {
        spec: {
          containers: Array<{
            command: string[];
            args: string[];
            resources: { limits: Record<string, unknown> };
            volumeMounts: Array<{ name: string; readOnly?: boolean }>;
          }>;
        };
      };
    };
  };
  expect(job.kind).toBe('Job');
  expect(job.spec.completionMode).toBe('Indexed');
  const c = job.spec.template.spec.containers[0];
  expect(c.command.slice(-2)).toEqual(['--', 'reproduce']);
  expect(Number(c.args[c.args.indexOf('--shard') + 1])).toBe(job.spec.completions);
  expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
  expect(c.volumeMounts.find((v) => v.name === 'data')!.readOnly).toBe(true);
});

it('every flag in the templates and deploy/README.md is one the CLI has', () => {
  const reproduce = help('reproduce');
  const table = help('table');
  const train = help('train');
  const texts = [read('README.md'), read('slurm/reproduce.sbatch'), read('kubernetes/reproduce-job.yaml')];
  const used = new Set(texts.flatMap((t) => [...t.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((m) => `--${m[1]}`)));
  const sbatch = ['--array', '--gres', '--job-name', '--output', '--time', '--cpus-per-task', '--mem'];
  const unknown = [...used].filter((f) => !sbatch.includes(f) && ![reproduce, table, train].some((h) => h.includes(f)));
  expect(unknown).toEqual([]);
  expect(reproduce).toContain('--shard');
  expect(reproduce).toContain('--list');
  expect(table).toContain('--records');
});
