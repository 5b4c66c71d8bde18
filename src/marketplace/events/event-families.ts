import { CANCELLATION_EVENTS, decideCancellation } from './cancellations.js';
import type { Decision, DecisionInput } from './decision.js';
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

/** Dispatches on the event type to its family's decision table; unknown types are ignored (and acked). */
export function decideEntitlement(input: DecisionInput): Decision {
  const family = FAMILIES.find((f) => f.events.includes(input.eventType));
  if (!family) return { kind: 'ignore', reason: `unknown entitlement event type ${input.eventType}` };
  return family.decide(input);
}
