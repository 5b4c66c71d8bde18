/**
 * The pure unit specs of the money and security core, without the emulators (no globalSetup):
 * what Stryker runs against each mutant (`npm run test:mutation`, stryker.config.mjs, docs/testing.md).
 */
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  testEnvironment: base.testEnvironment,
  extensionsToTreatAsEsm: base.extensionsToTreatAsEsm,
  moduleNameMapper: base.moduleNameMapper,
  transform: base.transform,
  roots: ['<rootDir>/src'],
  testMatch: [
    '<rootDir>/src/entitlements/**/*.spec.ts',
    '<rootDir>/src/common/security/**/*.spec.ts',
    '<rootDir>/src/admin/auth/**/*.spec.ts',
    '<rootDir>/src/marketplace/**/*.spec.ts',
    '<rootDir>/src/webhooks/**/*.spec.ts',
    '<rootDir>/src/lifecycle/**/*.spec.ts',
  ],
  testTimeout: 20_000,
};
