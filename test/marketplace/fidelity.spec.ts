import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { UNMAPPED_PLAN_REJECTION } from '../../src/marketplace/events/decision.js';
import type { MarketplaceMessage } from '../../tools/fake-procurement/messages.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { APPROVER, startAdminStack, type AdminStack, type Caller } from '../admin/admin-stack.js';
import { configDir } from '../support/app.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { entitlementWhere, eventually, PRODUCT, PROVIDER } from '../support/marketplace.js';

/** The account the seller buys its own listing with, listed in marketplace.testAccounts. */
const TEST_ACCOUNT = 'E-5E11-E500-0000-0001';
const ENTERPRISE_TEXT = 'Thank you for your order. Our team reviews it within one business day.';
const PLAN_CHANGE_TEXT = 'Our team reviews your plan change within one business day.';

/**
 * Behaviours of the real Marketplace the fake models since issue 18 (automatic offer approval, direct
 * and rejected plan changes, stale account reads, accounts.reset, messageToUser), against the service
 * through the real bootstrap, the Firestore emulator and the generated client. Each test names the
 * defect it covers; each failed on the code before the fix.
 */
describe('Marketplace fidelity (emulators, the fake Procurement API as Google documents it)', () => {
  let stack: AdminStack;
  let approver: Caller;
  let viewer: Caller;

  beforeAll(async () => {
    const dir = configDir({
      // A listing plan whose product name differs from its Marketplace name (issue 18, defect 3).
      products: (p) => {
        p.sources.gcp[PRODUCT].plans['enterprise-annual'] = 'enterprise';
      },
      policy: (p) => {
        p.marketplace.testAccounts = [TEST_ACCOUNT];
        p.marketplace.messageToUser = {
          products: { demo: { entitlement: ENTERPRISE_TEXT, planChange: PLAN_CHANGE_TEXT } },
        };
      },
    });
    stack = await startAdminStack({ env: { CONFIG_DIR: dir } });
    approver = { token: await stack.idToken(APPROVER) };
    viewer = { apiKey: stack.keys.viewer };
  });
  afterAll(() => stack.close());

  async function approvedAccount(accountId?: string): Promise<string> {
    const { accountId: id } = await stack.deliver.signUpAccount(accountId ? { accountId } : {});
    expect((await stack.call('POST', `/admin/v1/accounts/${id}/approve`, approver)).status).toBe(200);
    return id!;
  }

  async function activeEntitlement(accountId: string, plan = 'pro'): Promise<string> {
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan });
    await stack.deliver.activate(entitlementId!);
    await entitlementWhere(stack.store, entitlementId!, (e) => e.active);
    return entitlementId!;
  }

  const google = (id: string) => stack.fake.state.inspectEntitlement(PROVIDER, id);
  const marketplaceOf = async (id: string) =>
    (await stack.store.getEntitlement(`gcp:${id}`))?.details.marketplace as Record<string, unknown> | undefined;

  /** A simulator that only collects what Google would publish, to deliver it by hand. */
  function collecting(): { simulator: MarketplaceSimulator; messages: MarketplaceMessage[] } {
    const messages: MarketplaceMessage[] = [];
    const simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (m) => (messages.push(m as MarketplaceMessage), randomUUID()),
    });
    return { simulator, messages };
  }

  const handle = (data: object) =>
    stack.events.handle({ data: Buffer.from(JSON.stringify(data)), messageId: randomUUID(), transport: 'pubsub-push' });

  describe('defect 1: approved but not yet active (newOfferStartTime) is not awaiting approval', () => {
    it('should take an offer Google approved itself as approved: no admin queue, no approve call, no re-park', async () => {
      // Sign-up still PENDING: a manual plan and an auto plan, both approved by Google (automatic offer approval).
      const { accountId } = await stack.deliver.signUpAccount();
      const start = new Date(Date.now() + 7 * 86_400_000).toISOString();
      const manual = await stack.deliver.buy({
        accountId,
        product: PRODUCT,
        plan: 'enterprise',
        automaticApproval: true,
        futureStart: start,
      });
      const auto = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro', automaticApproval: true });
      expect(manual.messages.map((m) => m.eventType)).toEqual(['ENTITLEMENT_OFFER_ACCEPTED']);

      for (const { entitlementId } of [manual, auto]) {
        const stored = await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval');
        expect(stored.details.marketplace).toMatchObject({ approval: 'approval_requested' });
        expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);
        // Nothing waits for the seller, so the buyer is told nothing.
        expect(stack.fake.countCalls('entitlements.patch', entitlementId)).toBe(0);
      }
      expect((await stack.store.getEntitlement(`gcp:${manual.entitlementId}`))?.validFrom?.toISOString()).toBe(
        new Date(start).toISOString(),
      );
      const queue = await stack.call('GET', '/admin/v1/approvals', viewer);
      expect(queue.body.items.map((e: { id: string }) => e.id)).not.toContain(`gcp:${manual.entitlementId}`);

      // Approving the account later approves nothing twice; an admin's approval is refused with the reason.
      const account = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
      expect(account.body).toMatchObject({ approvedNow: true, entitlementsApproved: 0 });
      const admin = await stack.call('POST', `/admin/v1/entitlements/gcp:${manual.entitlementId}/approve`, approver);
      expect(admin.status).toBe(409);
      expect(admin.body.message).toContain('approved already');
      expect(stack.fake.countCalls('entitlements.approve', manual.entitlementId)).toBe(0);
      expect(stack.fake.countCalls('entitlements.approve', auto.entitlementId)).toBe(0);
      expect(await marketplaceOf(auto.entitlementId!)).toMatchObject({ approval: 'approval_requested' });

      await stack.deliver.activate(auto.entitlementId!);
      await entitlementWhere(stack.store, auto.entitlementId!, (e) => e.active);
    });

    it('should not call approve (and re-park on its refusal) for an auto plan on an approved account', async () => {
      const accountId = await approvedAccount();
      const { entitlementId } = await stack.deliver.buy({
        accountId,
        product: PRODUCT,
        plan: 'basic',
        automaticApproval: true,
      });
      expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);
      expect(await marketplaceOf(entitlementId!)).toMatchObject({ approval: 'approval_requested' });
      expect(await stack.db.collection('actions').doc(`approve:${entitlementId}`).get()).toHaveProperty(
        'exists',
        false,
      );
    });
  });

  describe('defect 2: an account can be approved again after accounts.reset', () => {
    it('should reset a test account only when it is marked as one, audited, and approve it again afterwards', async () => {
      const accountId = await approvedAccount();
      const first = await activeEntitlement(accountId);

      const unmarked = await stack.call('POST', `/admin/v1/accounts/${accountId}/reset`, approver, {
        reason: 'test the purchase again',
      });
      expect(unmarked.status).toBe(409);
      expect(unmarked.body).toMatchObject({ code: 'conflict', details: { reason: 'not_a_test_account' } });
      expect(stack.fake.countCalls('accounts.reset', accountId)).toBe(0);
      const asViewer = await stack.call('POST', `/admin/v1/accounts/${accountId}/reset`, viewer, {
        reason: 'x',
        testAccount: true,
      });
      expect(asViewer.status).toBe(403);

      const reset = await stack.call('POST', `/admin/v1/accounts/${accountId}/reset`, approver, {
        reason: 'test the purchase again',
        testAccount: true,
      });
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({
        accountId,
        action: 'reset',
        before: { signup: { state: 'APPROVED' } },
        procurement: { call: 'accounts.reset', ok: true },
        testAccount: 'request',
        ledger: { outcome: 'applied' },
        entitlementsMirrored: 1,
        auditId: expect.any(String),
      });
      expect(await stack.store.getEntitlement(`gcp:${first}`)).toMatchObject({ status: 'cancelled', active: false });
      const shown = await stack.call('GET', `/admin/v1/accounts/${accountId}`, viewer);
      expect(shown.body.account.signup.state).toBe('PENDING');

      // The re-test: a new purchase is parked for the sign-up, and the account can be approved again.
      const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
      expect(await marketplaceOf(entitlementId!)).toMatchObject({ approval: 'awaiting_account' });
      const again = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ approvedNow: true, entitlementsApproved: 1 });
      expect(stack.fake.countCalls('accounts.approve', accountId)).toBe(2);
      expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);

      const audit = await stack.db.collection('audit').where('target.id', '==', accountId).get();
      expect(
        audit.docs
          .map((d) => d.data())
          .filter((a) => a.action === 'account.reset')
          .map((a) => a.outcome)
          .sort(),
      ).toEqual(['done', 'refused']);
    });

    it('should approve an account again after Google reset it elsewhere (the codelab tool), with the purchase parked since', async () => {
      const accountId = await approvedAccount();
      // accounts.reset made outside the service: sign-up PENDING again, and Google announces nothing.
      expect(stack.fake.state.resetAccount(PROVIDER, accountId).ok).toBe(true);
      const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
      expect(await marketplaceOf(entitlementId!)).toMatchObject({ approval: 'awaiting_account' });

      const again = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ approvedNow: true, entitlementsApproved: 1 });
      expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
      // Within one approval round the claim still holds: a second approval is refused, with no call.
      expect((await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver)).status).toBe(409);
      expect(stack.fake.countCalls('accounts.approve', accountId)).toBe(2);
    });

    it('should reset an account listed in marketplace.testAccounts without the flag, and forget its link', async () => {
      await approvedAccount(TEST_ACCOUNT);
      await activeEntitlement(TEST_ACCOUNT);
      const reset = await stack.call('POST', `/admin/v1/accounts/${TEST_ACCOUNT}/reset`, approver, {
        reason: 'seller test',
      });
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({ testAccount: 'config', entitlementsMirrored: 1 });
      const [account] = stack.fake.state.allAccounts(PROVIDER).filter((a) => a.name.endsWith(`/${TEST_ACCOUNT}`));
      expect(account?.approvals[0]?.state).toBe('PENDING');
      expect(await accessInvariantViolations(stack.db)).toEqual([]);
    });
  });

  describe('defects 3 and 4: plan-change policy by the mapped plan; unmappable plans never approved', () => {
    it('should apply the manual rule of enterprise to a change to enterprise-annual, and tell the buyer', async () => {
      const accountId = await approvedAccount();
      const id = await activeEntitlement(accountId);
      await stack.deliver.changePlan(id, 'enterprise-annual');
      const stored = await entitlementWhere(stack.store, id, (e) => e.status === 'pending_plan_change');
      expect(stored.pendingPlan).toEqual({ plan: 'enterprise', providerPlan: 'enterprise-annual' });
      expect(stored.details.marketplace).toMatchObject({ planChangeApproval: 'awaiting_admin' });
      expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(0);
      expect(google(id)).toMatchObject({ ok: true, value: { entitlement: { messageToUser: PLAN_CHANGE_TEXT } } });

      const approved = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/approve`, approver, {
        plan: 'enterprise-annual',
      });
      expect(approved.status).toBe(200);
      // The state changed (PENDING_PLAN_CHANGE): Google cleared the buyer's text itself.
      expect(google(id)).toMatchObject({
        ok: true,
        value: { entitlement: { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE' } },
      });
      const after = google(id);
      expect(after.ok && after.value.entitlement.messageToUser).toBeFalsy();
    });

    it('should leave a change to a plan the catalog cannot map to an admin, saying why, and refuse to approve it', async () => {
      const accountId = await approvedAccount();
      const id = await activeEntitlement(accountId);
      await stack.deliver.changePlan(id, 'platinum');
      const stored = await entitlementWhere(stack.store, id, (e) => e.status === 'pending_plan_change');
      expect(stored.details.marketplace).toMatchObject({
        planChangeApproval: 'awaiting_admin',
        planChangeReason: expect.stringContaining('unknown plan "platinum"'),
      });
      expect(stored.pendingPlan).toEqual({ plan: null, providerPlan: 'platinum' });
      expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(0);

      const queue = await stack.call('GET', '/admin/v1/plan-changes', viewer);
      const listed = queue.body.items.find((e: { id: string }) => e.id === `gcp:${id}`);
      expect(listed?.details.marketplace.planChangeReason).toContain('config/products.yaml');

      const approve = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/approve`, approver, {
        plan: 'platinum',
      });
      expect(approve.status).toBe(409);
      expect(approve.body.message).toContain('cannot be provisioned');
      expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(0);

      // Rejecting it: Google publishes ENTITLEMENT_PLAN_CHANGE_CANCELLED; the entitlement stays on its plan.
      const rejected = await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/plan-change/reject`, approver, {
        plan: 'platinum',
        reason: 'not sold',
      });
      expect(rejected.status).toBe(200);
      await stack.fake.idle();
      const kept = await entitlementWhere(stack.store, id, (e) => e.status === 'active');
      expect(kept).toMatchObject({ plan: 'pro', pendingPlan: null, active: true });
      expect(kept.lastEvent).toMatchObject({
        type: expect.stringMatching(/PLAN_CHANGE_CANCELLED|ADMIN_PLAN_CHANGE_REJECTED/),
      });
    });

    it('should apply a plan change Google makes at once (no term to wait for) from its ENTITLEMENT_PLAN_CHANGED', async () => {
      const accountId = await approvedAccount();
      const id = await activeEntitlement(accountId);
      await stack.deliver.changePlan(id, 'basic', { takesEffect: 'now' });
      expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(1);
      await stack.fake.idle();
      await entitlementWhere(stack.store, id, (e) => e.status === 'active' && e.plan === 'basic' && !e.pendingPlan);
    });
  });

  describe('defect 5: messages without providerId', () => {
    it("should accept one and check the provider on the fetched entitlement, refusing another provider's", async () => {
      const accountId = await approvedAccount();
      const { simulator, messages } = collecting();
      const ours = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
      const theirs = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
      stack.fake.state.setEntitlement(PROVIDER, theirs.entitlementId!, { provider: 'someone-else' });
      const withoutProvider = (id: string) => {
        const { providerId, ...rest } = messages.find(
          (m) => m.eventType === 'ENTITLEMENT_CREATION_REQUESTED' && 'entitlement' in m && m.entitlement.id === id,
        )!;
        expect(providerId).toBe(PROVIDER);
        return rest;
      };

      expect(await handle(withoutProvider(ours.entitlementId!))).toMatchObject({ outcome: 'applied' });
      expect(stack.fake.countCalls('entitlements.approve', ours.entitlementId)).toBe(1);
      const refused = await handle(withoutProvider(theirs.entitlementId!));
      expect(refused).toMatchObject({ outcome: 'invalid', reason: expect.stringContaining('"someone-else"') });
      expect(stack.fake.countCalls('entitlements.approve', theirs.entitlementId)).toBe(0);
      expect(await stack.store.getEntitlement(`gcp:${theirs.entitlementId}`)).toBeNull();
    });
  });

  describe('defect 9: accounts.approve read back while Google still shows PENDING', () => {
    it('should retry the read briefly and approve the parked entitlements at once', async () => {
      const { accountId } = await stack.deliver.signUpAccount();
      const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
      expect(await marketplaceOf(entitlementId!)).toMatchObject({ approval: 'awaiting_account' });
      stack.fake.state.setConsistency({ staleAccountReads: 2 });
      try {
        const approved = await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
        expect(approved.status).toBe(200);
        expect(approved.body).toMatchObject({ approvedNow: true, entitlementsApproved: 1 });
      } finally {
        stack.fake.state.setConsistency({ staleAccountReads: 0 });
      }
      expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
      expect(stack.fake.countCalls('accounts.get', accountId)).toBeGreaterThanOrEqual(3);
    });
  });

  describe('what the API offers', () => {
    it('should tell the buyer while an order waits for an admin, once, and clear it when approved', async () => {
      const accountId = await approvedAccount();
      const { simulator, messages } = collecting();
      const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
      const id = entitlementId!;
      for (const m of [...messages, ...messages]) await handle(m); // delivered twice
      expect(google(id)).toMatchObject({ ok: true, value: { entitlement: { messageToUser: ENTERPRISE_TEXT } } });
      expect(stack.fake.countCalls('entitlements.patch', id)).toBe(1);
      // The record carries the updateTime the patch gave the entitlement: no drift for reconciliation.
      const inspected = google(id);
      expect(await marketplaceOf(id)).toMatchObject({
        approval: 'awaiting_admin',
        updateTime: inspected.ok ? inspected.value.entitlement.updateTime : 'x',
      });

      expect((await stack.call('POST', `/admin/v1/entitlements/gcp:${id}/approve`, approver)).status).toBe(200);
      const decided = google(id);
      expect(decided.ok && decided.value.entitlement.messageToUser).toBeFalsy();
      expect(stack.fake.countCalls('entitlements.patch', id)).toBe(2);
      expect(await marketplaceOf(id)).toMatchObject({
        approval: 'approval_requested',
        updateTime: decided.ok ? decided.value.entitlement.updateTime : 'x',
      });
    });

    it('should keep entitlementBenefitIds, consumers and newOfferEndTime in details.marketplace', async () => {
      const accountId = await approvedAccount();
      const end = new Date(Date.now() + 365 * 86_400_000).toISOString();
      const bought = stack.fake.state.createEntitlement(PROVIDER, {
        accountId,
        product: PRODUCT,
        plan: 'pro',
        automaticApproval: true,
        offerEndTime: end,
        consumers: [{ project: 'projects/123456789012' }],
        entitlementBenefitIds: ['benefit-a', 'benefit-b'],
      });
      if (!bought.ok) throw new Error(bought.error.message);
      for (const m of bought.value.messages) await handle(m);
      const id = bought.value.entitlement!.name.split('/').at(-1)!;
      const marketplace = await eventually(() => marketplaceOf(id));
      expect(marketplace).toMatchObject({
        entitlementBenefitIds: ['benefit-a', 'benefit-b'],
        consumers: ['projects/123456789012'],
        newOfferEndTime: new Date(end),
        orderId: bought.value.entitlement!.orderId,
      });
    });
  });
});

describe('Marketplace fidelity: policy rejects plan changes to plans the catalog cannot map', () => {
  let stack: AdminStack;

  beforeAll(async () => {
    const dir = configDir({ policy: (p) => (p.marketplace.approvals.unmappedPlanChange = 'reject') });
    stack = await startAdminStack({ env: { CONFIG_DIR: dir } });
  });
  afterAll(() => stack.close());

  it('should reject it once, with the documented reason, and keep the entitlement on its plan', async () => {
    const { accountId } = await stack.deliver.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await stack.deliver.activate(id);
    await stack.deliver.changePlan(id, 'platinum');
    await stack.fake.idle();

    expect(stack.fake.countCalls('entitlements.rejectPlanChange', id)).toBe(1);
    expect(stack.fake.countCalls('entitlements.approvePlanChange', id)).toBe(0);
    expect(stack.fake.state.inspectEntitlement(PROVIDER, id)).toMatchObject({
      ok: true,
      value: { planChangeRejectionReason: UNMAPPED_PLAN_REJECTION, entitlement: { state: 'ENTITLEMENT_ACTIVE' } },
    });
    const stored = await entitlementWhere(stack.store, id, (e) => e.status === 'active');
    expect(stored).toMatchObject({ plan: 'pro', pendingPlan: null, active: true });
    const claim = await stack.db.collection('actions').where('kind', '==', 'rejectPlanChange').get();
    expect(claim.docs.map((d) => d.get('key'))).toEqual([expect.stringMatching(`^rejectPlanChange:${id}:platinum:`)]);
  });
});
