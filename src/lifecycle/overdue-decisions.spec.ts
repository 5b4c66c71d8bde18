import { describe, expect, it } from '@jest/globals';
import { change } from '../../test/support/changes.js';
import type { EntitlementChange } from '../entitlements/entitlement.js';
import { planApply, waitingSince, type AccessSummary, type EntitlementRecord } from '../entitlements/ledger-plan.js';
import { overdueDecision } from './overdue-decisions.js';

const T0 = new Date('2026-12-01T09:00:00.000Z');
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);

/** A Marketplace change whose details carry the approval state Google's entitlement and the policy gave it. */
function gcp(
  hours: number,
  status: EntitlementChange['status'],
  marketplace: Record<string, unknown>,
  overrides: Partial<EntitlementChange> = {},
): EntitlementChange {
  return change({
    source: 'gcp',
    externalId: 'e-1',
    sourceTime: at(hours),
    status,
    product: { product: 'demo', plan: 'enterprise', providerProduct: 'demo-product', providerPlan: 'enterprise' },
    details: { marketplace },
    ...overrides,
  });
}

/** Applies the changes in order, each at its own source time, as the ledger would. */
function applyAll(...changes: EntitlementChange[]): EntitlementRecord {
  let existing: EntitlementRecord | null = null;
  for (const c of changes) {
    const p = planApply({
      change: c,
      priorEvent: null,
      existing,
      linkedSubjectKey: null,
      accessByKey: new Map<string, AccessSummary | null>(),
      now: c.sourceTime,
    });
    if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
    existing = p.entitlement;
  }
  return existing!;
}

describe('awaiting: since when a decision waits for an admin', () => {
  it('should start the wait at the change that parked the purchase and keep it through later changes', () => {
    const parked = applyAll(
      gcp(0, 'pending_approval', { approval: 'awaiting_account' }),
      gcp(1, 'pending_approval', { approval: 'awaiting_admin' }),
    );
    expect(parked.awaiting).toEqual({ decision: 'entitlement', since: at(1) });
    // A re-read that changes nothing about the decision (a mirrored notification) keeps the wait's start.
    const later = applyAll(
      gcp(0, 'pending_approval', { approval: 'awaiting_account' }),
      gcp(1, 'pending_approval', { approval: 'awaiting_admin' }),
      gcp(5, 'pending_approval', { approval: 'awaiting_admin', signup: { state: 'APPROVED' } }),
    );
    expect(later.awaiting).toEqual({ decision: 'entitlement', since: at(1) });
    expect(waitingSince(later)).toEqual(at(1));
  });

  it('should end the wait once decided, and start a new one for a plan change', () => {
    const approved = applyAll(
      gcp(1, 'pending_approval', { approval: 'awaiting_admin' }),
      gcp(2, 'pending_approval', { approval: 'approval_requested' }),
    );
    expect(approved.awaiting).toBeNull();
    expect(waitingSince(approved)).toBeNull();
    const change = applyAll(
      gcp(1, 'pending_approval', { approval: 'awaiting_admin' }),
      gcp(2, 'active', { approval: null }),
      gcp(3, 'pending_plan_change', { planChangeApproval: 'awaiting_admin' }),
      gcp(4, 'pending_plan_change', { planChangeApproval: 'awaiting_admin' }),
    );
    expect(change.awaiting).toEqual({ decision: 'planChange', since: at(3) });
    const changeApproved = applyAll(
      gcp(3, 'pending_plan_change', { planChangeApproval: 'awaiting_admin' }),
      gcp(4, 'pending_plan_change', { planChangeApproval: 'approval_requested' }),
    );
    expect(changeApproved.awaiting).toBeNull();
  });

  it('should start a new wait when a different decision takes over, not carry the old one', () => {
    // The purchase waited for an admin since hour 1; Google then shows a plan change waiting for one (hour 6).
    const switched = applyAll(
      gcp(1, 'pending_approval', { approval: 'awaiting_admin' }),
      gcp(6, 'pending_plan_change', { planChangeApproval: 'awaiting_admin' }),
    );
    expect(switched.awaiting).toEqual({ decision: 'planChange', since: at(6) });
  });

  it('should not count a purchase approved by policy or parked for the sign-up as waiting for an admin', () => {
    expect(applyAll(gcp(0, 'pending_approval', { approval: 'awaiting_account' })).awaiting).toBeNull();
    expect(applyAll(gcp(0, 'active', {})).awaiting).toBeNull();
    // awaiting_admin only counts for the activation while it is pending.
    expect(applyAll(gcp(0, 'active', { approval: 'awaiting_admin' })).awaiting).toBeNull();
  });

  it('should count a document written before `awaiting` existed from its updatedAt', () => {
    const { awaiting: _, ...legacy } = applyAll(gcp(1, 'pending_approval', { approval: 'awaiting_admin' }));
    const old = { ...legacy, updatedAt: at(2) } as EntitlementRecord;
    expect(waitingSince(old)).toEqual(at(2));
    const next = planApply({
      change: gcp(6, 'pending_approval', { approval: 'awaiting_admin' }),
      priorEvent: null,
      existing: old,
      linkedSubjectKey: null,
      accessByKey: new Map(),
      now: at(6),
    });
    expect(next.outcome === 'applied' && next.entitlement.awaiting).toEqual({ decision: 'entitlement', since: at(2) });
  });
});

describe('overdueDecision', () => {
  const limit = 24 * HOUR;
  const parked = applyAll(gcp(0, 'pending_approval', { approval: 'awaiting_admin' }));

  it('should say nothing up to the limit, inclusive, and report the decision one millisecond after', () => {
    expect(overdueDecision(parked, at(23), limit)).toBeNull();
    expect(overdueDecision(parked, at(24), limit)).toBeNull();
    expect(overdueDecision(parked, new Date(at(24).getTime() + 1), limit)).toEqual({
      entitlementId: 'gcp:e-1',
      decision: 'entitlement',
      product: 'demo',
      plan: 'enterprise',
      waitingSince: at(0),
      waitingHours: 24,
    });
    expect(overdueDecision(parked, at(49.5), limit)?.waitingHours).toBe(49);
  });

  it("should name a plan change's pending plan", () => {
    const changing = applyAll(
      gcp(
        0,
        'pending_plan_change',
        { planChangeApproval: 'awaiting_admin' },
        {
          pendingPlan: { plan: 'enterprise-annual', providerPlan: 'enterprise-annual-mp' },
          product: { product: 'demo', plan: 'pro', providerProduct: 'demo-product', providerPlan: 'pro' },
        },
      ),
    );
    expect(overdueDecision(changing, at(30), limit)).toMatchObject({
      decision: 'planChange',
      plan: 'enterprise-annual',
    });
  });

  it('should never report what does not wait for an admin, however old', () => {
    expect(
      overdueDecision(applyAll(gcp(0, 'pending_approval', { approval: 'awaiting_account' })), at(1000), limit),
    ).toBeNull();
    expect(overdueDecision(applyAll(gcp(0, 'active', {})), at(1000), limit)).toBeNull();
  });
});
