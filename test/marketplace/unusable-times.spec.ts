import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MarketplaceMessage } from '../../tools/fake-procurement/messages.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { accountSubject } from '../../src/entitlements/subject.js';
import { entitlementWhere, PRODUCT, PROVIDER } from '../support/marketplace.js';
import { startAdminStack, type AdminStack, type Caller } from '../admin/admin-stack.js';

/**
 * Issue 26 for the Marketplace: the Pub/Sub message is a pointer, the unusable value is in the
 * entitlement fetched from the Procurement API (the faithful fake, its record changed behind the
 * service's back). The message is recorded `invalid` with the field named and acked; the stored
 * entitlement and access summary are untouched; the same message with the value readable applies;
 * an approver resolves the refused one with an explicit end.
 */
describe('Marketplace: an unusable fetched end time of a pending cancellation (docs/input-rules.md)', () => {
  let stack: AdminStack;
  let approver: Caller;
  /** Messages Google would publish for the next action, held back so the fake can be changed first. */
  let held: MarketplaceMessage[] = [];
  let holding: MarketplaceSimulator;

  beforeAll(async () => {
    stack = await startAdminStack();
    approver = { apiKey: stack.keys.approver };
    holding = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (message) => {
        held.push(message as MarketplaceMessage);
        return randomUUID();
      },
    });
  });
  afterAll(() => stack.close());

  /** An active entitlement of an approved account; its cancellation at period end held back. */
  async function pendingCancellation(): Promise<{ id: string; accountId: string; messageId: string }> {
    const { accountId } = await stack.deliver.signUpAccount();
    expect((await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver)).status).toBe(200);
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await entitlementWhere(stack.store, id, (e) => e.status === 'pending_approval');
    await stack.deliver.activate(id);
    await entitlementWhere(stack.store, id, (e) => e.active);
    held = [];
    await holding.cancel(id, { atPeriodEnd: true });
    expect(held.map((m) => m.eventType)).toEqual(['ENTITLEMENT_PENDING_CANCELLATION']);
    return { id, accountId: accountId!, messageId: randomUUID() };
  }

  const deliverHeld = (messageId: string) =>
    stack.events.handle({ data: Buffer.from(JSON.stringify(held[0])), messageId, transport: 'pubsub-push' });

  async function snapshot(id: string, accountId: string) {
    const [entitlement, access] = await Promise.all([
      stack.db.collection('entitlements').doc(`gcp:${id}`).get(),
      stack.db.collection('access').doc(accountSubject(accountId).key).get(),
    ]);
    expect(entitlement.exists && access.exists).toBe(true);
    return { entitlement: entitlement.data(), access: access.data() };
  }

  it('should record the message invalid naming subscriptionEndTime, write nothing, and apply it once readable', async () => {
    const { id, accountId, messageId } = await pendingCancellation();
    const before = await snapshot(id, accountId);
    stack.fake.state.setEntitlement(PROVIDER, id, { subscriptionEndTime: 'at the end of the term' });

    const refused = await deliverHeld(messageId);
    expect(refused).toMatchObject({
      outcome: 'invalid',
      reason: expect.stringContaining('subscriptionEndTime: not an RFC 3339 timestamp'),
    });
    const eventId = `gcp:${(held[0] as { eventId: string }).eventId}`;
    const listed = await stack.call('GET', '/admin/v1/events?outcome=invalid&source=gcp&pageSize=100', approver);
    expect(listed.body.items.find((e: { id: string }) => e.id === eventId)).toMatchObject({
      refusedFields: ['subscriptionEndTime'],
    });
    expect(await snapshot(id, accountId)).toEqual(before);
    const line = stack
      .logLines()
      .find((l) => l.message === 'inbound event recorded' && l.eventKey === eventId.slice(4));
    expect(line).toMatchObject({ outcome: 'invalid', fields: ['subscriptionEndTime'] });

    // Control: the same message once the fetched value is readable (a redelivery re-runs an invalid record).
    const end = '2027-01-01T00:00:00Z';
    stack.fake.state.setEntitlement(PROVIDER, id, { subscriptionEndTime: end });
    expect(await deliverHeld(messageId)).toMatchObject({ outcome: 'applied' });
    expect(await stack.store.getEntitlement(`gcp:${id}`)).toMatchObject({
      status: 'pending_cancellation',
      active: true,
      validUntil: new Date(end),
    });
  });

  it('should let an approver apply it with an explicit end, once, attributed to the approver', async () => {
    const { id, accountId, messageId } = await pendingCancellation();
    stack.fake.state.setEntitlement(PROVIDER, id, { subscriptionEndTime: '1764666000' });
    expect((await deliverHeld(messageId)).outcome).toBe('invalid');
    const eventId = `gcp:${(held[0] as { eventId: string }).eventId}`;

    const resolved = await stack.call('POST', `/admin/v1/events/${eventId}/resolve`, approver, {
      validUntil: '2026-12-31T23:00:00Z',
      reason: 'term end from the Producer Portal',
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      result: { outcome: 'applied' },
      window: { overridden: ['subscriptionEndTime'] },
      after: { outcome: 'applied', resolution: { actor: { kind: 'api-key', id: 'robot-approver' } } },
    });
    const e = await stack.store.getEntitlement(`gcp:${id}`);
    expect(e).toMatchObject({ status: 'pending_cancellation', validUntil: new Date('2026-12-31T23:00:00Z') });
    const detail = await stack.call('GET', `/admin/v1/entitlements/gcp:${id}`, approver);
    expect(detail.body.history[0]).toMatchObject({ actor: { type: 'admin', id: 'robot-approver' } });
    expect((await stack.store.getAccess(accountSubject(accountId).key))?.entitlements[`gcp:${id}`]).toMatchObject({
      status: 'pending_cancellation',
      validUntil: new Date('2026-12-31T23:00:00Z'),
    });

    const again = await stack.call('POST', `/admin/v1/events/${eventId}/resolve`, approver, {
      validUntil: 'open-ended',
      reason: 'again',
    });
    expect(again.status).toBe(409);
    // Pub/Sub redelivers the message: a duplicate of the resolved record.
    expect(await deliverHeld(messageId)).toMatchObject({ outcome: 'duplicate' });
  });
});
