// The packaging proof (`npm run test:packaging`): packs the library, installs the tarball into a
// NestJS 11 CommonJS app and a NestJS 12 ESM app made in a temp folder, type-checks and runs them
// against a real Consul. Kept out of `npm test` because it needs the npm registry (or a warm npm
// cache) and takes about a minute; CI runs it as its own step.
const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: path.resolve(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/packaging'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 1,
};
