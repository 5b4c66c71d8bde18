import { describe, expect, it } from '@jest/globals';
import type { Entitlement } from '../procurement/procurement.client.js';
import { actionKey, buyerMessage, tookEffect } from './actions.js';
import { mirror } from './decision.js';

const requested: Entitlement = { state: 'ENTITLEMENT_ACTIVATION_REQUESTED', plan: 'pro', updateTime: 't1' };
const texts = (waitingFor: string) => (waitingFor === 'entitlement' ? 'order text' : 'plan text');

describe('Procurement actions (pure)', () => {
  it('should key an approval once per entitlement and a plan-change decision once per request', () => {
    expect(actionKey('e1', { kind: 'approve' }, requested)).toBe('approve:e1');
    expect(actionKey('e1', { kind: 'approvePlanChange', pendingPlan: 'basic' }, requested)).toBe(
      'approvePlanChange:e1:basic:t1',
    );
    expect(actionKey('e1', { kind: 'rejectPlanChange', pendingPlan: 'basic', reason: 'r' }, requested)).toBe(
      'rejectPlanChange:e1:basic:t1',
    );
  });

  it("should tell from Google's record whether a call took effect", () => {
    const approve = { kind: 'approve' } as const;
    expect(tookEffect(approve, requested)).toBe(false);
    expect(tookEffect(approve, { ...requested, newOfferStartTime: 'x' })).toBe(true);
    expect(tookEffect(approve, { state: 'ENTITLEMENT_ACTIVE' })).toBe(true);
    // Cancelled meanwhile: not an approval; the claim is released.
    expect(tookEffect(approve, { state: 'ENTITLEMENT_CANCELLED' })).toBe(false);
    const planChange = { kind: 'approvePlanChange', pendingPlan: 'basic' } as const;
    expect(tookEffect(planChange, { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', newPendingPlan: 'basic' })).toBe(
      false,
    );
    expect(tookEffect(planChange, { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE', newPendingPlan: 'basic' })).toBe(true);
    expect(tookEffect(planChange, { state: 'ENTITLEMENT_ACTIVE', plan: 'basic' })).toBe(true);
    expect(tookEffect(planChange, { state: 'ENTITLEMENT_ACTIVE', plan: 'pro' })).toBe(false);
    const reject = { kind: 'rejectPlanChange', pendingPlan: 'basic', reason: 'r' } as const;
    expect(tookEffect(reject, { state: 'ENTITLEMENT_ACTIVE', plan: 'pro' })).toBe(true);
    expect(tookEffect(reject, { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', newPendingPlan: 'basic' })).toBe(
      false,
    );
  });

  it('should tell the buyer while an admin decides, clear the text once approved, and change nothing otherwise', () => {
    expect(buyerMessage(mirror(null, 'awaiting_admin'), requested, texts)).toBe('order text');
    expect(buyerMessage(mirror(null, 'awaiting_admin'), { ...requested, messageToUser: 'order text' }, texts)).toBe(
      null,
    );
    expect(buyerMessage(mirror(null, 'awaiting_admin'), requested, () => null)).toBe(null);
    expect(buyerMessage(mirror(null, 'approval_requested'), { ...requested, messageToUser: 'order text' }, texts)).toBe(
      '',
    );
    expect(buyerMessage(mirror({ kind: 'approve' }, 'approval_requested'), requested, texts)).toBe(null);
    expect(buyerMessage(mirror(null, 'awaiting_account'), requested, texts)).toBe(null);
    const planChange: Entitlement = { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', newPendingPlan: 'basic' };
    expect(buyerMessage(mirror(null, null, 'awaiting_admin'), planChange, texts)).toBe('plan text');
    expect(buyerMessage(mirror(null, null, 'awaiting_admin'), { state: 'ENTITLEMENT_ACTIVE' }, texts)).toBe(null);
  });
});
