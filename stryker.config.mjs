/**
 * Mutation testing of the money and security core (docs/testing.md): `npm run test:mutation`.
 * Not part of `npm test`. The pure unit specs run through jest.mutation.config.js (no emulators);
 * Jest runs ESM, so Stryker's test-runner processes get `--experimental-vm-modules`.
 * Incremental: the result of the last run is kept in reports/stryker-incremental.json (git-ignored, see docs/testing.md),
 * so a run after a small change only tests the mutants of what changed.
 */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // Accuracy: with grouping on, a whole group of mutants is reported CompileError when one of them fails.
  typescriptChecker: { prioritizePerformanceOverAccuracy: false },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  mutate: [
    // entitlements, ledger, access summary, lifecycle windows
    'src/entitlements/entitlement.ts',
    'src/entitlements/ledger-plan.ts',
    'src/lifecycle/lifecycle-events.ts',
    // signature and token checks
    'src/common/security/hmac.ts',
    'src/webhooks/purchasely/purchasely.signature.ts',
    'src/webhooks/easycart/easycart.signature.ts',
    'src/webhooks/getcourse/getcourse.token.ts',
    'src/common/security/jwt/jwt-verifier.ts',
    'src/marketplace/signup/link-token.ts',
    // admin roles, approval claims
    'src/admin/auth/roles.ts',
    'src/admin/auth/access-list.ts',
    'src/marketplace/signup/signup-claims.ts',
    'src/marketplace/approval-policy.ts',
  ],
};
