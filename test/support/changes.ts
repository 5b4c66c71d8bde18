import { randomUUID } from 'node:crypto';
import type { EntitlementChange } from '../../src/entitlements/entitlement.js';
import type { InboundEvent } from '../../src/entitlements/inbound-event.js';

/** A valid Purchasely-like change; override what the test is about. */
export function change(overrides: Partial<EntitlementChange> = {}): EntitlementChange {
  return {
    source: 'purchasely',
    eventKey: randomUUID(),
    eventType: 'ACTIVATE',
    sourceTime: new Date('2026-11-01T00:00:00Z'),
    externalId: 'sub-1',
    subject: { key: 'user:u1', userId: 'u1' },
    product: { product: 'demo', plan: 'monthly', providerProduct: 'PREMIUM', providerPlan: 'monthly' },
    status: 'active',
    providerState: 'ACTIVATE',
    validFrom: new Date('2026-11-01T00:00:00Z'),
    validUntil: null,
    actor: { type: 'provider', id: 'purchasely' },
    ...overrides,
  };
}

export function eventFor(c: EntitlementChange): InboundEvent {
  return {
    source: c.source,
    eventKey: c.eventKey,
    eventType: c.eventType,
    transport: { kind: 'webhook' },
    raw: JSON.stringify({ id: c.eventKey }),
  };
}
