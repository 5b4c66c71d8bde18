import { describe, expect, it } from '@jest/globals';
import type { Entitlement } from '../procurement/procurement.client.js';
import { decideAccount } from './accounts.js';
import { UNMAPPED_PLAN_REJECTION, type DecisionInput } from './decision.js';
import { decideEntitlement, isKnownEntitlementEvent } from './event-families.js';

const ALL_EVENT_TYPES = [
  'ENTITLEMENT_CREATION_REQUESTED',
  'ENTITLEMENT_OFFER_ACCEPTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_RENEWED',
  'ENTITLEMENT_OFFER_ENDED',
  'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  'ENTITLEMENT_PLAN_CHANGED',
  'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLATION_REVERTED',
  'ENTITLEMENT_CANCELLING',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_DELETED',
];

function input(eventType: string, entitlement: Entitlement, overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    eventType,
    entitlement,
    entitlementMode: 'auto',
    planChangeMode: 'auto',
    pendingPlanProblem: null,
    unmappedPlanChange: 'admin',
    accountApproved: true,
    ...overrides,
  };
}

const requested: Entitlement = { state: 'ENTITLEMENT_ACTIVATION_REQUESTED', plan: 'pro' };
const planChangeRequested: Entitlement = {
  state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
  plan: 'pro',
  newPendingPlan: 'basic',
};

describe('Marketplace decisions (eventType, fetched state, policy)', () => {
  it('should know all 13 entitlement event types and the 3 account event types', () => {
    expect(ALL_EVENT_TYPES.filter((t) => !isKnownEntitlementEvent(t))).toEqual([]);
    for (const t of ['ACCOUNT_ACTIVE', 'ACCOUNT_CREATION_REQUESTED']) {
      expect(decideAccount(t, { approvals: [{ name: 'signup', state: 'PENDING' }] }).kind).toBe('mirror');
    }
    expect(decideAccount('ACCOUNT_DELETED', null)).toEqual({ kind: 'erase' });
  });

  it('should approve a requested entitlement under auto policy once the account is approved', () => {
    for (const t of ['ENTITLEMENT_CREATION_REQUESTED', 'ENTITLEMENT_OFFER_ACCEPTED']) {
      expect(decideEntitlement(input(t, requested))).toMatchObject({
        kind: 'mirror',
        action: { kind: 'approve' },
        approval: 'approval_requested',
      });
    }
  });

  it('should park while the account signup is not approved, and wait for an admin under manual policy', () => {
    expect(
      decideEntitlement(input('ENTITLEMENT_CREATION_REQUESTED', requested, { accountApproved: false })),
    ).toMatchObject({
      action: null,
      approval: 'awaiting_account',
    });
    expect(
      decideEntitlement(input('ENTITLEMENT_CREATION_REQUESTED', requested, { entitlementMode: 'manual' })),
    ).toMatchObject({
      action: null,
      approval: 'awaiting_admin',
    });
  });

  it('should take an entitlement carrying newOfferStartTime as approved already, whatever the policy or account', () => {
    const approved: Entitlement = { ...requested, newOfferStartTime: '2026-12-01T00:00:00Z' };
    for (const t of ['ENTITLEMENT_CREATION_REQUESTED', 'ENTITLEMENT_OFFER_ACCEPTED']) {
      for (const overrides of [{}, { entitlementMode: 'manual' as const }, { accountApproved: false }]) {
        expect(decideEntitlement(input(t, approved, overrides))).toMatchObject({
          action: null,
          approval: 'approval_requested',
        });
      }
    }
  });

  it('should never approve a plan change to a plan the catalog cannot map: wait for an admin, saying why, or reject', () => {
    const problem = 'unknown plan "platinum" of gcp product "p": add it to config/products.yaml';
    expect(
      decideEntitlement(
        input('ENTITLEMENT_PLAN_CHANGE_REQUESTED', planChangeRequested, { pendingPlanProblem: problem }),
      ),
    ).toMatchObject({ action: null, planChangeApproval: 'awaiting_admin', planChangeReason: problem });
    expect(
      decideEntitlement(
        input('ENTITLEMENT_PLAN_CHANGE_REQUESTED', planChangeRequested, {
          pendingPlanProblem: problem,
          unmappedPlanChange: 'reject',
        }),
      ),
    ).toMatchObject({ action: { kind: 'rejectPlanChange', pendingPlan: 'basic', reason: UNMAPPED_PLAN_REJECTION } });
  });

  it('should only act while the fetched state still asks for it', () => {
    const active: Entitlement = { state: 'ENTITLEMENT_ACTIVE', plan: 'pro' };
    expect(decideEntitlement(input('ENTITLEMENT_CREATION_REQUESTED', active))).toMatchObject({ action: null });
    expect(decideEntitlement(input('ENTITLEMENT_PLAN_CHANGE_REQUESTED', active))).toMatchObject({ action: null });
  });

  it('should approve the freshly fetched pending plan, or wait for an admin', () => {
    expect(decideEntitlement(input('ENTITLEMENT_PLAN_CHANGE_REQUESTED', planChangeRequested))).toMatchObject({
      action: { kind: 'approvePlanChange', pendingPlan: 'basic' },
    });
    expect(
      decideEntitlement(input('ENTITLEMENT_PLAN_CHANGE_REQUESTED', planChangeRequested, { planChangeMode: 'manual' })),
    ).toMatchObject({
      action: null,
      planChangeApproval: 'awaiting_admin',
    });
  });

  it('should mirror every informational event, erase on DELETED and mirror undocumented types without a call', () => {
    const active: Entitlement = { state: 'ENTITLEMENT_ACTIVE' };
    for (const t of ALL_EVENT_TYPES.filter(
      (x) => !x.endsWith('REQUESTED') && x !== 'ENTITLEMENT_OFFER_ACCEPTED' && x !== 'ENTITLEMENT_DELETED',
    )) {
      expect({ t, d: decideEntitlement(input(t, active)) }).toMatchObject({ t, d: { kind: 'mirror', action: null } });
    }
    expect(decideEntitlement(input('ENTITLEMENT_DELETED', active))).toEqual({ kind: 'erase' });
    const suspended: Entitlement = { state: 'ENTITLEMENT_SUSPENDED' };
    expect(decideEntitlement(input('ENTITLEMENT_SUSPENDED', suspended))).toMatchObject({
      kind: 'mirror',
      action: null,
    });
    expect(decideEntitlement(input('ENTITLEMENT_SOMETHING_NEW', active))).toMatchObject({
      kind: 'mirror',
      action: null,
    });
  });
});
