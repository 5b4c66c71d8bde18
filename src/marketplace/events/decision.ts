import type { ApprovalMode } from '../approval-policy.js';
import type { Entitlement } from '../procurement/procurement.client.js';

/** Where a pending approval stands; kept on the entitlement as `marketplace.approval`. */
export type ApprovalStage = 'awaiting_account' | 'awaiting_admin' | 'approval_requested';

export type Action = { kind: 'approve' } | { kind: 'approvePlanChange'; pendingPlan: string };

export type Decision =
  /** Write the fetched state into the ledger; then (outside the transaction) act, if asked. */
  | { kind: 'mirror'; action: Action | null; approval: ApprovalStage | null; planChangeApproval: ApprovalStage | null }
  /** Delete the customer's personal data for this entitlement. */
  | { kind: 'erase' }
  | { kind: 'ignore'; reason: string };

export interface DecisionInput {
  eventType: string;
  /** The entitlement as `entitlements.get` returned it just now. */
  entitlement: Entitlement;
  entitlementMode: ApprovalMode;
  planChangeMode: ApprovalMode;
  /** Whether the account's `signup` approval is APPROVED; `null` when not looked up. */
  accountApproved: boolean | null;
}

export type MirrorDecision = Extract<Decision, { kind: 'mirror' }>;

export const mirror = (
  action: Action | null = null,
  approval: ApprovalStage | null = null,
  planChangeApproval: ApprovalStage | null = null,
): MirrorDecision => ({ kind: 'mirror', action, approval, planChangeApproval });

/** An entitlement waiting for activation approval: approve, park until the account is approved, or wait for an admin. */
export function activationDecision(input: DecisionInput): Decision {
  if (input.entitlement.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED') return mirror();
  if (input.entitlementMode === 'manual') return mirror(null, 'awaiting_admin');
  // Approving before the account's signup approval fails with FAILED_PRECONDITION: park instead.
  if (input.accountApproved !== true) return mirror(null, 'awaiting_account');
  return mirror({ kind: 'approve' }, 'approval_requested');
}

/** A plan change waiting for provider approval: approve the freshly fetched pending plan, or wait for an admin. */
export function planChangeDecision(input: DecisionInput): Decision {
  const pendingPlan = input.entitlement.newPendingPlan;
  if (input.entitlement.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' || !pendingPlan) return mirror();
  if (input.planChangeMode === 'manual') return mirror(null, null, 'awaiting_admin');
  return mirror({ kind: 'approvePlanChange', pendingPlan }, null, 'approval_requested');
}
