/**
 * The pure half of the sweeps: which lifecycle change an entitlement is due, the change itself,
 * and the `entitlement.expiring` notice. No I/O; unit-tested beside this file.
 */
import { accessUntil, graceMs, isActive, type EntitlementChange, type Source } from '../entitlements/entitlement.js';
import {
  CHANGE_EVENT_SCHEMA_VERSION,
  type ChangeEventState,
  type EntitlementRecord,
} from '../entitlements/ledger-plan.js';

export const LIFECYCLE_EVENT_TYPES = { expired: 'LIFECYCLE_EXPIRED', started: 'LIFECYCLE_STARTED' } as const;

/** An outbound notice, published through the outbox like `entitlement.changed` (docs/change-events.md). */
export interface ExpiringEvent {
  schemaVersion: number;
  type: 'entitlement.expiring';
  /** `expiring:<entitlementId>:<validUntil ms>`: one per entitlement and period. */
  id: string;
  entitlementId: string;
  source: Source;
  entitlementVersion: number;
  state: ChangeEventState;
  /** The end of access the source gave. */
  validUntil: Date;
  /** When the expiry sweep ends access if nothing renews it first: `validUntil` + the source's grace. */
  accessEndsAt: Date;
  occurredAt: Date;
}

export type WindowAction = 'expire' | 'start' | 'none';

export { graceMs };

/**
 * What the validity window asks for at `now`: `expire` once `validUntil` + grace has passed while
 * the status still grants access; `start` once `validFrom` has arrived for an entitlement that is
 * not active yet (a future-start offer); otherwise nothing.
 */
export function windowAction(e: EntitlementRecord, now: Date, grace: number): WindowAction {
  if (!e.subject || e.erasedAt) return 'none';
  const grantsAccess = isActive({ status: e.status, validFrom: null, validUntil: null }, now);
  if (!grantsAccess) return 'none';
  if (e.validUntil && e.validUntil.getTime() + grace <= now.getTime()) return 'expire';
  if (!e.active && isActive(e, now, grace)) return 'start';
  return 'none';
}

/**
 * Ends access through the ledger. The event key names the period, so every sweep and instance
 * proposes the same event (the ledger keeps one). The source time is the due time, so a provider
 * event later than it still wins and an older one is stale; it never goes below the applied source
 * time, so a provider clock ahead of ours cannot make the expiry itself stale.
 */
export function expiryChange(e: EntitlementRecord, grace: number): EntitlementChange {
  const until = e.validUntil!.getTime();
  return {
    ...lifecycleBase(e),
    eventKey: `expire:${e.id}:${until}`,
    eventType: LIFECYCLE_EVENT_TYPES.expired,
    sourceTime: new Date(Math.max(until + grace, e.sourceUpdatedAt.getTime())),
    status: 'expired',
    actor: { type: 'system', id: 'expiry-sweep' },
  };
}

/** Starts access whose `validFrom` arrived: the same status, re-applied, turns `active` on. */
export function startChange(e: EntitlementRecord): EntitlementChange {
  const from = e.validFrom!.getTime();
  return {
    ...lifecycleBase(e),
    eventKey: `start:${e.id}:${from}`,
    eventType: LIFECYCLE_EVENT_TYPES.started,
    sourceTime: new Date(Math.max(from, e.sourceUpdatedAt.getTime())),
    status: e.status,
    actor: { type: 'system', id: 'start-sweep' },
  };
}

/** The dedup key of an expiring notice: one per entitlement and period. */
export function noticeKey(e: Pick<EntitlementRecord, 'id' | 'validUntil'>): string {
  return `${e.id}:${e.validUntil!.getTime()}`;
}

export function expiringEvent(e: EntitlementRecord, grace: number, now: Date): ExpiringEvent {
  const validUntil = e.validUntil!;
  return {
    schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
    type: 'entitlement.expiring',
    id: `expiring:${noticeKey(e)}`,
    entitlementId: e.id,
    source: e.source,
    entitlementVersion: e.version,
    state: {
      status: e.status,
      active: e.active,
      product: e.product,
      plan: e.plan,
      validFrom: e.validFrom,
      validUntil,
      subjectKey: e.subject?.key ?? null,
    },
    validUntil,
    accessEndsAt: accessUntil(validUntil, grace)!,
    occurredAt: now,
  };
}

function lifecycleBase(
  e: EntitlementRecord,
): Omit<EntitlementChange, 'eventKey' | 'eventType' | 'sourceTime' | 'status' | 'actor'> {
  return {
    source: e.source,
    externalId: e.externalId,
    subject: e.subject!,
    // Product, plan and window are kept as stored; the provider's state name too: it did not speak.
    product: null,
    providerState: e.providerState,
  };
}
