import {
  decisionAwaited,
  waitingSince,
  type AwaitingDecision,
  type EntitlementRecord,
} from '../entitlements/ledger-plan.js';

/** A decision left to an admin for longer than the policy allows (`marketplace.approvals.decideWithinHours`). */
export interface OverdueDecision {
  entitlementId: string;
  decision: AwaitingDecision['decision'];
  product: string;
  /** The plan the decision is about: the purchased plan, or the pending plan of a plan change. */
  plan: string | null;
  waitingSince: Date;
  /** Whole hours waited so far (rounded down). */
  waitingHours: number;
}

/** The entitlement's decision if it has waited for an admin longer than `limitMs` at `now`, else null. Pure. */
export function overdueDecision(e: EntitlementRecord, now: Date, limitMs: number): OverdueDecision | null {
  const decision = decisionAwaited(e);
  const since = waitingSince(e);
  if (decision === null || since === null) return null;
  const waited = now.getTime() - since.getTime();
  if (waited <= limitMs) return null;
  return {
    entitlementId: e.id,
    decision,
    product: e.product,
    plan: decision === 'planChange' ? (e.pendingPlan?.plan ?? null) : e.plan,
    waitingSince: since,
    waitingHours: Math.floor(waited / 3_600_000),
  };
}
