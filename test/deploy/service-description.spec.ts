import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { HEALTH_PATHS } from '../../src/common/health/health.controller.js';
import {
  crossFieldProblems,
  envSchema,
  productionRules,
  SECRET_ENV,
  type ProductionRule,
} from '../../src/config/env.schema.js';
import { renderedEnv } from './description.js';

/** Every variable of the schema with what production must do with it, taken from the schema itself. */
function schemaVariables(): { name: string; rule?: ProductionRule; requiredBySchema: boolean; secret: boolean }[] {
  return Object.entries(envSchema.shape).map(([name, schema]) => ({
    name,
    rule: productionRules.get(schema),
    // No default and not optional: the service refuses to start without it.
    requiredBySchema: !schema.safeParse(undefined).success,
    secret: (SECRET_ENV as readonly string[]).includes(name),
  }));
}

describe('deploy/service.yaml (the Cloud Run service description) against the config schema', () => {
  const rendered = renderedEnv({ projectId: 'acme-prod' });
  const { values, secrets, doc } = rendered;
  const set = new Set([...Object.keys(values), ...Object.keys(secrets)]);
  const variables = schemaVariables();

  it('should set every variable production requires, as a value or a secret', () => {
    const required = variables.filter((v) => v.requiredBySchema || v.rule?.production === 'required');
    expect(required.map((v) => v.name)).toEqual(expect.arrayContaining(['GOOGLE_CLOUD_PROJECT', 'SCHEDULER_AUDIENCE']));
    expect(required.filter((v) => !set.has(v.name)).map((v) => v.name)).toEqual([]);
  });

  it('should set at least one variable of each one-of group', () => {
    const groups = new Map<string, string[]>();
    for (const v of variables) {
      if (v.rule?.production === 'one-of') groups.set(v.rule.group, [...(groups.get(v.rule.group) ?? []), v.name]);
    }
    expect(groups.size).toBeGreaterThanOrEqual(4);
    for (const [group, names] of groups) {
      expect({ group, satisfied: names.some((n) => set.has(n)) }).toEqual({ group, satisfied: true });
    }
  });

  it('should set no variable the schema forbids in production, and none the schema does not know', () => {
    const forbidden = variables.filter((v) => v.rule?.production === 'forbidden' && set.has(v.name));
    expect(forbidden.map((v) => `${v.name}: ${v.rule?.production === 'forbidden' ? v.rule.why : ''}`)).toEqual([]);
    const known = new Set(variables.map((v) => v.name));
    expect([...set].filter((name) => !known.has(name))).toEqual([]);
    // Cloud Run sets these itself and refuses a description that sets them.
    expect([...set].filter((n) => ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'].includes(n))).toEqual([]);
  });

  it('should take every secret from Secret Manager, and account for every secret the schema knows', () => {
    const plainSecrets = Object.keys(values).filter((name) => (SECRET_ENV as readonly string[]).includes(name));
    expect(plainSecrets).toEqual([]);
    // A mounted variable is a secret the logs redact.
    expect(Object.keys(secrets).filter((name) => !(SECRET_ENV as readonly string[]).includes(name))).toEqual([]);
    // Each secret is mounted, unless production must not have it or another of its group stands in.
    const satisfiedGroups = new Set(
      variables
        .filter((v) => v.rule?.production === 'one-of' && set.has(v.name))
        .map((v) => (v.rule as { group: string }).group),
    );
    const unaccounted = variables.filter(
      (v) =>
        v.secret &&
        !(v.name in secrets) &&
        v.rule?.production !== 'forbidden' &&
        !(v.rule?.production === 'one-of' && satisfiedGroups.has(v.rule.group)),
    );
    expect(
      unaccounted.map(
        (v) =>
          `${v.name}: add "- { name: ${v.name}, valueFrom: { secretKeyRef: { name: <secret>, key: latest } } }" to deploy/service.yaml, or mark it in src/config/env.schema.ts`,
      ),
    ).toEqual([]);
    for (const ref of doc.spec.template.spec.containers[0]!.env.flatMap((e) => e.valueFrom?.secretKeyRef ?? [])) {
      expect(ref.key).toBe('latest');
      expect(ref.name).toMatch(/^[a-z][a-z0-9-]{0,254}$/);
    }
  });

  it("should hold values the schema accepts, and pass the schema's cross-variable rules", () => {
    for (const [name, value] of Object.entries(values)) {
      const parsed = envSchema.shape[name as keyof typeof envSchema.shape].safeParse(value);
      expect({ name, problems: parsed.success ? [] : parsed.error.issues.map((i) => i.message) }).toEqual({
        name,
        problems: [],
      });
    }
    // Secrets are only known to be present here; their shapes are checked when the service starts (smoke.spec.ts).
    const present = Object.fromEntries(Object.keys(secrets).map((name) => [name, 'present']));
    expect(crossFieldProblems({ ...values, ...present })).toEqual([]);
  });

  it('should probe health paths the service serves and Cloud Run does not reserve, on the container port', () => {
    const container = doc.spec.template.spec.containers[0]!;
    const startup = container.startupProbe.httpGet;
    const liveness = container.livenessProbe.httpGet;
    expect(startup.path).toBe(`/${HEALTH_PATHS.ready}`);
    expect(liveness.path).toBe(`/${HEALTH_PATHS.live}`);
    for (const path of [startup.path, liveness.path]) expect(path).not.toMatch(/z$/);
    expect(container.ports).toEqual([{ name: 'http1', containerPort: 8080 }]);
    expect(startup.port).toBe(8080);
    expect(liveness.port).toBe(8080);
  });

  it('should be one public service that authenticates each route itself (docs/operations.md, "Ingress")', () => {
    expect(doc.metadata.annotations['run.googleapis.com/ingress']).toBe('all');
    expect(doc.metadata.annotations['run.googleapis.com/invoker-iam-disabled']).toBe('true');
    const operations = readFileSync('docs/operations.md', 'utf8');
    expect(operations).toMatch(/^## Ingress/m);
    expect(operations).toContain('run.googleapis.com/invoker-iam-disabled');
  });

  it('should give the pull consumer an instance that is always up with CPU always allocated', () => {
    const annotations = doc.spec.template.metadata.annotations;
    if (values.MARKETPLACE_SUBSCRIPTION) {
      expect(annotations['run.googleapis.com/cpu-throttling']).toBe('false');
      expect(Number(annotations['autoscaling.knative.dev/minScale'])).toBeGreaterThanOrEqual(1);
    }
    expect(doc.spec.template.spec.serviceAccountName).toBe('entitlements-runtime@acme-prod.iam.gserviceaccount.com');
    expect(doc.spec.template.spec.containers[0]!.resources.limits).toEqual({ cpu: '1', memory: '512Mi' });
    // The Dockerfile's heap cap is sized for 512 MiB (docs/operations.md, "Image and memory").
    expect(readFileSync('Dockerfile', 'utf8')).toContain('--max-old-space-size=192');
  });

  it('should fill every placeholder, and use the deterministic run.app URL as the audience of the tokens it checks', () => {
    expect(rendered.text.split('\n').filter((l) => !/^\s*#/.test(l) && l.includes('${'))).toEqual([]);
    const url = 'https://marketplace-entitlements-123456789012.europe-west1.run.app';
    expect(values.SCHEDULER_AUDIENCE).toBe(`${url}/lifecycle`);
    expect(values.ADMIN_AUDIENCE).toBe(url);
  });

  it('should agree with cloudbuild.yaml on region, service and repository, and with setup-gcp.sh on the repository', () => {
    const build = parse(readFileSync('cloudbuild.yaml', 'utf8')) as { substitutions: Record<string, string> };
    expect(build.substitutions._REGION).toBe(doc.metadata.labels['cloud.googleapis.com/location']);
    expect(build.substitutions._SERVICE).toBe(doc.metadata.name);
    const script = readFileSync('scripts/setup-gcp.sh', 'utf8');
    expect(script).toContain(`REPOSITORY="${build.substitutions._REPOSITORY}"`);
  });

  it('should refuse to render for a deploy while it holds example values', () => {
    const result = spawnSync(
      process.execPath,
      ['scripts/deploy-config.mjs', 'render', '--project', 'acme-prod', '--project-number', '1', '--image', 'x'],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('deploy/service.yaml still has example values; set your own before deploying');
    expect(result.stderr).toContain('MARKETPLACE_SIGNUP_REDIRECT_URL=https://app.example.com/marketplace/welcome');
  });
});
