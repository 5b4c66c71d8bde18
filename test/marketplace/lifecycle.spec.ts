import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { accessInvariantViolations } from '../support/invariants.js';
import {
  accessOf,
  entitlementWhere,
  eventually,
  PRODUCT,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';

describe('Marketplace lifecycles through streaming pull', () => {
  let stack: MarketplaceStack;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: true });
  });
  afterAll(() => stack.close());

  const approveAccount = (accountId: string) =>
    stack.app.app.get(MarketplaceEvents).approveAccount(accountId, {
      source: 'gcp',
      eventKey: `test-approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin', id: 'test' },
    });

  async function approvedAccount(): Promise<string> {
    const { accountId } = await stack.simulator.signUpAccount();
    await approveAccount(accountId!);
    return accountId!;
  }

  it('should take a suspended entitlement out of access/ and give it back when Google reinstates it', async () => {
    const { simulator, store, db } = stack;
    const accountId = await approvedAccount();
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await entitlementWhere(store, id, (e) => e.status === 'pending_approval');
    await simulator.activate(id);
    await entitlementWhere(store, id, (e) => e.status === 'active');
    expect((await accessOf(store, accountId))?.products).toEqual(['demo']);

    // Google suspends it (billing problems). The message's type is not one Google documents: the
    // service re-reads the entitlement and mirrors the SUSPENDED state at once, calling nothing.
    const calls = stack.fake.calls.length;
    await simulator.suspend(id);
    const notice = await eventually(async () => {
      const found = await db.collection('events').where('eventType', '==', 'ENTITLEMENT_SUSPENDED').get();
      return found.docs.find((d) => String(d.get('raw')).includes(id) && d.get('outcome') === 'applied');
    });
    expect(notice.get('outcome')).toBe('applied');
    const suspended = await entitlementWhere(store, id, (e) => e.status === 'suspended');
    expect(suspended).toMatchObject({ active: false, providerState: 'ENTITLEMENT_SUSPENDED' });
    expect((await accessOf(store, accountId))?.entitlements ?? {}).toEqual({});
    // Only reads: an undocumented type never leads to a Procurement call that changes anything.
    expect(stack.fake.calls.slice(calls).filter((c) => c.httpMethod !== 'GET')).toEqual([]);

    await simulator.reinstate(id);
    await entitlementWhere(store, id, (e) => e.status === 'active');
    expect((await accessOf(store, accountId))?.products).toEqual(['demo']);
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should take an auto-approved purchase from creation to active, plan change, cancellation and deletion', async () => {
    const { simulator, store, fake } = stack;
    const accountId = await approvedAccount();
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;

    await entitlementWhere(store, id, (e) => e.status === 'pending_approval');
    await eventually(async () => fake.countCalls('entitlements.approve', id) === 1);
    await simulator.activate(id);
    const active = await entitlementWhere(store, id, (e) => e.status === 'active');
    expect(active).toMatchObject({
      active: true,
      product: 'demo',
      plan: 'pro',
      subject: { key: `gcp-account:${accountId}` },
    });
    expect((await accessOf(store, accountId))?.entitlements[`gcp:${id}`]).toMatchObject({
      product: 'demo',
      plan: 'pro',
    });

    await simulator.changePlan(id, 'basic');
    await eventually(async () => fake.countCalls('entitlements.approvePlanChange', id) === 1);
    await simulator.completePlanChange(id);
    await entitlementWhere(store, id, (e) => e.plan === 'basic' && e.status === 'active');
    expect((await accessOf(store, accountId))?.entitlements[`gcp:${id}`]?.plan).toBe('basic');

    await simulator.cancel(id, { atPeriodEnd: true });
    const pending = await entitlementWhere(store, id, (e) => e.status === 'pending_cancellation');
    expect(pending.active).toBe(true);
    await simulator.endPeriod(id);
    const cancelled = await entitlementWhere(store, id, (e) => e.status === 'cancelled');
    expect(cancelled.active).toBe(false);
    expect((await accessOf(store, accountId))?.entitlements ?? {}).toEqual({});

    await simulator.deleteEntitlement(id);
    const erased = await entitlementWhere(store, id, (e) => e.erasedAt !== null);
    expect(erased).toMatchObject({ subject: null, details: {}, active: false });
    expect(await accessOf(store, accountId)).toBeNull();
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);

    await simulator.deleteAccount(accountId);
    await eventually(async () => (await stack.db.collection('accounts').doc(accountId).get()).exists === false);
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should leave a manual-policy purchase pending approval, with no approve call', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const e = await entitlementWhere(stack.store, entitlementId!, (x) => x.status === 'pending_approval');
    expect(e.details).toMatchObject({ marketplace: { approval: 'awaiting_admin' } });
    expect(e.active).toBe(false);
    expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);
  });

  it('should park an entitlement bought before the account is approved, then approve it with the account', async () => {
    const { entitlementId, accountId } = await stack.simulator.buy({ product: PRODUCT, plan: 'pro' });
    const parked = await entitlementWhere(stack.store, entitlementId!, (x) => x.status === 'pending_approval');
    expect(parked.details).toMatchObject({ marketplace: { approval: 'awaiting_account' } });
    expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);
    // Acked, not redelivered in a loop: the event ledger holds one applied record.
    const events = await stack.db.collection('events').where('entitlementId', '==', `gcp:${entitlementId}`).get();
    expect(events.docs.map((d) => d.get('outcome'))).toEqual(['applied']);

    const result = await approveAccount(accountId!);
    expect(result).toMatchObject({ approvedNow: true, entitlementsApproved: 1 });
    expect(stack.fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
    await expect(approveAccount(accountId!)).resolves.toMatchObject({ approvedNow: false, entitlementsApproved: 0 });
    expect(stack.fake.countCalls('accounts.approve', accountId)).toBe(1);

    await stack.simulator.activate(entitlementId!);
    await entitlementWhere(stack.store, entitlementId!, (x) => x.active);
  });

  it('should keep two orders of the same product on one account as two independent entitlements', async () => {
    const accountId = await approvedAccount();
    const first = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const second = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'basic' });
    for (const { entitlementId } of [first, second]) {
      await eventually(async () => stack.fake.countCalls('entitlements.approve', entitlementId) === 1);
      await stack.simulator.activate(entitlementId!);
    }
    await entitlementWhere(stack.store, first.entitlementId!, (e) => e.active);
    await entitlementWhere(stack.store, second.entitlementId!, (e) => e.active);
    const access = await accessOf(stack.store, accountId);
    expect(Object.keys(access?.entitlements ?? {}).sort()).toEqual(
      [`gcp:${first.entitlementId}`, `gcp:${second.entitlementId}`].sort(),
    );
  });

  it('should record a message whose id can never name a resource once as invalid, and ack it', async () => {
    const calls = stack.fake.calls.length;
    const messageIds: string[] = [];
    for (const pointer of [{ entitlement: { id: '..' } }, { account: { id: 'E-1/../../x' } }]) {
      const data = { eventId: `bad-${Date.now()}`, eventType: 'ENTITLEMENT_ACTIVE', providerId: 'demo-provider' };
      messageIds.push(await stack.topic.publishMessage({ data: Buffer.from(JSON.stringify({ ...data, ...pointer })) }));
    }
    for (const messageId of messageIds) {
      // An envelope that does not parse is recorded under the Pub/Sub message id.
      const doc = await eventually(async () => {
        const snap = await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get();
        return snap.exists ? snap : undefined;
      });
      expect(doc.get('outcome')).toBe('invalid');
      expect(doc.get('reason')).toContain('is not a Procurement resource id');
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const messageId of messageIds) {
      expect((await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get()).get('attempts')).toBe(1);
    }
    // Nothing was sent to the Procurement API for them.
    expect(stack.fake.calls.slice(calls).filter((c) => c.path.includes('..') || c.path.endsWith('/x'))).toEqual([]);
  });

  it('should take a plan change Google applies at once from the ENTITLEMENT_PLAN_CHANGED it publishes', async () => {
    const { simulator, store, fake } = stack;
    const accountId = await approvedAccount();
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await eventually(async () => fake.countCalls('entitlements.approve', id) === 1);
    await simulator.activate(id);
    await entitlementWhere(store, id, (e) => e.active);
    // Approved by policy, applied at once: ENTITLEMENT_PLAN_CHANGED arrives through Pub/Sub.
    await simulator.changePlan(id, 'basic', { takesEffect: 'now' });
    await entitlementWhere(store, id, (e) => e.status === 'active' && e.plan === 'basic' && e.pendingPlan === null);
    expect(fake.countCalls('entitlements.approvePlanChange', id)).toBe(1);
    expect((await accessOf(store, accountId))?.entitlements[`gcp:${id}`]?.plan).toBe('basic');
  });

  it('should record a malformed message once as invalid and ack it', async () => {
    const messageId = await stack.topic.publishMessage({ data: Buffer.from('{not json') });
    const doc = await eventually(async () => {
      const snap = await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get();
      return snap.exists ? snap : undefined;
    });
    expect(doc.get('outcome')).toBe('invalid');
    expect(doc.get('reason')).toContain('not JSON');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get()).get('attempts')).toBe(1);
  });
});
