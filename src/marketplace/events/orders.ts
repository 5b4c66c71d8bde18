import { activationDecision, mirror, type Decision, type DecisionInput } from './decision.js';

/** Orders: purchase requested or accepted, activation, renewal, end of an offer. */
export const ORDER_EVENTS = [
  'ENTITLEMENT_CREATION_REQUESTED',
  'ENTITLEMENT_OFFER_ACCEPTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_RENEWED',
  'ENTITLEMENT_OFFER_ENDED',
] as const;

export function decideOrder(input: DecisionInput): Decision {
  switch (input.eventType) {
    case 'ENTITLEMENT_CREATION_REQUESTED':
    case 'ENTITLEMENT_OFFER_ACCEPTED':
      // An accepted offer may still need approval; its future start is recorded by the mirror.
      return activationDecision(input);
    default:
      // ACTIVE provisions, RENEWED and OFFER_ENDED refresh the term: all are the fetched state.
      return mirror();
  }
}
