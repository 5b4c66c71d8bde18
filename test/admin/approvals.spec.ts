import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { entitlementWhere, PRODUCT, PROVIDER } from '../support/marketplace.js';
import { APPROVER, startAdminStack, type AdminStack, type Caller } from './admin-stack.js';

describe('Admin API: approvals, plan changes and accounts (real bootstrap, emulators, fake Procurement API)', () => {
  let stack: AdminStack;
  let approver: Caller;
  let viewer: Caller;

  beforeAll(async () => {
    stack = await startAdminStack();
    approver = { token: await stack.idToken(APPROVER) };
    viewer = { apiKey: stack.keys.viewer };
  });
  afterAll(() => stack.close());

  /** An account whose sign-up an approver approved through the API. */
  async function approvedAccount(): Promise<string> {
    const { accountId } = await stack.deliver.signUpAccount();
    const response = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
    expect(response.status).toBe(200);
    return accountId!;
  }

  async function auditOf(targetId: string) {
    const snap = await stack.db.collection('audit').where('target.id', '==', targetId).get();
    return snap.docs.map((d) => d.data()).sort((a, b) => a.at.toMillis() - b.at.toMillis());
  }

  it('should approve a pending entitlement once, audit the approver, and show it active after ENTITLEMENT_ACTIVE', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const id = entitlementId!;
    const pending = await entitlementWhere(stack.store, id, (e) => e.status === 'pending_approval');
    expect(pending.details).toMatchObject({ marketplace: { approval: 'awaiting_admin' } });

    const listed = await stack.call('GET', '/admin/v1/approvals', viewer);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((e: { id: string }) => e.id)).toContain(`gcp:${id}`);

    const approved = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver, {
      reason: 'contract signed',
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      entitlementId: `gcp:${id}`,
      action: 'approve',
      before: { state: 'ENTITLEMENT_ACTIVATION_REQUESTED', plan: 'enterprise' },
      procurement: { call: 'entitlements.approve', ok: true },
      ledger: { outcome: 'applied' },
      auditId: expect.any(String),
    });
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);

    const audit = await auditOf(`gcp:${id}`);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: { kind: 'user', id: APPROVER },
      role: 'approver',
      action: 'entitlement.approve',
      reason: 'contract signed',
      outcome: 'done',
      answer: { procurement: { call: 'entitlements.approve', ok: true }, ledger: { outcome: 'applied' } },
    });

    // The decision is on the entitlement, attributed to the admin, and it left the admin's queue.
    const detail = await stack.call('GET', `/admin/v1/entitlements/gcp:${id}`, viewer);
    expect(detail.status).toBe(200);
    expect(detail.body.entitlement).toMatchObject({
      status: 'pending_approval',
      details: { marketplace: { approval: 'approval_requested' } },
    });
    expect(detail.body.history[0]).toMatchObject({
      eventType: 'ADMIN_ENTITLEMENT_APPROVED',
      actor: { type: 'admin', id: APPROVER },
    });
    expect(detail.body.account).toMatchObject({ accountId, signup: { state: 'APPROVED' } });
    const queue = await stack.call('GET', '/admin/v1/approvals', viewer);
    expect(queue.body.items.map((e: { id: string }) => e.id)).not.toContain(`gcp:${id}`);

    // A late redelivery of the purchase must not put the approved entitlement back in the queue.
    const redelivered = {
      eventId: `late-${id}`,
      eventType: 'ENTITLEMENT_CREATION_REQUESTED',
      providerId: PROVIDER,
      entitlement: { id },
    };
    await stack.app.app
      .get(MarketplaceEvents)
      .handle({ data: Buffer.from(JSON.stringify(redelivered)), messageId: 'late', transport: 'pubsub-push' });
    expect((await stack.store.getEntitlement(`gcp:${id}`))?.details).toMatchObject({
      marketplace: { approval: 'approval_requested' },
    });

    // Google still shows ACTIVATION_REQUESTED until it activates: the claim refuses a second call.
    const again = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, { apiKey: stack.keys.approver });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: 'conflict',
      details: {
        procurement: { state: 'ENTITLEMENT_ACTIVATION_REQUESTED' },
        decision: { by: 'admin', actor: APPROVER },
      },
    });
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);

    await stack.deliver.activate(id);
    const active = await entitlementWhere(stack.store, id, (e) => e.active);
    expect(active).toMatchObject({ status: 'active', plan: 'enterprise' });

    const afterActive = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver);
    expect(afterActive.status).toBe(409);
    expect(afterActive.body).toMatchObject({
      code: 'conflict',
      details: { procurement: { state: 'ENTITLEMENT_ACTIVE', plan: 'enterprise' } },
    });
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
    expect((await auditOf(`gcp:${id}`)).map((a) => a.outcome)).toEqual(['done', 'refused', 'refused']);
  });

  it('should refuse a reason over 256 bytes naming the limit, then reject once and keep the entitlement as rejected', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const id = entitlementId!;
    await entitlementWhere(stack.store, id, (e) => e.status === 'pending_approval');

    // 129 characters but 258 bytes: the limit is in bytes, as the Procurement API counts.
    const tooLong = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/reject`, approver, {
      reason: 'é'.repeat(129),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ code: 'validation_failed', details: { fields: [{ field: 'reason' }] } });
    expect(tooLong.body.message).toContain('258 bytes');
    expect(tooLong.body.message).toContain('at most 256 bytes');
    expect(stack.fake.countCalls('entitlements.reject', id)).toBe(0);

    const exactly = 'x'.repeat(256);
    const rejected = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/reject`, approver, { reason: exactly });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ action: 'reject', ledger: { outcome: 'applied' } });
    expect(stack.fake.countCalls('entitlements.reject', id)).toBe(1);
    const removed = stack.fake.state.removedEntitlement(PROVIDER, id);
    expect(removed).toMatchObject({ reason: exactly });

    const stored = await entitlementWhere(stack.store, id, (e) => e.status === 'rejected');
    expect(stored).toMatchObject({
      active: false,
      details: { marketplace: { approval: null, rejection: { reason: exactly } } },
    });

    const again = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/reject`, approver, { reason: 'again' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: 'conflict',
      details: { procurement: null, stored: { status: 'rejected' } },
    });
    expect(stack.fake.countCalls('entitlements.reject', id)).toBe(1);
  });

  it("should answer 409 with the account's state when its sign-up is not approved, and leave the approval possible", async () => {
    const { entitlementId, accountId } = await stack.deliver.buy({ product: PRODUCT, plan: 'enterprise' });
    const id = entitlementId!;
    const early = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: 'conflict',
      details: {
        procurement: { state: 'ENTITLEMENT_ACTIVATION_REQUESTED' },
        account: { signup: { state: 'PENDING' } },
      },
    });
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1); // the refused call

    // The refusal released the claim: once the account is approved, the approval goes through.
    expect((await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver)).status).toBe(200);
    const approved = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver);
    expect(approved.status).toBe(200);
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(2);
  });

  it('should refuse to reject an entitlement that was approved already', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const id = entitlementId!;
    expect((await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver)).status).toBe(200);
    const rejected = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/reject`, approver, {
      reason: 'changed my mind',
    });
    expect(rejected.status).toBe(409);
    expect(rejected.body.message).toContain('Already approved');
    expect(stack.fake.countCalls('entitlements.reject', id)).toBe(0);
  });

  it('should answer 409 with the current state when a plan-change approval names a stale plan, and approve the named one', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1); // pro is approved by policy
    await stack.deliver.activate(id);
    await stack.deliver.changePlan(id, 'enterprise'); // a change to enterprise waits for an admin
    await entitlementWhere(stack.store, id, (e) => e.status === 'pending_plan_change');

    const queue = await stack.call('GET', '/admin/v1/plan-changes', viewer);
    expect(queue.body.items.map((e: { id: string }) => e.id)).toContain(`gcp:${id}`);

    const stale = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/approve`, approver, {
      plan: 'basic',
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      code: 'conflict',
      details: {
        procurement: { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', plan: 'pro', newPendingPlan: 'enterprise' },
      },
    });
    expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(0);

    const approved = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/approve`, approver, {
      plan: 'enterprise',
    });
    expect(approved.status).toBe(200);
    expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(1);
    const again = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/approve`, approver, {
      plan: 'enterprise',
    });
    expect(again.status).toBe(409);
    expect(again.body.details.procurement.state).toBe('ENTITLEMENT_PENDING_PLAN_CHANGE');
    expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(1);

    await stack.deliver.completePlanChange(id);
    await entitlementWhere(stack.store, id, (e) => e.status === 'active' && e.plan === 'enterprise');
  });

  it('should reject a plan change and keep the current plan', async () => {
    const accountId = await approvedAccount();
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'basic' });
    const id = entitlementId!;
    await stack.deliver.activate(id);
    await stack.deliver.changePlan(id, 'enterprise');
    await entitlementWhere(stack.store, id, (e) => e.status === 'pending_plan_change');

    const rejected = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/reject`, approver, {
      plan: 'enterprise',
      reason: 'enterprise needs a contract',
    });
    expect(rejected.status).toBe(200);
    expect(stack.fake.countCalls('entitlements.rejectPlanChange', id)).toBe(1);
    const stored = await entitlementWhere(stack.store, id, (e) => e.status === 'active');
    expect(stored).toMatchObject({ plan: 'basic', pendingPlan: null, active: true });
    const [audit] = await auditOf(`gcp:${id}`);
    expect(audit).toMatchObject({
      action: 'planChange.reject',
      target: { plan: 'enterprise' },
      reason: 'enterprise needs a contract',
    });
  });

  it('should approve an account once and reject a pending one, mirroring the sign-up state', async () => {
    const { accountId } = await stack.deliver.signUpAccount();
    const first = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ approvedNow: true, before: { signup: { state: 'PENDING' } } });
    const second = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
    expect(second.status).toBe(409);
    expect(second.body.details.procurement.signup.state).toBe('APPROVED');
    expect(stack.fake.countCalls('accounts.approve', accountId)).toBe(1);

    const other = (await stack.deliver.signUpAccount()).accountId!;
    const rejected = await stack.call('POST', `/admin/v1/accounts/${other}/reject`, approver, {
      reason: 'no such customer',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.ledger).toEqual({ outcome: 'applied' });
    const shown = await stack.call('GET', `/admin/v1/accounts/${other}`, viewer);
    expect(shown.body.account.signup.state).toBe('REJECTED');
    const again = await stack.call('POST', `/admin/v1/accounts/${other}/reject`, approver, { reason: 'again' });
    expect(again.status).toBe(409);
    expect(stack.fake.countCalls('accounts.reject', other)).toBe(1);
    const google = stack.fake.state.allAccounts(PROVIDER).find((a) => a.name?.endsWith(`/${other}`));
    expect(google?.approvals).toEqual([
      expect.objectContaining({ name: 'signup', state: 'REJECTED', reason: 'no such customer' }),
    ]);
  });

  it('should page through entitlements with an opaque cursor and refuse a forged one', async () => {
    const accountId = await approvedAccount();
    for (let i = 0; i < 3; i++) await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'basic' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `account=${accountId}&pageSize=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await stack.call('GET', `/admin/v1/entitlements?${query}`, viewer);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    expect([...seen].sort()).toEqual(seen);

    const forged = await stack.call('GET', '/admin/v1/entitlements?cursor=not*base64', viewer);
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('validation_failed');
    const tooBig = await stack.call('GET', '/admin/v1/entitlements?pageSize=101', viewer);
    expect(tooBig.status).toBe(400);
  });
});
