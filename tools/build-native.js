#!/usr/bin/env node
/*
 * Builds the optional native addon (packages/runtime/native: OpenBLAS products and convolutions on the
 * WebAssembly heap). Run by `npm install` (postinstall) and by hand: `node tools/build-native.js`.
 * Needs a C compiler and Node's headers; never fails the install: without the addon the pure wasm
 * kernels are used. REPRO_NATIVE=0 skips it; REPRO_NATIVE_REQUIRED=1 makes a failed build an error.
 * OpenBLAS itself is loaded at run time (Debian: apt-get install libopenblas0-pthread).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'packages', 'runtime', 'native');
const required = process.env.REPRO_NATIVE_REQUIRED === '1';

function done(ok, msg) {
  process.stderr.write(`[build-native] ${msg}\n`);
  process.exit(ok || !required ? 0 : 1);
}

if (['0', 'false', 'off'].includes(process.env.REPRO_NATIVE ?? '')) done(true, 'skipped (REPRO_NATIVE=0)');

function findNodeGyp() {
  const candidates = [
    path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((c) => fs.existsSync(c));
}

// Node's own headers, so that node-gyp does not try to download them
function findNodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'include', 'node', 'node_api.h'))) return fromEnv;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

const gyp = findNodeGyp();
if (!gyp)
  done(false, 'not built: node-gyp not found (npm install it as a dev dependency); the pure wasm kernels will be used');
const nodedir = findNodeDir();
if (!nodedir)
  done(false, "not built: Node's headers (include/node/node_api.h) not found; the pure wasm kernels will be used");
const t0 = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: dir,
  encoding: 'utf8',
});
if (r.status !== 0) {
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
  const errors = lines.filter((l) => /error:/.test(l)).slice(0, 5);
  const tail = [...errors, ...lines.slice(-4)].join('\n  ');
  done(false, `not built (node-gyp exit ${r.status}); the pure wasm kernels will be used:\n  ${tail}`);
}
done(
  true,
  `built packages/runtime/native/build/Release/repro_native.node in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
