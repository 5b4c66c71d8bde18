import { CANCELLATION_EVENTS, decideCancellation } from './cancellations.js';
import { mirror, type Decision, type DecisionInput } from './decision.js';
import { decideOrder, ORDER_EVENTS } from './orders.js';
import { decidePlanChange, PLAN_CHANGE_EVENTS } from './plan-changes.js';

type Family = { events: readonly string[]; decide: (input: DecisionInput) => Decision };

const FAMILIES: Family[] = [
  { events: ORDER_EVENTS, decide: decideOrder },
  { events: PLAN_CHANGE_EVENTS, decide: decidePlanChange },
  { events: CANCELLATION_EVENTS, decide: decideCancellation },
];

export function isKnownEntitlementEvent(eventType: string): boolean {
  return FAMILIES.some((f) => f.events.includes(eventType));
}

/**
 * Dispatches on the event type to its family's decision table. A type Google does not document
 * (`ENTITLEMENT_SUSPENDED` is a state some senders use as a type, and Google may add types) still
 * names an entitlement whose state changed: the fetched state is mirrored, and nothing is called.
 */
export function decideEntitlement(input: DecisionInput): Decision {
  const family = FAMILIES.find((f) => f.events.includes(input.eventType));
  if (!family) return mirror();
  return family.decide(input);
}
