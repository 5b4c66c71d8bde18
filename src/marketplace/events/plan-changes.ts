import { mirror, planChangeDecision, type Decision, type DecisionInput } from './decision.js';

/** Plan changes: requested (approve per policy), changed (new plan), withdrawn by the customer. */
export const PLAN_CHANGE_EVENTS = [
  'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  'ENTITLEMENT_PLAN_CHANGED',
  'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
] as const;

export function decidePlanChange(input: DecisionInput): Decision {
  if (input.eventType === 'ENTITLEMENT_PLAN_CHANGE_REQUESTED') return planChangeDecision(input);
  // PLAN_CHANGED switches the plan (state ACTIVE, new plan); PLAN_CHANGE_CANCELLED keeps the old one.
  return mirror();
}
