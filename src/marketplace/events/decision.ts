import type { ApprovalMode, UnmappedPlanChange } from '../approval-policy.js';
import { awaitsActivationApproval } from '../entitlement-state.js';
import type { Entitlement } from '../procurement/procurement.client.js';

/**
 * Where a pending approval stands; kept on the entitlement as `marketplace.approval`. `approval_requested`:
 * approved (by the service, an admin or Google's automatic offer approval), waiting for Google to activate it.
 */
export type ApprovalStage = 'awaiting_account' | 'awaiting_admin' | 'approval_requested';

export type Action =
  | { kind: 'approve' }
  | { kind: 'approvePlanChange'; pendingPlan: string }
  | { kind: 'rejectPlanChange'; pendingPlan: string; reason: string };

/** The reason given to Google (and maybe the buyer) when a plan change to a plan we cannot provision is rejected. */
export const UNMAPPED_PLAN_REJECTION = 'This plan is not available from the provider yet; please choose another plan.';

export type Decision =
  /**
   * Write the fetched state into the ledger; then (outside the transaction) act, if asked.
   * `planChangeReason` says why a plan change waits for an admin when policy alone would not explain it.
   */
  | {
      kind: 'mirror';
      action: Action | null;
      approval: ApprovalStage | null;
      planChangeApproval: ApprovalStage | null;
      planChangeReason?: string | null;
    }
  /** Delete the customer's personal data for this entitlement. */
  | { kind: 'erase' }
  | { kind: 'ignore'; reason: string };

export interface DecisionInput {
  eventType: string;
  /** The entitlement as `entitlements.get` returned it just now. */
  entitlement: Entitlement;
  entitlementMode: ApprovalMode;
  /** The rule for the plan being switched to, looked up by its mapped name (config/products.yaml). */
  planChangeMode: ApprovalMode;
  /** Why the pending plan cannot be provisioned (the catalog cannot map it); `null` when it can. */
  pendingPlanProblem: string | null;
  /** What to do with a plan change to such a plan: leave it to an admin, or reject it. */
  unmappedPlanChange: UnmappedPlanChange;
  /** Whether the account's `signup` approval is APPROVED; `null` when not looked up. */
  accountApproved: boolean | null;
}

export type MirrorDecision = Extract<Decision, { kind: 'mirror' }>;

export const mirror = (
  action: Action | null = null,
  approval: ApprovalStage | null = null,
  planChangeApproval: ApprovalStage | null = null,
): MirrorDecision => ({ kind: 'mirror', action, approval, planChangeApproval });

/**
 * An entitlement waiting for activation approval: approve, park until the account is approved, or wait
 * for an admin. One Google approved already (`newOfferStartTime`) only waits for its start.
 */
export function activationDecision(input: DecisionInput): Decision {
  if (input.entitlement.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED') return mirror();
  if (!awaitsActivationApproval(input.entitlement)) return mirror(null, 'approval_requested');
  if (input.entitlementMode === 'manual') return mirror(null, 'awaiting_admin');
  // Approving before the account's signup approval fails with FAILED_PRECONDITION: park instead.
  if (input.accountApproved !== true) return mirror(null, 'awaiting_account');
  return mirror({ kind: 'approve' }, 'approval_requested');
}

/**
 * A plan change waiting for provider approval: approve the freshly fetched pending plan, or wait for an
 * admin. A plan the catalog cannot map is never approved (its PLAN_CHANGED could not be provisioned):
 * it waits for an admin, saying why, or is rejected, as policy says.
 */
export function planChangeDecision(input: DecisionInput): Decision {
  const pendingPlan = input.entitlement.newPendingPlan;
  if (input.entitlement.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' || !pendingPlan) return mirror();
  if (input.pendingPlanProblem !== null) {
    if (input.unmappedPlanChange === 'reject') {
      return mirror({ kind: 'rejectPlanChange', pendingPlan, reason: UNMAPPED_PLAN_REJECTION });
    }
    return { ...mirror(null, null, 'awaiting_admin'), planChangeReason: input.pendingPlanProblem };
  }
  if (input.planChangeMode === 'manual') return mirror(null, null, 'awaiting_admin');
  return mirror({ kind: 'approvePlanChange', pendingPlan }, null, 'approval_requested');
}
