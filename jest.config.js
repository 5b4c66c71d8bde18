/**
 * Nest 12 and the Google clients are ESM, so Jest runs in its native ESM mode
 * (`--experimental-vm-modules`, set by `npm test`) with ts-jest emitting ESM.
 * Unit specs sit beside the code (`src/**\/*.spec.ts`); integration and end-to-end
 * specs live in `test/` and run against the emulators that `globalSetup` starts; the client package
 * (`client/`) keeps its unit specs in `client/src` and its emulator specs in `client/test`.
 */
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/tools', '<rootDir>/client'],
  testMatch: ['**/*.spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};
