import { describe, expect, it } from '@jest/globals';
import { productsFileSchema } from './files.schema.js';

const metric = { serviceControlName: 'svc.example.com/api_calls', type: 'int64' };
const file = (usage: unknown, source = 'gcp', plans: Record<string, string> | undefined = { pro: 'pro' }) => ({
  sources: { [source]: { 'svc.example.com': { product: 'demo', ...(plans ? { plans } : {}), usage } } },
});
const problems = (value: unknown) => {
  const result = productsFileSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('config/products.yaml usage metrics', () => {
  it('should accept metrics with their Service Control names and the plans that report them, sum by default', () => {
    const parsed = productsFileSchema.parse(file({ metrics: { api_calls: metric }, plans: { pro: ['api_calls'] } }));
    expect(parsed.sources.gcp?.['svc.example.com']?.usage?.metrics.api_calls).toEqual({ ...metric, aggregate: 'sum' });
  });

  it('should refuse usage outside the Marketplace, unknown plans and metrics, and other aggregations', () => {
    expect(problems(file({ metrics: { api_calls: metric }, plans: { pro: ['api_calls'] } }, 'purchasely'))).toEqual([
      'sources.purchasely.svc.example.com.usage: usage reporting exists for Marketplace (gcp) products only',
    ]);
    expect(problems(file({ metrics: { api_calls: metric }, plans: { gold: ['api_calls', 'bytes'] } }))).toEqual([
      'sources.gcp.svc.example.com.usage.plans.gold: plan "gold" is not one of this product\'s plans',
      'sources.gcp.svc.example.com.usage.plans.gold.1: metric "bytes" is not declared under usage.metrics',
    ]);
    expect(problems(file({ metrics: { api_calls: { ...metric, aggregate: 'max' } }, plans: {} }))).toHaveLength(1);
    expect(
      problems(file({ metrics: { api_calls: { ...metric, serviceControlName: 'api_calls' } }, plans: {} })),
    ).toEqual([
      'sources.gcp.svc.example.com.usage.metrics.api_calls.serviceControlName: must be <service name>/<metric>, as Producer Portal shows it',
    ]);
  });
});
