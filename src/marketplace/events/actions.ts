import type { WaitingFor } from '../approval-policy.js';
import { activationApproved } from '../entitlement-state.js';
import type { Entitlement } from '../procurement/procurement.client.js';
import type { Action, MirrorDecision } from './decision.js';

/**
 * The once-only key of a Procurement call (`actions/{key}`): an entitlement is approved once in its
 * life; a plan change is decided once per request (its state's updateTime). Admin actions use the same keys.
 */
export function actionKey(id: string, action: Action, e: Entitlement): string {
  if (action.kind === 'approve') return `approve:${id}`;
  return `${action.kind}:${id}:${action.pendingPlan}:${e.updateTime}`;
}

/**
 * Whether an action already took effect, judged from freshly fetched state: when a claim's holder died
 * between the call and recording it, or when the call was answered FAILED_PRECONDITION (someone, or Google,
 * had made it already). An approval shows as `newOfferStartTime` or a live state; an approved plan change
 * as the pending plan waiting for the term's end, or as the plan itself; a rejected one as the old plan
 * with nothing pending. A plan-change key names its request's updateTime, so a later request is another key.
 */
export function tookEffect(action: Action, e: Entitlement): boolean {
  switch (action.kind) {
    case 'approve':
      return activationApproved(e);
    case 'approvePlanChange':
      return (
        (e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE' && e.newPendingPlan === action.pendingPlan) ||
        (e.state === 'ENTITLEMENT_ACTIVE' && e.plan === action.pendingPlan)
      );
    case 'rejectPlanChange':
      return e.state === 'ENTITLEMENT_ACTIVE' && !e.newPendingPlan && e.plan !== action.pendingPlan;
  }
}

/**
 * What the buyer should be told now (`entitlements.patch messageToUser`): the configured text while the
 * order or plan change waits for an admin; `''` (clear) once an order is approved but Google keeps it in
 * ACTIVATION_REQUESTED (a state change clears the text by itself); `null`: nothing to change.
 */
export function buyerMessage(
  decision: MirrorDecision,
  e: Entitlement,
  textFor: (waitingFor: WaitingFor) => string | null,
): string | null {
  const current = e.messageToUser ?? '';
  let wanted: string | null = null;
  if (e.state === 'ENTITLEMENT_ACTIVATION_REQUESTED') {
    if (decision.approval === 'awaiting_admin') wanted = textFor('entitlement');
    else if (decision.approval === 'approval_requested' || decision.action?.kind === 'approve') wanted = '';
  } else if (
    e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' &&
    decision.planChangeApproval === 'awaiting_admin'
  ) {
    wanted = textFor('planChange');
  }
  return wanted === null || wanted === current ? null : wanted;
}
