import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ledger } from '../../src/entitlements/ledger.js';
import { LIFECYCLE_DEFAULTS } from '../../src/lifecycle/lifecycle.defaults.js';
import { Reconciliation } from '../../src/lifecycle/reconciliation/reconciliation.service.js';
import { change, eventFor } from '../support/changes.js';
import { startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';

/**
 * The only brake when a wrong MARKETPLACE_PROVIDER_ID or project makes Google answer 404 for
 * everything: one run ends at most `maxGonePerRun` entitlements, reports the rest and says why.
 */
describe('reconciliation when Google answers 404 for more entitlements than the brake', () => {
  const BRAKE = LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun;
  const OVER = 3;
  let stack: MarketplaceStack;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: false });
  });
  afterAll(() => stack.close());

  it('should end exactly maxGonePerRun of them, leave the rest live, and report each one it did not end', async () => {
    // Live Marketplace entitlements the fake Procurement API has never heard of (404 for each).
    const ledger = stack.app.app.get(Ledger);
    const ids = Array.from({ length: BRAKE + OVER }, (_, i) => `gone-${String(i).padStart(3, '0')}`);
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

    const report = await stack.app.app.get(Reconciliation).run('brake-run');
    const ended = report.drift.filter((d) => d.differences[0]?.startsWith('gone:'));
    expect(ended).toHaveLength(BRAKE);
    expect(report.errors).toHaveLength(OVER);
    for (const error of report.errors)
      expect(error.message).toBe(
        `Google answers 404; not ended: over ${BRAKE} this run (check MARKETPLACE_PROVIDER_ID)`,
      );
    const statuses = await Promise.all(ids.map(async (id) => (await stack.store.getEntitlement(`gcp:${id}`))?.status));
    expect(statuses.filter((s) => s === 'active')).toHaveLength(OVER);
    expect(new Set(report.errors.map((e) => e.id))).toEqual(new Set(ids.filter((_, i) => statuses[i] === 'active')));
    expect(stack.logLines().find((l) => l.message === 'reconciliation finished with unresolved items')).toMatchObject({
      severity: 'ERROR',
      errors: OVER,
    });
  });
});
