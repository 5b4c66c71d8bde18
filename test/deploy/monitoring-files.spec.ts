import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- YAML documents under test */
const DIR = 'deploy/monitoring';
const files = readdirSync(DIR).filter((f) => f !== 'README.md');
const read = (file: string): any => parse(readFileSync(join(DIR, file), 'utf8'));
const metrics = new Map(files.filter((f) => f.endsWith('.metric.yaml')).map((f) => [f.slice(0, -12), read(f)]));
const policies = files.filter((f) => f.endsWith('.policy.yaml')).map((f) => ({ file: f, policy: read(f) }));

/** Every source file of the service, to check that what a metric matches is something it writes. */
function sources(dir = 'src'): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) =>
      e.isDirectory()
        ? sources(join(dir, e.name))
        : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')
          ? readFileSync(join(dir, e.name), 'utf8')
          : '',
    )
    .join('\n');
}
const SRC = sources();
/** Fields every line of a delivery carries (src/common/logging/log-context.ts). */
const CONTEXT_FIELDS = ['source', 'eventKey', 'messageId', 'entitlementId', 'job', 'runId'];

/** Google's own metrics the policies may name, with the monitored resource each is written for. */
const GOOGLE_METRICS: Record<string, string> = {
  'pubsub.googleapis.com/subscription/oldest_unacked_message_age': 'pubsub_subscription',
  'pubsub.googleapis.com/subscription/num_undelivered_messages': 'pubsub_subscription',
  'run.googleapis.com/request_count': 'cloud_run_revision',
  'run.googleapis.com/request_latencies': 'cloud_run_revision',
};
/** Subscriptions scripts/setup-gcp.sh creates (SUBSCRIPTION's default and the dead-letter one). */
const SUBSCRIPTIONS = ['marketplace-events', 'marketplace-dead-letter-sub'];
const DURATION = /^\d+s$/;
const ALIGNERS = ['ALIGN_SUM', 'ALIGN_MAX', 'ALIGN_MEAN', 'ALIGN_RATE', 'ALIGN_DELTA', 'ALIGN_COUNT'];
const COMPARISONS = ['COMPARISON_GT', 'COMPARISON_GE', 'COMPARISON_LT', 'COMPARISON_LE'];

/** What a log filter says about the service's own lines: the messages it names and the jsonPayload fields it reads. */
function checkLogFilter(filter: string): void {
  for (const [, list] of filter.matchAll(/jsonPayload\.message=\(?((?:"[^"]+"(?:\s+OR\s+)?)+)\)?/g)) {
    for (const [, message] of list!.matchAll(/"([^"]+)"/g)) {
      // A message the service logs: the string literal as the first argument of a logger call (or of a bound `log`).
      expect({
        message,
        logged: new RegExp(`(\\.(info|warning|failure)|\\blog)\\(\\s*'${message}'`).test(SRC),
      }).toEqual({
        message,
        logged: true,
      });
    }
  }
  for (const [, field] of filter.matchAll(/jsonPayload\.([A-Za-z_]+)/g)) {
    if (field === 'message') continue;
    expect({ field, written: CONTEXT_FIELDS.includes(field!) || new RegExp(`\\b${field}[?]?:`).test(SRC) }).toEqual({
      field,
      written: true,
    });
  }
  // Fields of Cloud Run's own request log, which Google writes.
  for (const [, field] of filter.matchAll(/httpRequest\.([A-Za-z]+)/g)) {
    expect(['status', 'requestUrl', 'requestMethod', 'latency']).toContain(field);
    expect(filter).toContain('logName:"run.googleapis.com%2Frequests"');
  }
}

describe('deploy/monitoring files (applied by scripts/setup-gcp.sh)', () => {
  it('should ship the alerts the on-call engineer needs', () => {
    const names = policies.map((p) => p.policy.displayName);
    expect(names.length).toBeGreaterThanOrEqual(9);
    const filters = policies.flatMap((p) => p.policy.conditions.map((c: any) => JSON.stringify(c)));
    for (const wanted of [
      'oldest_unacked_message_age',
      'num_undelivered_messages\\",\\"[^}]*marketplace-events|marketplace-events[^}]*num_undelivered_messages',
      'marketplace-dead-letter-sub',
      'user/invalid-events',
      'user/procurement-call-errors',
      'decision waiting',
      'user/webhook-server-errors',
      'user/lifecycle-job-failures',
      'user/lifecycle-runs',
    ]) {
      expect({ wanted, found: filters.some((f) => new RegExp(wanted).test(f)) }).toEqual({ wanted, found: true });
    }
  });

  it.each([...metrics.keys()])(
    'log-based metric %s: the fields LogMetric requires, on lines the service writes',
    (name) => {
      const metric = metrics.get(name);
      expect(name).toMatch(/^[a-z][a-z0-9-]{1,99}$/);
      expect(typeof metric.description).toBe('string');
      expect(typeof metric.filter).toBe('string');
      expect(metric.filter).toContain('resource.type="cloud_run_revision"');
      expect(metric.metricDescriptor).toMatchObject({ metricKind: 'DELTA', valueType: 'INT64' });
      const labels = (metric.metricDescriptor.labels ?? []).map((l: any) => l.key);
      expect(Object.keys(metric.labelExtractors ?? {}).sort()).toEqual([...labels].sort());
      for (const extractor of Object.values<string>(metric.labelExtractors ?? {})) {
        expect(extractor).toMatch(/^EXTRACT\(jsonPayload\.[A-Za-z_]+\)$/);
        checkLogFilter(extractor.replace(/^EXTRACT\((.*)\)$/, '$1'));
      }
      checkLogFilter(metric.filter);
    },
  );

  it.each(policies.map((p) => [p.file, p.policy]))(
    'alert policy %s: the fields AlertPolicy requires, a threshold and why, real metrics',
    (_file, policy: any) => {
      expect(policy.displayName).toMatch(/^[A-Za-z0-9 ._:/,-]+$/);
      expect(policy.documentation.mimeType).toBe('text/markdown');
      expect(policy.documentation.content).toMatch(/\*\*Threshold:\*\*/);
      expect(policy.documentation.content).toMatch(/\*\*Why:\*\*/);
      expect(['OR', 'AND', 'AND_WITH_MATCHING_RESOURCE']).toContain(policy.combiner);
      expect(policy.conditions.length).toBeGreaterThan(0);
      for (const condition of policy.conditions) {
        expect(typeof condition.displayName).toBe('string');
        const kinds = Object.keys(condition).filter((k) => k.startsWith('condition'));
        expect(kinds).toHaveLength(1);
        const body = condition[kinds[0]!];
        expect(typeof body.filter).toBe('string');
        if (kinds[0] === 'conditionMatchedLog') {
          // Log-match policies need a notification rate limit (the API refuses them without one).
          expect(policy.alertStrategy.notificationRateLimit.period).toMatch(DURATION);
          checkLogFilter(body.filter);
          for (const extractor of Object.values<string>(body.labelExtractors ?? {})) {
            checkLogFilter(extractor.replace(/^EXTRACT\((.*)\)$/, '$1'));
          }
          continue;
        }
        expect(['conditionThreshold', 'conditionAbsent']).toContain(kinds[0]);
        expect(body.duration).toMatch(DURATION);
        if (kinds[0] === 'conditionThreshold') {
          expect(COMPARISONS).toContain(body.comparison);
          expect(typeof body.thresholdValue).toBe('number');
        }
        for (const aggregation of body.aggregations) {
          expect(aggregation.alignmentPeriod).toMatch(DURATION);
          expect(ALIGNERS).toContain(aggregation.perSeriesAligner);
        }
        const type = /metric\.type="([^"]+)"/.exec(body.filter)?.[1];
        const resource = /resource\.type="([^"]+)"/.exec(body.filter)?.[1];
        expect(type).toBeDefined();
        if (type!.startsWith('logging.googleapis.com/user/')) {
          // A log-based metric of this folder.
          expect([...metrics.keys()]).toContain(type!.slice('logging.googleapis.com/user/'.length));
          expect(resource).toBe('cloud_run_revision');
        } else {
          expect(Object.keys(GOOGLE_METRICS)).toContain(type);
          expect(resource).toBe(GOOGLE_METRICS[type!]);
          const subscription = /subscription_id="([^"]+)"/.exec(body.filter)?.[1];
          if (resource === 'pubsub_subscription') expect(SUBSCRIPTIONS).toContain(subscription);
        }
      }
    },
  );

  it('should name subscriptions scripts/setup-gcp.sh creates', () => {
    const script = readFileSync('scripts/setup-gcp.sh', 'utf8');
    expect(script).toContain('SUBSCRIPTION="marketplace-events"');
    expect(script).toContain('DLQ_TOPIC="marketplace-dead-letter"');
    expect(script).toMatch(/\$\{DLQ_TOPIC\}-sub/);
  });
});
