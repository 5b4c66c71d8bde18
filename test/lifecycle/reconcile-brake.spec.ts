import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/config/app-config.js';
import { Ledger } from '../../src/entitlements/ledger.js';
import { LIFECYCLE_DEFAULTS } from '../../src/lifecycle/lifecycle.defaults.js';
import { Reconciliation } from '../../src/lifecycle/reconciliation/reconciliation.service.js';
import { testConfig } from '../support/app.js';
import { change, eventFor } from '../support/changes.js';
import { startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';

/**
 * The only brake when a wrong MARKETPLACE_PROVIDER_ID or project makes Google answer 404 for
 * everything: one run ends at most RECONCILE_MAX_GONE_PER_RUN entitlements (default
 * `LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun`), reports the rest and says why.
 */
const OVER = 3;

/** `brake + OVER` live Marketplace entitlements the fake Procurement API has never heard of (404 for each), reconciled. */
async function reconcileGone(stack: MarketplaceStack, brake: number, prefix: string) {
  const ledger = stack.app.app.get(Ledger);
  const ids = Array.from({ length: brake + OVER }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  await Promise.all(
    ids.map((externalId) => {
      const c = change({
        source: 'gcp',
        externalId,
        subject: { key: `gcp-account:acct-${externalId}`, accountId: `acct-${externalId}` },
        product: { product: 'demo', plan: 'pro', providerProduct: 'demo-product', providerPlan: 'pro' },
        providerState: 'ENTITLEMENT_ACTIVE',
      });
      return ledger.apply(c, eventFor(c));
    }),
  );
  const report = await stack.app.app.get(Reconciliation).run(`${prefix}-run`);
  const statuses = await Promise.all(ids.map(async (id) => (await stack.store.getEntitlement(`gcp:${id}`))?.status));
  return { ids, report, statuses };
}

function expectBrakeAt(brake: number, stack: MarketplaceStack, result: Awaited<ReturnType<typeof reconcileGone>>) {
  const { ids, report, statuses } = result;
  const ended = report.drift.filter((d) => d.differences[0]?.startsWith('gone:'));
  expect(ended).toHaveLength(brake);
  expect(report.errors).toHaveLength(OVER);
  for (const error of report.errors)
    expect(error.message).toBe(
      `Google answers 404; not ended: over ${brake} this run (check MARKETPLACE_PROVIDER_ID, RECONCILE_MAX_GONE_PER_RUN)`,
    );
  expect(statuses.filter((s) => s === 'cancelled')).toHaveLength(brake);
  expect(statuses.filter((s) => s === 'active')).toHaveLength(OVER);
  expect(new Set(report.errors.map((e) => e.id))).toEqual(new Set(ids.filter((_, i) => statuses[i] === 'active')));
  expect(stack.logLines().find((l) => l.message === 'reconciliation finished with unresolved items')).toMatchObject({
    severity: 'ERROR',
    errors: OVER,
  });
}

describe('reconciliation when Google answers 404 for more entitlements than the brake', () => {
  const BRAKE = LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun;
  let stack: MarketplaceStack;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: false });
  });
  afterAll(() => stack.close());

  it('should end exactly maxGonePerRun of them by default, leave the rest live, and report each one it did not end', async () => {
    expectBrakeAt(BRAKE, stack, await reconcileGone(stack, BRAKE, 'gone'));
  });
});

describe('reconciliation with RECONCILE_MAX_GONE_PER_RUN set lower than the default', () => {
  const BRAKE = 4;
  let stack: MarketplaceStack;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: false, env: { RECONCILE_MAX_GONE_PER_RUN: String(BRAKE) } });
  });
  afterAll(() => stack.close());

  it('should stop ending at the configured value and report the rest', async () => {
    expect(BRAKE).toBeLessThan(LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun);
    expectBrakeAt(BRAKE, stack, await reconcileGone(stack, BRAKE, 'low'));
  });
});

describe('RECONCILE_MAX_GONE_PER_RUN', () => {
  it('should default to maxGonePerRun and take a whole number from 0 to 10,000', () => {
    expect(testConfig().env.RECONCILE_MAX_GONE_PER_RUN).toBe(LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun);
    expect(testConfig({ RECONCILE_MAX_GONE_PER_RUN: '0' }).env.RECONCILE_MAX_GONE_PER_RUN).toBe(0);
    expect(testConfig({ RECONCILE_MAX_GONE_PER_RUN: '10000' }).env.RECONCILE_MAX_GONE_PER_RUN).toBe(10_000);
    for (const bad of ['-1', '2.5', 'fifty', '10001']) {
      expect(() => testConfig({ RECONCILE_MAX_GONE_PER_RUN: bad })).toThrow(ConfigError);
      expect(() => testConfig({ RECONCILE_MAX_GONE_PER_RUN: bad })).toThrow(/RECONCILE_MAX_GONE_PER_RUN/);
    }
  });
});
