import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Fields Cloud Build accepts (cloud.google.com/build/docs/build-config-file-schema). */
const BUILD_FIELDS = new Set([
  'steps',
  'timeout',
  'queueTtl',
  'logsBucket',
  'options',
  'substitutions',
  'tags',
  'serviceAccount',
  'secrets',
  'availableSecrets',
  'artifacts',
  'images',
  'serviceAccount',
]);
const STEP_FIELDS = new Set([
  'name',
  'args',
  'env',
  'allowFailure',
  'allowExitCodes',
  'dir',
  'id',
  'waitFor',
  'entrypoint',
  'secretEnv',
  'volumes',
  'timeout',
  'script',
  'automapSubstitutions',
]);
const OPTION_FIELDS = new Set([
  'env',
  'secretEnv',
  'volumes',
  'sourceProvenanceHash',
  'machineType',
  'diskSizeGb',
  'substitutionOption',
  'dynamicSubstitutions',
  'automapSubstitutions',
  'logStreamingOption',
  'logging',
  'defaultLogsBucketBehavior',
  'pool',
  'requestedVerifyOption',
]);
const BUILT_IN = new Set([
  'PROJECT_ID',
  'PROJECT_NUMBER',
  'BUILD_ID',
  'LOCATION',
  'TRIGGER_NAME',
  'COMMIT_SHA',
  'SHORT_SHA',
  'REVISION_ID',
  'BRANCH_NAME',
  'TAG_NAME',
  'REPO_NAME',
  'REPO_FULL_NAME',
  'SERVICE_ACCOUNT_EMAIL',
  'SERVICE_ACCOUNT',
  'REF_NAME',
  'TRIGGER_BUILD_CONFIG_PATH',
]);

describe('cloudbuild.yaml', () => {
  const text = readFileSync('cloudbuild.yaml', 'utf8');
  const build = parse(text) as Record<string, unknown> & {
    steps: Record<string, unknown>[];
    substitutions: Record<string, string>;
    options: Record<string, unknown>;
  };

  it('should use only fields Cloud Build accepts', () => {
    expect(Object.keys(build).filter((k) => !BUILD_FIELDS.has(k))).toEqual([]);
    expect(Object.keys(build.options).filter((k) => !OPTION_FIELDS.has(k))).toEqual([]);
    for (const step of build.steps) {
      expect(Object.keys(step).filter((k) => !STEP_FIELDS.has(k))).toEqual([]);
      expect(typeof step.name).toBe('string');
      if (step.args) expect(Array.isArray(step.args)).toBe(true);
    }
  });

  it('should define every user substitution it uses, with names Cloud Build allows', () => {
    const used = new Set([...text.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((m) => m[1]!));
    for (const name of used) {
      if (name.startsWith('_')) expect({ name, defined: name in build.substitutions }).toEqual({ name, defined: true });
      else expect({ name, builtIn: BUILT_IN.has(name) }).toEqual({ name, builtIn: true });
    }
    for (const key of Object.keys(build.substitutions)) expect(key).toMatch(/^_[A-Z0-9_]+$/);
  });

  it('should install, render the service description, lint, test with the emulators, build, push and apply it', () => {
    expect(build.steps.map((s) => s.id)).toEqual(['install', 'render', 'lint', 'test', 'image', 'push', 'deploy']);
    const test = JSON.stringify(build.steps.find((s) => s.id === 'test'));
    expect(test).toContain('google-cloud-cli-firestore-emulator');
    expect(test).toContain('google-cloud-cli-pubsub-emulator');
    expect(test).toContain('npm test');
    const render = build.steps.find((s) => s.id === 'render')!.args as string[];
    expect(render.slice(0, 2)).toEqual(['scripts/deploy-config.mjs', 'render']);
    expect(render).toContain('--out=service.rendered.yaml');
    const image = '${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/${_SERVICE}:${BUILD_ID}';
    expect(render).toContain(`--image=${image}`);
    expect(build.images).toEqual([image]);
    // Everything about the service (env, secrets, probes, ingress) is in deploy/service.yaml, applied as a whole.
    const deploy = build.steps.find((s) => s.id === 'deploy')!;
    expect(deploy.args).toEqual(['run', 'services', 'replace', 'service.rendered.yaml', '--region=${_REGION}']);
    expect(text).not.toMatch(/--set-env-vars|--set-secrets|allow-unauthenticated/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  it('should be multi-stage on one Node 22 slim image, ship the bundle and its code cache only, non-root, started with node', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:22-slim$/m);
    expect(text.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
    const runtime = text.slice(text.lastIndexOf('FROM '));
    expect(runtime).not.toContain('node_modules');
    expect(text).toMatch(/^USER node$/m);
    const cmd = /^CMD (\[.*\])$/m.exec(text);
    const args = JSON.parse(cmd![1]!) as string[];
    expect(args[0]).toBe('node');
    expect(args.at(-1)).toBe('dist/service.cjs');
    expect(args.slice(1, -1)).toEqual([
      expect.stringMatching(/^--max-old-space-size=\d+$/),
      expect.stringMatching(/^--max-semi-space-size=\d+$/),
      expect.stringMatching(/^--heap-growing-percent=\d+$/),
    ]);
    // V8 takes the code cache only from a process with the same flags: the build step must use the CMD's.
    expect(text).toContain(`RUN npm run build && node ${args.slice(1).join(' ')} --write-code-cache`);
    // Few malloc arenas: the benchmarks read this line too (bench/lib/common.mjs, containerEnv).
    expect(runtime).toMatch(/^ENV NODE_ENV=production MALLOC_ARENA_MAX=2$/m);
    for (const file of ['service.cjs', 'service.bundle.cjs', 'service.bundle.cjs.v8cache']) {
      expect(runtime).toContain(`/app/dist/${file} `);
    }
    expect(readFileSync('.dockerignore', 'utf8')).toContain('node_modules');
    // The admin console: built in the build stage, its static files in the image (ADMIN_CONSOLE_DIR's default).
    expect(text).toMatch(/^COPY console \.\/console$/m);
    expect(runtime).toContain('COPY --from=build --chown=node:node /app/dist/console ./dist/console');
  });
});
