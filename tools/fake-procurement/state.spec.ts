import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { monotonicClock, parseTimestamp } from './clock.js';
import type { ApiError, Result } from './errors.js';
import type { EntitlementMessage, MarketplaceMessage } from './messages.js';
import { ProcurementState, REASON_MAX_BYTES, truncateReason } from './state.js';

const P = 'acme-saas-public';
const PRODUCT = 'acme-saas.endpoints.acme-public.cloud.goog';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
}

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.status}: ${result.error.message}`);
  return result.value;
}

function error(result: Result<unknown>): ApiError {
  if (result.ok) throw new Error('expected a refusal, got success');
  return result.error;
}

function types(messages: MarketplaceMessage[]): string[] {
  return messages.map((m) => m.eventType);
}

/** Google's samples all share one key set per message kind. */
function keyShape(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return typeof value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keyShape(v)]));
}

describe('ProcurementState', () => {
  let state: ProcurementState;
  let accountId: string;

  beforeEach(() => {
    // A frozen wall clock: every change still gets a later updateTime.
    state = new ProcurementState({
      providerIds: [P],
      clock: monotonicClock(() => Date.parse('2026-11-02T10:15:30.123Z')),
    });
    accountId =
      value(state.createAccount(P, { accountId: 'E-1A2B-3C4D-5E6F' }))
        .account?.name.split('/')
        .at(-1) ?? '';
  });

  function buy(options: Partial<Parameters<ProcurementState['createEntitlement']>[1]> = {}): string {
    const outcome = value(
      state.createEntitlement(P, { accountId, product: PRODUCT, plan: 'pro', offerDuration: 'P1Y', ...options }),
    );
    return outcome.entitlement?.name.split('/').at(-1) ?? '';
  }

  function approveSignup(): void {
    value(state.approveAccount(P, accountId, { approvalName: 'signup' }));
  }

  function activeEntitlement(): string {
    approveSignup();
    const id = buy();
    value(state.approveEntitlement(P, id));
    value(state.activateEntitlement(P, id));
    return id;
  }

  describe('accounts', () => {
    it('should create an active account whose signup approval is pending, announced by ACCOUNT_ACTIVE', () => {
      const outcome = value(state.createAccount(P, { accountId: 'E-0001' }));

      expect(outcome.account).toMatchObject({
        name: `providers/${P}/accounts/E-0001`,
        provider: P,
        state: 'ACCOUNT_ACTIVE',
        approvals: [{ name: 'signup', state: 'PENDING' }],
      });
      expect(keyShape(outcome.account)).toEqual(keyShape(fixture('account-signup-pending.json')));
      expect(outcome.messages).toEqual([
        {
          eventId: expect.stringMatching(/^ACCOUNT_ACTIVE-[0-9a-f-]{36}$/),
          eventType: 'ACCOUNT_ACTIVE',
          providerId: P,
          account: { id: 'E-0001', updateTime: outcome.account?.updateTime },
        },
      ]);
      expect(keyShape(outcome.messages[0])).toEqual(keyShape(fixture('message-account-active.json')));
    });

    it('should publish the deprecated ACCOUNT_CREATION_REQUESTED or nothing only when asked to', () => {
      expect(types(value(state.createAccount(P, { accountEvent: 'ACCOUNT_CREATION_REQUESTED' })).messages)).toEqual([
        'ACCOUNT_CREATION_REQUESTED',
      ]);
      expect(value(state.createAccount(P, { accountEvent: 'NONE' })).messages).toEqual([]);
    });

    it('should approve the signup approval when no approval name is given', () => {
      const account = value(state.approveAccount(P, accountId, { reason: 'signed up' }));

      expect(account.approvals).toEqual([
        { name: 'signup', state: 'APPROVED', reason: 'signed up', updateTime: account.updateTime },
      ]);
    });

    it('should refuse an unknown approval name with INVALID_ARGUMENT', () => {
      expect(error(state.approveAccount(P, accountId, { approvalName: 'billing' })).status).toBe('INVALID_ARGUMENT');
    });

    it('should refuse approving an approval that is already APPROVED with FAILED_PRECONDITION', () => {
      approveSignup();

      expect({ error: error(state.approveAccount(P, accountId, { approvalName: 'signup' })) }).toEqual(
        fixture('error-failed-precondition.json'),
      );
    });

    it('should let a rejected approval be approved later', () => {
      expect(value(state.rejectAccount(P, accountId, { reason: 'no' })).approvals[0]).toMatchObject({
        state: 'REJECTED',
        reason: 'no',
      });

      expect(value(state.approveAccount(P, accountId)).approvals[0]).toMatchObject({ state: 'APPROVED' });
    });

    it('should cancel every entitlement and put signup back to PENDING on reset', () => {
      const id = activeEntitlement();

      const account = value(state.resetAccount(P, accountId));

      expect(account.approvals[0]?.state).toBe('PENDING');
      expect(value(state.getEntitlement(P, id)).state).toBe('ENTITLEMENT_CANCELLED');
    });

    it('should answer the account as it was for the configured number of reads after a change', () => {
      state.setConsistency({ staleAccountReads: 2 });
      value(state.approveAccount(P, accountId, {}));

      const signup = () => value(state.getAccount(P, accountId)).approvals[0]?.state;
      expect([signup(), signup(), signup(), signup()]).toEqual(['PENDING', 'PENDING', 'APPROVED', 'APPROVED']);
      // The write itself saw the current state: approving again is refused.
      expect(error(state.approveAccount(P, accountId, {})).status).toBe('FAILED_PRECONDITION');
    });

    it('should page accounts with a default of 25', () => {
      for (let i = 0; i < 30; i += 1) value(state.createAccount(P));

      const first = value(state.listAccounts(P));
      const second = value(state.listAccounts(P, { pageToken: first.nextPageToken ?? '' }));

      expect(first.accounts).toHaveLength(25);
      expect(second.accounts).toHaveLength(6);
      expect(second.nextPageToken).toBeUndefined();
    });

    it('should show resellerParentBillingAccount only in the FULL view', () => {
      value(state.createAccount(P, { accountId: 'E-R', resellerParentBillingAccount: 'billingAccounts/0-1-2' }));

      expect(value(state.getAccount(P, 'E-R')).resellerParentBillingAccount).toBeUndefined();
      expect(value(state.getAccount(P, 'E-R', 'ACCOUNT_VIEW_FULL')).resellerParentBillingAccount).toBe(
        'billingAccounts/0-1-2',
      );
      expect(error(state.getAccount(P, 'E-R', 'EVERYTHING')).status).toBe('INVALID_ARGUMENT');
    });
  });

  describe('purchase', () => {
    it('should create an ACTIVATION_REQUESTED entitlement with the fields the real API returns and omit unset ones', () => {
      const outcome = value(
        state.createEntitlement(P, {
          accountId,
          product: PRODUCT,
          plan: 'pro',
          offerDuration: 'P1Y',
          usageReportingId: 'project_number:123456789012',
        }),
      );
      const entitlement = outcome.entitlement;
      const id = entitlement?.name.split('/').at(-1) ?? '';

      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(entitlement).toEqual({
        name: `providers/${P}/entitlements/${id}`,
        account: `providers/${P}/accounts/${accountId}`,
        provider: P,
        product: PRODUCT,
        productExternalName: PRODUCT,
        plan: 'pro',
        offer: expect.stringMatching(new RegExp(`^projects/\\d+/services/${PRODUCT}/standardOffers/[0-9a-f]+$`)),
        offerDuration: 'P1Y',
        state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
        createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
        updateTime: entitlement?.createTime,
        usageReportingId: 'project_number:123456789012',
        orderId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(entitlement?.orderId).not.toBe(id);
      expect(outcome.messages).toEqual([
        {
          eventId: expect.stringMatching(/^ENTITLEMENT_CREATION_REQUESTED-/),
          eventType: 'ENTITLEMENT_CREATION_REQUESTED',
          providerId: P,
          entitlement: { id, updateTime: entitlement?.updateTime, newOfferDuration: 'P1Y' },
        },
      ]);
      expect(keyShape(outcome.messages[0])).toEqual(keyShape(fixture('message-entitlement-creation-requested.json')));
    });

    it('should also publish ENTITLEMENT_OFFER_ACCEPTED for an offer that starts later', () => {
      const outcome = value(
        state.createEntitlement(P, { accountId, product: PRODUCT, plan: 'pro', futureStart: '2027-01-01T00:00:00Z' }),
      );

      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_CREATION_REQUESTED', 'ENTITLEMENT_OFFER_ACCEPTED']);
      expect((outcome.messages[1] as EntitlementMessage).entitlement).toMatchObject({
        newOfferStartTime: '2027-01-01T00:00:00Z',
        newPlan: 'pro',
        orderId: outcome.entitlement?.orderId,
      });
    });

    it('should refuse a purchase for an unknown account, an unknown provider or a bad duration', () => {
      expect(error(state.createEntitlement(P, { accountId: 'nobody', product: PRODUCT })).status).toBe('NOT_FOUND');
      expect(error(state.createEntitlement('someone-else', { accountId, product: PRODUCT })).status).toBe(
        'PERMISSION_DENIED',
      );
      expect(error(state.createEntitlement(P, { accountId, product: PRODUCT, offerDuration: 'yearly' })).status).toBe(
        'INVALID_ARGUMENT',
      );
    });
  });

  describe('approval and activation', () => {
    it('should refuse approve with FAILED_PRECONDITION while the account signup is not APPROVED', () => {
      const id = buy();

      expect({ error: error(state.approveEntitlement(P, id)) }).toEqual(fixture('error-failed-precondition.json'));
    });

    it('should keep an approved entitlement in ACTIVATION_REQUESTED until Google activates it', () => {
      approveSignup();
      const id = buy();

      const approved = value(state.approveEntitlement(P, id));

      expect(approved.state).toBe('ENTITLEMENT_ACTIVATION_REQUESTED');
      expect(approved.newOfferStartTime).toBeDefined();
      expect(value(state.inspectEntitlement(P, id)).approved).toBe(true);
    });

    it('should refuse to activate an entitlement the provider has not approved', () => {
      approveSignup();
      const id = buy();

      const refusal = error(state.activateEntitlement(P, id));

      expect(refusal.status).toBe('FAILED_PRECONDITION');
      expect(refusal.message).toMatch(/not been approved/);
    });

    it('should activate an approved entitlement, start its term and publish ENTITLEMENT_ACTIVE', () => {
      approveSignup();
      const id = buy({ usageReportingId: 'project_number:123456789012' });
      value(state.approveEntitlement(P, id));

      const outcome = value(state.activateEntitlement(P, id));

      expect(outcome.entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'pro' });
      expect(outcome.entitlement?.newOfferStartTime).toBeUndefined();
      expect(parseTimestamp(outcome.entitlement?.offerEndTime ?? '')).toBeGreaterThan(
        parseTimestamp(outcome.entitlement?.updateTime ?? ''),
      );
      expect(outcome.messages).toEqual([
        expect.objectContaining({
          eventType: 'ENTITLEMENT_ACTIVE',
          entitlement: { id, updateTime: outcome.entitlement?.updateTime },
        }),
      ]);
      expect(keyShape(outcome.entitlement)).toEqual(keyShape(fixture('entitlement-active.json')));
    });

    it('should set the offer end on approval, from the start and the term or the fixed end', () => {
      approveSignup();
      const start = '2026-12-01T00:00:00.000000Z';
      const term = buy({ futureStart: start, offerDuration: 'P1Y' });
      const fixed = buy({ futureStart: start, offerEndTime: '2027-06-30T00:00:00.000000Z', offerDuration: undefined });

      expect(value(state.approveEntitlement(P, term))).toMatchObject({
        newOfferStartTime: start,
        offerEndTime: '2027-12-01T00:00:00.000000Z',
      });
      expect(value(state.approveEntitlement(P, fixed))).toMatchObject({
        newOfferStartTime: start,
        offerEndTime: '2027-06-30T00:00:00.000000Z',
        newOfferEndTime: '2027-06-30T00:00:00.000000Z',
      });
    });

    it('should approve an offer with automatic approval itself, announce ENTITLEMENT_OFFER_ACCEPTED only and refuse the provider', () => {
      const start = '2026-12-01T00:00:00.000000Z';
      const outcome = value(
        state.createEntitlement(P, {
          accountId,
          product: PRODUCT,
          plan: 'pro',
          futureStart: start,
          automaticApproval: true,
          entitlementBenefitIds: ['benefit-1'],
        }),
      );
      const id = outcome.entitlement?.name.split('/').at(-1) ?? '';

      expect(outcome.entitlement).toMatchObject({
        state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
        newOfferStartTime: start,
      });
      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_OFFER_ACCEPTED']);
      expect(outcome.messages[0]).toMatchObject({
        entitlement: { id, newOfferStartTime: start, newPlan: 'pro', entitlementBenefitIds: ['benefit-1'] },
      });
      expect(value(state.inspectEntitlement(P, id))).toMatchObject({ approved: true, approvedBy: 'google' });
      // Even with the account's sign-up approved, there is nothing left for the provider to approve (a guess).
      approveSignup();
      expect(error(state.approveEntitlement(P, id)).status).toBe('FAILED_PRECONDITION');
      expect(value(state.activateEntitlement(P, id)).entitlement?.state).toBe('ENTITLEMENT_ACTIVE');
    });

    it('should refuse approve once the entitlement is no longer ACTIVATION_REQUESTED', () => {
      const id = activeEntitlement();

      expect(error(state.approveEntitlement(P, id)).status).toBe('FAILED_PRECONDITION');
    });

    it('should remove a rejected entitlement so that get answers 404', () => {
      const id = buy();

      value(state.rejectEntitlement(P, id, { reason: 'fraud' }));

      expect(error(state.getEntitlement(P, id))).toEqual({
        code: 404,
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
      });
      expect(state.removedEntitlement(P, id)).toMatchObject({ removedBy: 'reject', reason: 'fraud' });
    });

    it('should truncate a rejection reason to 256 bytes without splitting a character', () => {
      const id = buy();
      const reason = 'é'.repeat(200);

      value(state.rejectEntitlement(P, id, { reason }));

      const stored = state.removedEntitlement(P, id)?.reason ?? '';
      expect(Buffer.byteLength(stored)).toBe(REASON_MAX_BYTES);
      expect(stored).toBe('é'.repeat(128));
      expect(Buffer.byteLength(truncateReason('€'.repeat(100)) ?? '')).toBe(255);
    });
  });

  describe('plan changes', () => {
    it('should run request → approvePlanChange → complete, ending ACTIVE on the new plan', () => {
      const id = activeEntitlement();

      const requested = value(state.requestPlanChange(P, id, { plan: 'enterprise' }));
      expect(requested.entitlement).toMatchObject({
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
        newPendingPlan: 'enterprise',
        plan: 'pro',
      });
      expect(keyShape(requested.messages[0])).toEqual(
        keyShape(fixture('message-entitlement-plan-change-requested.json')),
      );

      expect(value(state.approvePlanChange(P, id, { pendingPlanName: 'enterprise' })).state).toBe(
        'ENTITLEMENT_PENDING_PLAN_CHANGE',
      );

      const completed = value(state.completePlanChange(P, id));
      expect(completed.entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'enterprise' });
      expect(completed.entitlement?.newPendingPlan).toBeUndefined();
      expect(completed.messages).toEqual([
        expect.objectContaining({
          eventType: 'ENTITLEMENT_PLAN_CHANGED',
          entitlement: { id, updateTime: completed.entitlement?.updateTime, newPlan: 'enterprise' },
        }),
      ]);
    });

    it('should apply an approved change at once when it takes effect now, and announce ENTITLEMENT_PLAN_CHANGED', () => {
      const id = activeEntitlement();
      value(state.requestPlanChange(P, id, { plan: 'enterprise', takesEffect: 'now' }));

      const approved = value(state.approvePlanChange(P, id, { pendingPlanName: 'enterprise' }));

      expect(approved).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'enterprise' });
      expect(approved.newPendingPlan).toBeUndefined();
      expect(state.takePublished()).toEqual([
        expect.objectContaining({
          eventType: 'ENTITLEMENT_PLAN_CHANGED',
          entitlement: { id, updateTime: approved.updateTime, newPlan: 'enterprise' },
        }),
      ]);
      expect(state.takePublished()).toEqual([]);
    });

    it('should apply an approved change at once when no term is running (the offer ended)', () => {
      const id = activeEntitlement();
      value(state.endOffer(P, id));
      value(state.requestPlanChange(P, id, { plan: 'basic' }));

      expect(value(state.approvePlanChange(P, id, { pendingPlanName: 'basic' }))).toMatchObject({
        state: 'ENTITLEMENT_ACTIVE',
        plan: 'basic',
      });
      expect(types(state.takePublished())).toEqual(['ENTITLEMENT_PLAN_CHANGED']);
    });

    it('should wait for the end of the term and publish nothing when an approved change takes effect then', () => {
      const id = activeEntitlement();
      const { entitlement } = value(state.requestPlanChange(P, id, { plan: 'enterprise' }));

      expect(value(state.approvePlanChange(P, id, { pendingPlanName: 'enterprise' }))).toMatchObject({
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE',
        newOfferStartTime: entitlement?.offerEndTime,
      });
      expect(state.takePublished()).toEqual([]);
    });

    it('should refuse a plan change timing it does not know', () => {
      const id = activeEntitlement();

      expect(
        error(state.requestPlanChange(P, id, { plan: 'basic', takesEffect: 'later' as unknown as 'now' })).status,
      ).toBe('INVALID_ARGUMENT');
    });

    it('should refuse approvePlanChange without pendingPlanName as INVALID_ARGUMENT and with a stale one as FAILED_PRECONDITION', () => {
      const id = activeEntitlement();
      value(state.requestPlanChange(P, id, { plan: 'enterprise' }));

      expect(error(state.approvePlanChange(P, id, {})).status).toBe('INVALID_ARGUMENT');
      expect(error(state.approvePlanChange(P, id, { pendingPlanName: 'basic' })).status).toBe('FAILED_PRECONDITION');
    });

    it('should refuse approvePlanChange when no plan change awaits approval', () => {
      const id = activeEntitlement();

      expect(error(state.approvePlanChange(P, id, { pendingPlanName: 'enterprise' })).status).toBe(
        'FAILED_PRECONDITION',
      );
    });

    it('should return to ACTIVE on the old plan when the provider rejects the change', () => {
      const id = activeEntitlement();
      value(state.requestPlanChange(P, id, { plan: 'enterprise' }));

      const entitlement = value(
        state.rejectPlanChange(P, id, { pendingPlanName: 'enterprise', reason: 'x'.repeat(300) }),
      );

      expect(entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'pro' });
      expect(entitlement.newPendingPlan).toBeUndefined();
      expect(value(state.inspectEntitlement(P, id)).planChangeRejectionReason).toHaveLength(256);
      expect(state.takePublished()).toEqual([
        expect.objectContaining({
          eventType: 'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
          entitlement: { id, updateTime: entitlement.updateTime },
        }),
      ]);
    });

    it('should refuse a plan change while activation is still requested', () => {
      const id = buy();

      expect(error(state.requestPlanChange(P, id, { plan: 'enterprise' })).status).toBe('FAILED_PRECONDITION');
    });

    it('should publish ENTITLEMENT_PLAN_CHANGE_CANCELLED when the customer withdraws the change', () => {
      const id = activeEntitlement();
      value(state.requestPlanChange(P, id, { plan: 'enterprise' }));

      const outcome = value(state.cancelPlanChange(P, id));

      expect(outcome.entitlement?.state).toBe('ENTITLEMENT_ACTIVE');
      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_PLAN_CHANGE_CANCELLED']);
    });
  });

  describe('messageToUser', () => {
    it('should be writable only while the provider is asked something, and cleared when the state changes', () => {
      approveSignup();
      const id = buy();

      expect(value(state.patchEntitlement(P, id, { messageToUser: 'Setting up' }, 'messageToUser')).messageToUser).toBe(
        'Setting up',
      );
      value(state.approveEntitlement(P, id));
      value(state.activateEntitlement(P, id));

      expect(value(state.getEntitlement(P, id)).messageToUser).toBeUndefined();
      expect(error(state.patchEntitlement(P, id, { messageToUser: 'late' }, 'messageToUser')).status).toBe(
        'FAILED_PRECONDITION',
      );
    });

    it('should refuse an update mask naming an output-only field', () => {
      const id = buy();

      expect(error(state.patchEntitlement(P, id, { plan: 'free' }, 'plan')).status).toBe('INVALID_ARGUMENT');
    });
  });

  describe('cancellation and deletion', () => {
    it('should move to PENDING_CANCELLATION at period end, then CANCELLED when the term ends', () => {
      const id = activeEntitlement();

      const pending = value(state.cancelEntitlement(P, id));
      expect(pending.entitlement).toMatchObject({ state: 'ENTITLEMENT_PENDING_CANCELLATION' });
      expect(types(pending.messages)).toEqual(['ENTITLEMENT_PENDING_CANCELLATION']);
      expect(error(state.requestPlanChange(P, id, { plan: 'basic' })).status).toBe('FAILED_PRECONDITION');

      const ended = value(state.endPeriod(P, id));
      expect(ended.entitlement).toMatchObject({ state: 'ENTITLEMENT_CANCELLED', cancellationReason: 'user-cancelled' });
      expect(types(ended.messages)).toEqual(['ENTITLEMENT_CANCELLED']);
    });

    it('should let Google suspend a usable entitlement and reinstate it, announcing both, while the partner suspend stays 501', () => {
      const id = activeEntitlement();
      expect(error(state.reinstate(P, id)).status).toBe('FAILED_PRECONDITION');

      const suspended = value(state.suspendByGoogle(P, id));
      expect(suspended.entitlement?.state).toBe('ENTITLEMENT_SUSPENDED');
      expect(types(suspended.messages)).toEqual(['ENTITLEMENT_SUSPENDED']);
      expect(error(state.suspendByGoogle(P, id)).status).toBe('FAILED_PRECONDITION');
      expect(error(state.suspendEntitlement(P, id)).status).toBe('UNIMPLEMENTED');

      const reinstated = value(state.reinstate(P, id));
      expect(reinstated.entitlement?.state).toBe('ENTITLEMENT_ACTIVE');
      expect(types(reinstated.messages)).toEqual(['ENTITLEMENT_ACTIVE']);
    });

    it('should revert a pending cancellation', () => {
      const id = activeEntitlement();
      value(state.cancelEntitlement(P, id));

      const outcome = value(state.revertCancellation(P, id));

      expect(outcome.entitlement?.state).toBe('ENTITLEMENT_ACTIVE');
      expect(outcome.entitlement?.subscriptionEndTime).toBeUndefined();
      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_CANCELLATION_REVERTED']);
    });

    it('should cancel immediately, optionally announcing ENTITLEMENT_CANCELLING first', () => {
      const id = activeEntitlement();
      const before = value(state.getEntitlement(P, id)).updateTime;

      const outcome = value(state.cancelEntitlement(P, id, { atPeriodEnd: false, announceCancelling: true }));

      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_CANCELLING', 'ENTITLEMENT_CANCELLED']);
      expect((outcome.messages[0] as EntitlementMessage).entitlement.updateTime).toBe(before);
      expect(outcome.entitlement).toMatchObject({
        state: 'ENTITLEMENT_CANCELLED',
        cancellationReason: 'user-cancelled',
      });
    });

    it('should delete only a cancelled entitlement, publishing ENTITLEMENT_DELETED', () => {
      const id = activeEntitlement();
      expect(error(state.deleteCancelledEntitlement(P, id)).status).toBe('FAILED_PRECONDITION');
      value(state.cancelEntitlement(P, id, { atPeriodEnd: false }));

      const outcome = value(state.deleteCancelledEntitlement(P, id));

      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_DELETED']);
      expect(error(state.getEntitlement(P, id)).code).toBe(404);
    });

    it('should cancel live entitlements before publishing ACCOUNT_DELETED', () => {
      const id = activeEntitlement();

      const outcome = value(state.deleteAccount(P, accountId));

      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_CANCELLED', 'ACCOUNT_DELETED']);
      expect(value(state.getEntitlement(P, id))).toMatchObject({
        state: 'ENTITLEMENT_CANCELLED',
        cancellationReason: 'account-closed',
      });
      expect(error(state.getAccount(P, accountId)).status).toBe('NOT_FOUND');
    });
  });

  describe('renewal and offers', () => {
    it('should move offerEndTime one term forward on renewal', () => {
      const id = activeEntitlement();
      const before = value(state.getEntitlement(P, id)).offerEndTime ?? '';

      const outcome = value(state.renewEntitlement(P, id));

      expect(outcome.entitlement?.offerEndTime?.slice(0, 4)).toBe(String(Number(before.slice(0, 4)) + 1));
      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_RENEWED']);
    });

    it('should keep the entitlement running after its offer ends unless Google cancels it', () => {
      const id = activeEntitlement();

      expect(types(value(state.endOffer(P, id)).messages)).toEqual(['ENTITLEMENT_OFFER_ENDED']);
      expect(value(state.getEntitlement(P, id)).state).toBe('ENTITLEMENT_ACTIVE');

      const outcome = value(state.endOffer(P, id, { cancel: true }));
      expect(types(outcome.messages)).toEqual(['ENTITLEMENT_OFFER_ENDED', 'ENTITLEMENT_CANCELLED']);
      expect(outcome.entitlement).toMatchObject({ state: 'ENTITLEMENT_CANCELLED', cancellationReason: 'expired' });
    });

    it('should hold an accepted future offer in PENDING_PLAN_CHANGE until it starts', () => {
      const id = activeEntitlement();
      const offer = 'projects/123456789012/services/acme/privateOffers/po-1';

      const accepted = value(
        state.acceptOffer(P, id, {
          offer,
          plan: 'enterprise',
          offerDuration: 'P2Y',
          startTime: '2027-06-01T00:00:00Z',
        }),
      );
      expect(accepted.entitlement).toMatchObject({
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE',
        newPendingOffer: offer,
        newOfferStartTime: '2027-06-01T00:00:00Z',
      });
      expect((accepted.messages[0] as EntitlementMessage).entitlement).toMatchObject({
        newOffer: offer,
        newPlan: 'enterprise',
        newOfferStartTime: '2027-06-01T00:00:00Z',
      });

      const started = value(state.completePlanChange(P, id));
      expect(started.entitlement).toMatchObject({
        state: 'ENTITLEMENT_ACTIVE',
        plan: 'enterprise',
        offer,
        offerDuration: 'P2Y',
      });
    });
  });

  describe('listing', () => {
    it('should filter by state and account and page in creation order with an opaque token', () => {
      approveSignup();
      const ids = [buy(), buy(), buy()];
      value(state.approveEntitlement(P, ids[1] ?? ''));
      value(state.activateEntitlement(P, ids[1] ?? ''));

      const first = value(
        state.listEntitlements(P, { filter: `account=${accountId} state=activation_requested`, pageSize: 1 }),
      );
      const second = value(
        state.listEntitlements(P, {
          filter: `account=${accountId} state=activation_requested`,
          pageSize: 1,
          pageToken: first.nextPageToken ?? '',
        }),
      );

      expect(first.entitlements?.map((e) => e.name.split('/').at(-1))).toEqual([ids[0]]);
      expect(second.entitlements?.map((e) => e.name.split('/').at(-1))).toEqual([ids[2]]);
      expect(second.nextPageToken).toBeUndefined();
    });

    it('should answer an empty page as {} like the real API', () => {
      expect(value(state.listEntitlements(P, { filter: 'state=suspended' }))).toEqual({});
    });

    it('should refuse a page token from another query and a negative page size', () => {
      buy();
      buy();
      const first = value(state.listEntitlements(P, { pageSize: 1 }));

      expect(
        error(state.listEntitlements(P, { filter: 'state=active', pageToken: first.nextPageToken ?? '' })).status,
      ).toBe('INVALID_ARGUMENT');
      expect(error(state.listEntitlements(P, { pageToken: 'garbage' })).status).toBe('INVALID_ARGUMENT');
      expect(error(state.listEntitlements(P, { pageSize: -1 })).status).toBe('INVALID_ARGUMENT');
    });

    it('should cap the page size at 1000', () => {
      for (let i = 0; i < 1001; i += 1) buy();

      const page = value(state.listEntitlements(P, { pageSize: 5000 }));

      expect(page.entitlements).toHaveLength(1000);
      expect(page.nextPageToken).toBeDefined();
    });
  });

  describe('updateTime', () => {
    it('should strictly increase on every change even with a frozen wall clock', () => {
      approveSignup();
      const id = buy();
      const seen = [value(state.getEntitlement(P, id)).updateTime];
      value(state.approveEntitlement(P, id));
      seen.push(value(state.getEntitlement(P, id)).updateTime);
      seen.push(value(state.activateEntitlement(P, id)).entitlement?.updateTime ?? '');
      seen.push(value(state.requestPlanChange(P, id, { plan: 'basic' })).entitlement?.updateTime ?? '');
      seen.push(value(state.approvePlanChange(P, id, { pendingPlanName: 'basic' })).updateTime);

      const micros = seen.map(parseTimestamp);
      expect(micros).toEqual([...new Set(micros)].sort((a, b) => a - b));
    });
  });

  describe('test access', () => {
    it('should let a test drift an entitlement behind the service and remove it silently', () => {
      const id = activeEntitlement();

      const drifted = value(state.setEntitlement(P, id, { plan: 'basic', offerEndTime: undefined }));
      expect(drifted.plan).toBe('basic');
      expect(drifted.offerEndTime).toBeUndefined();

      value(state.deleteEntitlement(P, id));
      expect(error(state.getEntitlement(P, id)).code).toBe(404);
    });

    it('should answer PERMISSION_DENIED for a provider it does not serve', () => {
      expect(error(state.getEntitlement('intruder', 'x'))).toEqual({
        code: 403,
        message: 'The caller does not have permission',
        status: 'PERMISSION_DENIED',
      });
    });
  });
});
