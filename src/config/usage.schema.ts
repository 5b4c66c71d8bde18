import { z } from 'zod';

/** A metric's name in our API and config (what the product backend writes as `metric`). */
export const METRIC_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * One reported metric: its full Service Control name as Producer Portal's "Technical integration" shows it
 * (`<service>/<metric>`), its value type, and how records are combined within a window.
 */
const metricSchema = z.strictObject({
  serviceControlName: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]*\/[A-Za-z0-9_./-]{1,200}$/,
      'must be <service name>/<metric>, as Producer Portal shows it',
    ),
  /** `int64`: whole numbers, sent as strings (int64Value); `double`: decimals (doubleValue). */
  type: z.enum(['int64', 'double']),
  /** Only `sum` is supported: records of a window are added up (delta metrics, as Marketplace prices them). */
  aggregate: z.literal('sum').default('sum'),
});
export type UsageMetricConfig = z.infer<typeof metricSchema>;

/**
 * `usage:` of a Marketplace product in config/products.yaml: every metric the product reports, and which
 * plans (the product's own plan names) report which of them. A plan not listed reports nothing.
 */
export const usageSchema = z.strictObject({
  metrics: z.record(z.string().regex(METRIC_NAME, 'metric names: lowercase letters, digits, _'), metricSchema),
  plans: z.record(z.string().min(1), z.array(z.string()).min(1)),
  /**
   * Reserved Marketplace labels sent on report (never on check): values fixed per product.
   * Keys: `cloudmarketplace.googleapis.com/resource_name`, `cloudmarketplace.googleapis.com/container_name`.
   */
  userLabels: z
    .partialRecord(
      z.enum(['cloudmarketplace.googleapis.com/resource_name', 'cloudmarketplace.googleapis.com/container_name']),
      z.string().min(1).max(63),
    )
    .optional(),
});
export type UsageConfig = z.infer<typeof usageSchema>;

interface Problem {
  path: (string | number)[];
  message: string;
}

/** Cross-field rules: only Marketplace products report usage; plans name known plans and known metrics. */
export function usageProblems(
  source: string,
  mapping: { plans?: Record<string, string>; usage?: UsageConfig },
): Problem[] {
  const usage = mapping.usage;
  if (!usage) return [];
  if (source !== 'gcp') return [{ path: [], message: 'usage reporting exists for Marketplace (gcp) products only' }];
  const problems: Problem[] = [];
  const knownPlans = mapping.plans ? new Set(Object.values(mapping.plans)) : null;
  for (const [plan, metrics] of Object.entries(usage.plans)) {
    if (knownPlans && !knownPlans.has(plan)) {
      problems.push({ path: ['plans', plan], message: `plan "${plan}" is not one of this product's plans` });
    }
    metrics.forEach((metric, i) => {
      if (!usage.metrics[metric]) {
        problems.push({ path: ['plans', plan, i], message: `metric "${metric}" is not declared under usage.metrics` });
      }
    });
  }
  return problems;
}
