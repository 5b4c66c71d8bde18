/**
 * Mutation testing of the money and security core (docs/testing.md): `npm run test:mutation`.
 * Not part of `npm test`. The pure unit specs run through jest.mutation.config.js (no emulators);
 * Jest runs ESM, so Stryker's test-runner processes get `--experimental-vm-modules`.
 * Incremental: the result of the last run is kept in reports/stryker-incremental.json (git-ignored, see docs/testing.md),
 * so a run after a small change only tests the mutants of what changed.
 */
import ts from 'typescript';

const TSCONFIG = 'tsconfig.mutation.json';

const mutate = [
  // entitlements, ledger and the access summary (`planApply`'s access map), lifecycle windows
  'src/entitlements/entitlement.ts',
  'src/entitlements/ledger-plan.ts',
  'src/lifecycle/lifecycle-events.ts',
  // decisions left to an admin too long (the "Decisions overdue" alert)
  'src/lifecycle/overdue-decisions.ts',
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
];

// The checker's project holds only these modules and their specs: a module missing there would never be type-checked.
const { config: checkerProject, error } = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
if (error) throw new Error(`${TSCONFIG}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
const missing = mutate.filter((file) => !checkerProject.include.includes(file));
if (missing.length) throw new Error(`${TSCONFIG} does not include ${missing.join(', ')} (add it and its *.spec.ts)`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // findRelatedTests: a mutant runs only the spec files that import its module (directly or not), not all of them;
  // loading every spec file's module graph again for each mutant was most of the 12 s a mutant took.
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: true },
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  checkers: ['typescript'],
  tsconfigFile: TSCONFIG,
  // Accuracy: with grouping on, a whole group of mutants is reported CompileError when one of them fails.
  typescriptChecker: { prioritizePerformanceOverAccuracy: false },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  mutate,
};
