// Lint: typescript-eslint's recommended rules plus the type-aware ones this codebase relies on
// (no floating or misused promises, exhaustive switches), and an import boundary: only the
// infrastructure adapters touch the Google SDKs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'client/dist/**',
      'coverage/**',
      'node_modules/**',
      '**/*.mjs',
      '**/*.cjs',
      'jest.config.js',
      'jest.mutation.config.js',
      '.stryker-tmp/**',
      'reports/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: [
      'src/infrastructure/**',
      'src/marketplace/procurement/**',
      'src/marketplace/pubsub/pull-consumer.ts',
      'src/usage/service-control.client.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@google-cloud/firestore', message: 'Only src/infrastructure/firestore talks to Firestore.' },
            {
              name: 'googleapis',
              message: 'Use @googleapis/cloudcommerceprocurement, in src/marketplace/procurement only.',
            },
            {
              name: '@googleapis/cloudcommerceprocurement',
              message: 'Only src/marketplace/procurement uses the generated client.',
            },
            {
              name: '@googleapis/servicecontrol',
              message: 'Only src/usage/service-control.client.ts uses the Service Control client (loaded lazily).',
            },
          ],
        },
      ],
    },
  },
);
