import type { EntitlementStatus } from '../entitlements/entitlement.js';
import { parseRfc3339, RFC3339_EXAMPLE, type Bounds, type WindowOverride } from '../entitlements/input-rules.js';
import type { Entitlement } from './procurement/procurement.client.js';

/** Procurement entitlement states → our status. Unknown states (the enum is open) map to null. */
const STATUS_BY_STATE: Record<string, EntitlementStatus> = {
  ENTITLEMENT_ACTIVATION_REQUESTED: 'pending_approval',
  ENTITLEMENT_ACTIVE: 'active',
  ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL: 'pending_plan_change',
  ENTITLEMENT_PENDING_PLAN_CHANGE: 'pending_plan_change',
  ENTITLEMENT_PENDING_CANCELLATION: 'pending_cancellation',
  ENTITLEMENT_CANCELLED: 'cancelled',
  ENTITLEMENT_SUSPENDED: 'suspended',
};

export function statusOf(state: string | null | undefined): EntitlementStatus | null {
  return (state && STATUS_BY_STATE[state]) || null;
}

/**
 * The one home of Google's approval rule. An entitlement in ACTIVATION_REQUESTED is approved once it
 * carries `newOfferStartTime` ("set after approval"): by the provider, or by Google itself (automatic
 * offer approval, announced by ENTITLEMENT_OFFER_ACCEPTED alone, or a future-start offer). Only one
 * without it still waits for the provider's `entitlements.approve`.
 */
export function awaitsActivationApproval(e: Pick<Entitlement, 'state' | 'newOfferStartTime'> | null): boolean {
  return e?.state === 'ENTITLEMENT_ACTIVATION_REQUESTED' && !e.newOfferStartTime;
}

/** Approved (by anyone) and not yet ended: approved and waiting for its start, or live since. */
export function activationApproved(e: Pick<Entitlement, 'state' | 'newOfferStartTime'>): boolean {
  if (e.state === 'ENTITLEMENT_ACTIVATION_REQUESTED') return Boolean(e.newOfferStartTime);
  return statusOf(e.state) !== null && e.state !== 'ENTITLEMENT_CANCELLED';
}

export function lastSegment(name: string | null | undefined): string | null {
  const segment = name?.split('/').pop();
  return segment ? segment : null;
}

export function dateOf(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The product a Marketplace entitlement is for: `productExternalName`, else the deprecated `product`. */
export function productOf(e: Entitlement): string | null {
  return e.productExternalName || e.product || null;
}

/**
 * The fetched entitlement's times that bound access (docs/input-rules.md): the end of a pending
 * cancellation (`subscriptionEndTime`, else `offerEndTime`) and the start of an offer accepted
 * with a future start (`newOfferStartTime`).
 */
export const MARKETPLACE_BOUNDS: Bounds = {
  subscriptionEndTime: 'end',
  offerEndTime: 'end',
  newOfferStartTime: 'start',
};

export interface FetchedTimes {
  subscriptionEndTime: Date | null;
  offerEndTime: Date | null;
  newOfferStartTime: Date | null;
}

/**
 * Reads those times strictly (RFC 3339, as the Procurement API writes them) where they bound
 * access: the ends while the entitlement is PENDING_CANCELLATION, the start while it waits for
 * activation. An unreadable one there is refused (`ok: false`, naming it), never read as absent
 * (no end: open-ended). Elsewhere it is only kept in `details`, so it never holds back a state that
 * ends access. An approver's `override` stands in for the refused ones (both ends for an end).
 */
export function fetchedTimes(
  e: Entitlement,
  status: EntitlementStatus,
  override?: WindowOverride,
): { ok: true; times: FetchedTimes } | { ok: false; reason: string; fields: string[] } {
  const times: FetchedTimes = { subscriptionEndTime: null, offerEndTime: null, newOfferStartTime: null };
  const refused: string[] = [];
  for (const field of Object.keys(times) as (keyof FetchedTimes)[]) {
    const text = e[field];
    if (!text) continue;
    times[field] = parseRfc3339(text);
    const bounds =
      MARKETPLACE_BOUNDS[field] === 'end' ? status === 'pending_cancellation' : status === 'pending_approval';
    if (!times[field] && bounds) refused.push(field);
  }
  const still = refused.filter((f) => !(override && (MARKETPLACE_BOUNDS[f] === 'end' || override.validFrom)));
  if (still.length) {
    return {
      ok: false,
      fields: still,
      reason: `unusable fetched entitlement: ${still
        .map((f) => `${f}: not an RFC 3339 timestamp (like ${RFC3339_EXAMPLE})`)
        .join('; ')}; an approver can resolve it with an explicit date (docs/input-rules.md)`,
    };
  }
  if (override && refused.some((f) => MARKETPLACE_BOUNDS[f] === 'end')) {
    times.subscriptionEndTime = override.validUntil;
    times.offerEndTime = override.validUntil;
  }
  if (override?.validFrom && refused.includes('newOfferStartTime')) times.newOfferStartTime = override.validFrom;
  return { ok: true, times };
}
