// Shared jest configuration: every package's jest.config.js spreads this.
// Tests run the TypeScript sources (not dist/) through ts-jest in transpile-only mode
// (isolatedModules); type checking is the job of each package's `build` target.
const path = require('path');
const root = __dirname;

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(root, 'tsconfig.base.json') }],
  },
  moduleNameMapper: {
    '^@repro/([a-z0-9-]+)$': path.join(root, 'packages/$1/src/index.ts'),
  },
  testMatch: ['**/tests/**/*.test.ts'],
  testTimeout: 120000,
  // one native thread per test process (see the file)
  setupFiles: [path.join(root, 'tools/jest-setup-env.js')],
  // Jest runs each file in a vm context whose global object is a Proxy: every read of a global
  // (Math.imul in a random-number loop, Float32Array, Number.isFinite) goes through an interceptor,
  // about 350 ns each against 2 ns outside Jest (nodejs/node#31658, jestjs/jest#5163). Passing these
  // globals to every module's wrapper function makes them plain local reads again.
  sandboxInjectedGlobals: [
    'Math',
    'Number',
    'Array',
    'Object',
    'String',
    'Boolean',
    'Symbol',
    'JSON',
    'Date',
    'Error',
    'TypeError',
    'RangeError',
    'Map',
    'Set',
    'WeakMap',
    'Promise',
    'Float32Array',
    'Float64Array',
    'Int32Array',
    'Uint8Array',
    'Uint32Array',
    'Int16Array',
    'Uint16Array',
    'Int8Array',
    'Uint8ClampedArray',
    'ArrayBuffer',
    'DataView',
    'Buffer',
    'isFinite',
    'isNaN',
    'parseInt',
    'parseFloat',
  ],
};
