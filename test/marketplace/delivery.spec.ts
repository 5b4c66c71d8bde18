import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { MarketplaceEvents, type HandleResult } from '../../src/marketplace/marketplace-events.service.js';
import { TransientError } from '../../src/common/errors/app-error.js';
import { statusOf } from '../../src/marketplace/entitlement-state.js';
import { ProcurementClient } from '../../src/marketplace/procurement/procurement.client.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { eventually, PRODUCT, PROVIDER, startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';

/** Deterministic shuffle (seeded), so a failure can be replayed. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('Marketplace delivery: duplicates, reordering, at most one approve', () => {
  let stack: MarketplaceStack;
  let events: MarketplaceEvents;
  const published: object[] = [];

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: false });
    events = stack.app.app.get(MarketplaceEvents);
  });
  afterAll(() => stack.close());

  /** Push-like delivery of one message; a transient failure is retried like a redelivery. */
  async function deliver(data: object): Promise<HandleResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await events.handle({
          data: Buffer.from(JSON.stringify(data)),
          messageId: randomUUID(),
          transport: 'pubsub-push',
        });
      } catch (error) {
        if (!(error instanceof TransientError) || attempt > 10) throw error;
      }
    }
  }

  it('should reach the same final state with every message delivered twice in shuffled order, approving each entitlement once', async () => {
    // Every message is delivered twice, concurrently, as it is published; at the end the whole
    // stream is replayed twice more in a shuffled order.
    const simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        published.push(data);
        await Promise.all([deliver(data), deliver(data)]);
        return randomUUID();
      },
    });
    const { accountId } = await simulator.signUpAccount();
    await events.approveAccount(accountId!, {
      source: 'gcp',
      eventKey: `approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: i % 2 ? 'basic' : 'pro' });
      ids.push(entitlementId!);
      await simulator.activate(entitlementId!);
    }
    await simulator.changePlan(ids[0]!, 'basic');
    await simulator.completePlanChange(ids[0]!);
    await simulator.cancel(ids[1]!, { atPeriodEnd: true });
    await simulator.cancel(ids[2]!, { atPeriodEnd: false });
    await simulator.renew(ids[3]!);

    const inOrder = await Promise.all(ids.map((id) => stack.store.getEntitlement(`gcp:${id}`)));
    const replay = shuffle([...published, ...published], 20261121);
    for (let i = 0; i < replay.length; i += 8) await Promise.all(replay.slice(i, i + 8).map(deliver));

    const after = await Promise.all(ids.map((id) => stack.store.getEntitlement(`gcp:${id}`)));
    const fields = (e: (typeof after)[number]) => ({
      status: e?.status,
      active: e?.active,
      plan: e?.plan,
      validUntil: e?.validUntil,
      sourceUpdatedAt: e?.sourceUpdatedAt,
    });
    expect(after.map(fields)).toEqual(inOrder.map(fields));
    // And equal to Google's record (the fake), which is the model.
    for (const [i, id] of ids.entries()) {
      const google = stack.fake.state.inspectEntitlement(PROVIDER, id);
      if (!google.ok) throw new Error(`fake has no entitlement ${id}`);
      expect(after[i]?.status).toBe(statusOf(google.value.entitlement.state));
      expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
    }
    expect(stack.fake.countCalls('entitlements.approvePlanChange', ids[0])).toBe(1);
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should treat a message for another provider as invalid, and one of an undocumented type for an entitlement Google does not have as ignored', async () => {
    const other = await deliver({
      eventId: 'other-1',
      eventType: 'ENTITLEMENT_ACTIVE',
      providerId: 'someone-else',
      entitlement: { id: 'x' },
    });
    expect(other.outcome).toBe('invalid');
    const unknown = await deliver({
      eventId: 'unknown-1',
      eventType: 'ENTITLEMENT_TELEPORTED',
      providerId: PROVIDER,
      entitlement: { id: 'x' },
    });
    expect(unknown.outcome).toBe('ignored');
    const gone = await deliver({
      eventId: 'gone-1',
      eventType: 'ENTITLEMENT_ACTIVE',
      providerId: PROVIDER,
      entitlement: { id: 'no-such' },
    });
    expect(gone).toMatchObject({ outcome: 'ignored', reason: expect.stringContaining('404') });
    expect(
      (
        await deliver({
          eventId: 'gone-1',
          eventType: 'ENTITLEMENT_ACTIVE',
          providerId: PROVIDER,
          entitlement: { id: 'no-such' },
        })
      ).outcome,
    ).toBe('duplicate');
  });

  describe('a claim whose holder died (an instance killed mid-call)', () => {
    async function purchase(): Promise<{ id: string; creation: object }> {
      const sim = new MarketplaceSimulator({
        procurementUrl: stack.fake.url,
        providerId: PROVIDER,
        publish: async () => randomUUID(),
      });
      const { accountId } = await sim.signUpAccount();
      stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
      const { entitlementId, messages } = await sim.buy({ accountId, product: PRODUCT, plan: 'pro' });
      const creation = messages.find(
        (m) => (m as { eventType?: string }).eventType === 'ENTITLEMENT_CREATION_REQUESTED',
      )!;
      return { id: entitlementId!, creation };
    }
    const claimDoc = (id: string) => stack.db.collection('actions').doc(`approve:${id}`);
    /** An uncompleted approve claim whose lease ends `leaseMs` from now (negative: its holder is gone). */
    const leftClaim = (id: string, leaseMs: number) =>
      claimDoc(id).set({
        key: `approve:${id}`,
        kind: 'approve',
        claimedAt: new Date(Date.now() - 60_000),
        leaseUntil: new Date(Date.now() + leaseMs),
        completedAt: null,
      });

    it('should make the call when the holder died before making it (lease expired)', async () => {
      const { id, creation } = await purchase();
      await leftClaim(id, -60_000);
      expect((await deliver(creation)).outcome).toBe('applied');
      expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
      expect((await claimDoc(id).get()).get('completedAt')).not.toBeNull();
    });

    it('should not call again when the holder died after the call took effect', async () => {
      const { id, creation } = await purchase();
      const api = stack.app.app.get(ProcurementClient);
      await api.approveEntitlement(id); // the dead holder's call
      await leftClaim(id, -60_000);
      expect((await deliver(creation)).outcome).toBe('applied');
      // Google's record (newOfferStartTime) shows it approved: nothing is called, nothing re-parked.
      expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
      expect((await stack.store.getEntitlement(`gcp:${id}`))?.details.marketplace).toMatchObject({
        approval: 'approval_requested',
      });
    });

    it('should complete the claim, not release it, when approve is refused because Google approved meanwhile', async () => {
      const { id, creation } = await purchase();
      // Slow answers leave time to act between the service's read and its approve call.
      stack.fake.setLatency(400);
      const delivery = deliver(creation);
      try {
        await eventually(async () => stack.fake.countCalls('entitlements.get', id) > 0, 10_000);
        // Google approves by itself (automatic offer approval) while the service decides; then refuses its call.
        stack.fake.state.setEntitlement(PROVIDER, id, { newOfferStartTime: new Date().toISOString() });
        stack.fake.failNext(1, {
          status: 400,
          method: 'entitlements.approve',
          body: { error: { code: 400, message: 'Precondition check failed.', status: 'FAILED_PRECONDITION' } },
        });
        expect((await delivery).outcome).toBe('applied');
      } finally {
        stack.fake.setLatency(0);
      }
      expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
      expect((await claimDoc(id).get()).data()).toMatchObject({
        completedAt: expect.anything(),
        result: { recovered: true, answer: 'FAILED_PRECONDITION' },
      });
      expect((await stack.store.getEntitlement(`gcp:${id}`))?.details.marketplace).toMatchObject({
        approval: 'approval_requested',
      });
    });

    it('should nack, not ack, while another delivery holds an unexpired claim', async () => {
      const { id, creation } = await purchase();
      await leftClaim(id, 60_000);
      await expect(
        events.handle({ data: Buffer.from(JSON.stringify(creation)), messageId: 'held', transport: 'pubsub-push' }),
      ).rejects.toBeInstanceOf(TransientError);
      expect(stack.fake.countCalls('entitlements.approve', id)).toBe(0);
      expect(await stack.store.getEntitlement(`gcp:${id}`)).toBeNull();
    });
  });

  it('should nack on a transient Procurement failure and apply on redelivery', async () => {
    const simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async () => randomUUID(),
    });
    const { accountId } = await simulator.signUpAccount();
    const { messages } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const creation = messages.find(
      (m) => (m as { eventType?: string }).eventType === 'ENTITLEMENT_CREATION_REQUESTED',
    )!;
    stack.fake.failNext(4, { status: 503 });
    await expect(
      events.handle({ data: Buffer.from(JSON.stringify(creation)), messageId: 'm1', transport: 'pubsub-push' }),
    ).rejects.toBeInstanceOf(TransientError);
    const retried = await eventually(() => deliver(creation).then((r) => (r.outcome === 'applied' ? r : undefined)));
    expect(retried.outcome).toBe('applied');
  });
});
