import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import { Catalog } from './catalog.js';

const config = {
  products: {
    sources: {
      gcp: { 'svc.example.com': { product: 'demo', plans: { pro: 'professional' } } },
      purchasely: { PREMIUM: { product: 'demo' } },
    },
  },
} as unknown as AppConfig;

describe('Catalog', () => {
  const catalog = new Catalog(config);

  it('should map product and plan codes to the product names and keep the provider codes', () => {
    expect(catalog.resolve('gcp', 'svc.example.com', 'pro')).toEqual({
      ok: true,
      ref: { product: 'demo', plan: 'professional', providerProduct: 'svc.example.com', providerPlan: 'pro' },
    });
  });

  it('should pass plan codes through when the product lists no plans', () => {
    expect(catalog.resolve('purchasely', 'PREMIUM', 'monthly')).toMatchObject({ ok: true, ref: { plan: 'monthly' } });
  });

  it('should refuse unknown products and unlisted plans with a reason naming the fix', () => {
    expect(catalog.resolve('gcp', 'other', 'pro')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('config/products.yaml'),
    });
    expect(catalog.resolve('gcp', 'svc.example.com', 'gold')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('"gold"'),
    });
  });
});
