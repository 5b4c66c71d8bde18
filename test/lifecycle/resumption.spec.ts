import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ExpirySweep } from '../../src/lifecycle/expiry-sweep.service.js';
import { Reconciliation } from '../../src/lifecycle/reconciliation/reconciliation.service.js';
import { RunBudget } from '../../src/lifecycle/run-support.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { change } from '../support/changes.js';
import { PRODUCT, PROVIDER, startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';
import { DAY, startLifecycleApp, T0, type LifecycleApp } from './support.js';

/** No time left: every run reads one page and stops, as a run that hit Cloud Run's timeout budget would. */
const noTime = () => new RunBudget(0);

describe('Lifecycle runs that stop at their time budget and resume', () => {
  let app: LifecycleApp;
  afterEach(async () => {
    await app?.close();
  });

  it('should resume the expiry sweep from its stored cursor, and start over on a cursor it cannot read', async () => {
    app = await startLifecycleApp();
    const sweep = app.running.app.get(ExpirySweep);
    for (const [i, source] of (['purchasely', 'easycart'] as const).entries()) {
      const applied = await app.apply(
        change({
          source,
          externalId: `due-${i}`,
          subject: { key: `email:due-${i}@example.com`, email: `due-${i}@example.com` },
          sourceTime: new Date(T0.getTime() - 30 * DAY),
          validFrom: new Date(T0.getTime() - 30 * DAY),
          validUntil: new Date(T0.getTime() + DAY),
        }),
      );
      expect(applied.outcome).toBe('applied');
    }
    app.clock.set(new Date(T0.getTime() + 2 * DAY));
    await app.db.collection('cursors').doc('expire').set({ cursor: '{"step":"garbage"', job: 'expire' });
    const reports = [];
    for (let run = 0; run < 10; run++) {
      const report = await sweep.run(`r${run}`, noTime());
      reports.push(report);
      if (!report.more) break;
    }
    // One query per source (Purchasely's after its 24 h grace), then the start sweep: a page each, a run each.
    expect(reports.length).toBeGreaterThan(2);
    expect(reports.at(-1)?.more).toBe(false);
    expect(reports.reduce((n, r) => n + r.expired, 0)).toBe(2);
    expect((await app.db.collection('cursors').doc('expire').get()).get('cursor')).toBeNull();
    expect((await app.store.getEntitlement('easycart:due-1'))?.status).toBe('expired');
  });
});

describe('Marketplace reconciliation that stops at its time budget and resumes', () => {
  let stack: MarketplaceStack;
  let simulator: MarketplaceSimulator;
  let reconciliation: Reconciliation;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: false });
    const events = stack.app.app.get(MarketplaceEvents);
    reconciliation = stack.app.app.get(Reconciliation);
    simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        const messageId = randomUUID();
        await events.handle({ data: Buffer.from(JSON.stringify(data)), messageId, transport: 'pubsub-push' });
        return messageId;
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  async function pass(): Promise<Awaited<ReturnType<Reconciliation['run']>>[]> {
    const reports = [];
    for (let run = 0; run < 20; run++) {
      const report = await reconciliation.run(`reconcile-run-${randomUUID()}`, noTime());
      reports.push(report);
      if (!report.more) break;
    }
    return reports;
  }

  it('should carry one pass over several runs without asking Google twice for what it listed, and heal drift', async () => {
    const { accountId } = await simulator.signUpAccount();
    await simulator.approveAccount(accountId!);
    const ids: string[] = [];
    for (const plan of ['pro', 'basic', 'pro']) {
      const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan });
      await simulator.activate(entitlementId!);
      ids.push(entitlementId!);
    }
    await stack.db.collection('entitlements').doc(`gcp:${ids[1]}`).update({ status: 'cancelled', active: false });
    const gets = stack.fake.countCalls('entitlements.get');

    const reports = await pass();
    // Accounts, six lists of Google's live states, then ours: a page each, one run each.
    expect(reports.length).toBeGreaterThanOrEqual(8);
    expect(new Set(reports.map((r) => r.pass.id)).size).toBe(1);
    expect(reports.slice(1).every((r) => r.pass.resumed)).toBe(true);
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    // The account's sign-up was approved on the seller's page without a message: account drift, healed too.
    const drift = reports.flatMap((r) => r.drift).filter((d) => d.kind === 'entitlement');
    expect(drift.map((d) => [d.id, d.fixed])).toEqual([[ids[1], true]]);
    // Our live entitlements Google listed in earlier runs of the pass are not fetched one by one (the healing
    // of the drifted one re-reads it through the notification handler).
    expect(stack.fake.countCalls('entitlements.get') - gets).toBeLessThanOrEqual(2);
    expect((await stack.db.collection('cursors').doc('reconcile').get()).get('cursor')).toBeNull();
    expect((await stack.db.collection('cursors').doc('reconcile').collection('seen').get()).size).toBe(0);
    expect((await stack.store.getEntitlement(`gcp:${ids[1]}`))?.status).toBe('active');

    const again = await pass();
    expect(again[0]?.pass.resumed).toBe(false);
    expect(again.flatMap((r) => r.drift)).toEqual([]);
  });
});
