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
};
