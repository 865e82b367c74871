#!/usr/bin/env node
/*
 * Builds and packs the shared packages (runtime, datasets, core-metrics, models, experiments) into npm
 * tarballs that install outside this monorepo: `npm run pack -- [dir] [--only name,name]`.
 *
 * - dir: where the tarballs go (default .cache/packs/ at the repository root, git-ignored); a relative
 *   dir is taken from the folder npm was run in.
 * - --only: pack only these packages (the packages they depend on are still built, not packed).
 *
 * Each package is built from a clean dist/ with its tsconfig.build.json, its @repro imports resolved
 * to the sibling folders of this checkout (a temporary tsconfig outside the tree maps them), so a
 * tarball never carries a stale file nor types from another checkout. Nothing else in the source
 * tree is written: only packages/<name>/dist/ and the destination. Prints one tarball path per line.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
/** In build order: every package after the packages it depends on. */
const SHARED = ['runtime', 'datasets', 'core-metrics', 'models', 'experiments'];

function fail(msg) {
  process.stderr.write(`pack: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  let dest;
  let only;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') {
      if (i + 1 >= argv.length) fail('--only needs a comma-separated list of packages');
      only = argv[++i];
    } else if (a.startsWith('--only=')) only = a.slice('--only='.length);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`usage: node tools/pack.js [dir] [--only ${SHARED.join(',')}]\n`);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option '${a}'`);
    else if (dest === undefined) dest = a;
    else fail(`one destination folder expected, got '${dest}' and '${a}'`);
  }
  const names = only === undefined ? SHARED : only.split(',').filter(Boolean);
  const unknown = names.filter((n) => !SHARED.includes(n));
  if (unknown.length > 0 || names.length === 0)
    fail(`--only: unknown package '${unknown.join(', ')}'; valid: ${SHARED.join(', ')}`);
  // `npm run pack -- dir` runs in the root: a relative dir is meant from where the user typed it
  const base = process.env.INIT_CWD ?? process.cwd();
  return { dest: dest === undefined ? path.join(root, '.cache', 'packs') : path.resolve(base, dest), names };
}

function manifest(name) {
  return JSON.parse(fs.readFileSync(path.join(root, 'packages', name, 'package.json'), 'utf8'));
}

/** The requested packages and every shared package they depend on, in build order. */
function buildSet(names) {
  const need = new Set();
  const visit = (n) => {
    if (need.has(n)) return;
    need.add(n);
    const deps = Object.keys(manifest(n).dependencies ?? {});
    for (const d of deps) if (d.startsWith('@repro/')) visit(d.slice('@repro/'.length));
  };
  names.forEach(visit);
  const outside = [...need].filter((n) => !SHARED.includes(n));
  if (outside.length > 0) fail(`a shared package depends on a package that is not shared: ${outside.join(', ')}`);
  return SHARED.filter((n) => need.has(n));
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status}:\n${`${r.stdout}${r.stderr}`.trim()}`);
  return r.stdout;
}

function build(name, tmp) {
  const dir = path.join(root, 'packages', name);
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  const config = path.join(tmp, `tsconfig.${name}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(dir, 'tsconfig.build.json'),
      compilerOptions: {
        paths: { '@repro/*': [path.join(root, 'packages', '*')] },
        typeRoots: [path.join(root, 'node_modules', '@types')],
      },
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const t0 = Date.now();
  run(process.execPath, [tsc, '-p', config], { cwd: dir });
  process.stderr.write(`pack: built @repro/${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

function pack(name, dest) {
  const dir = path.join(root, 'packages', name);
  const out = run('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: dir,
    shell: process.platform === 'win32',
  });
  // npm prints lifecycle output before the JSON when a package has pack scripts; the JSON is last
  const json = JSON.parse(out.slice(out.indexOf('[')));
  return path.join(dest, json[0].filename);
}

function main() {
  const { dest, names } = parseArgs(process.argv.slice(2));
  fs.mkdirSync(dest, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-pack-'));
  try {
    for (const n of buildSet(names)) build(n, tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  for (const n of names) process.stdout.write(`${pack(n, dest)}\n`);
}

main();
