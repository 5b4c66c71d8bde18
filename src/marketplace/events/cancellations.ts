import { mirror, type Decision, type DecisionInput } from './decision.js';

/** Cancellations and deletion. Access continues through pending cancellation and ends on CANCELLED. */
export const CANCELLATION_EVENTS = [
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLATION_REVERTED',
  'ENTITLEMENT_CANCELLING',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_DELETED',
] as const;

export function decideCancellation(input: Pick<DecisionInput, 'eventType'>): Decision {
  if (input.eventType === 'ENTITLEMENT_DELETED') return { kind: 'erase' };
  return mirror();
}
