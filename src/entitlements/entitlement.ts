/**
 * The normalized entitlement model: what every source is translated into and what the
 * product backend reads. Pure types and rules, no SDK imports.
 */

export const SOURCES = ['gcp', 'purchasely', 'easycart', 'getcourse'] as const;
export type Source = (typeof SOURCES)[number];

export const STATUSES = [
  'pending_approval',
  'active',
  'pending_plan_change',
  'pending_cancellation',
  'suspended',
  'expired',
  'cancelled',
  'rejected',
] as const;
export type EntitlementStatus = (typeof STATUSES)[number];

/** Statuses under which the subject may use the product (inside the validity window). */
const ACCESS_STATUSES: ReadonlySet<EntitlementStatus> = new Set([
  'active',
  'pending_plan_change',
  'pending_cancellation',
]);

export const OUTCOMES = ['applied', 'duplicate', 'stale', 'ignored', 'invalid', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Who an entitlement belongs to. `key` is the access document id; see docs/firestore.md. */
export interface Subject {
  key: string;
  userId?: string;
  email?: string;
  anonymousId?: string;
  accountId?: string;
  /** Marketplace: the order (`Entitlement.orderId`), which may be linked to a user of its own. */
  orderId?: string;
}

export interface Actor {
  type: 'provider' | 'admin' | 'system';
  /** Provider name, admin e-mail or API key name, or the system job. */
  id: string;
}

/** Product and plan in the provider's terms and in the product's own names (config/products.yaml). */
export interface ProductRef {
  product: string;
  plan: string | null;
  providerProduct: string;
  providerPlan: string | null;
}

/**
 * One normalized change, the only thing the ledger applies. Built by a source adapter
 * (pure) from a verified input.
 */
export interface EntitlementChange {
  source: Source;
  /** Dedup key of the inbound event within its source (provider event id, or a derived key). */
  eventKey: string;
  /** Provider event type, kept for history and the event ledger. */
  eventType: string;
  /** When the source says the change happened; the stale guard compares it. */
  sourceTime: Date;
  /** The provider's id of the entitlement, unique within the source. */
  externalId: string;
  /**
   * The id the same entitlement had before personal identifiers in ids were hashed: the store keeps
   * using it while a document exists under it and none under `externalId` (until the one-off
   * migration, scripts/migrate-subject-keys.mjs, moves it).
   */
  legacyExternalId?: string;
  subject: Subject;
  /** `null` keeps the stored product and plan (an event that does not name them). */
  product: ProductRef | null;
  status: EntitlementStatus;
  /** The provider's own state name, kept beside the normalized status. */
  providerState: string;
  /** For the window fields, `undefined` keeps the stored value and `null` clears it. */
  validFrom?: Date | null;
  validUntil?: Date | null;
  /** End of the paid period when cancelled at period end. */
  periodEnd?: Date | null;
  /** Plan the entitlement is switching to, while a plan change is pending. */
  pendingPlan?: { plan: string | null; providerPlan: string } | null;
  actor: Actor;
  /** Source-specific facts kept on the entitlement (e.g. `marketplace`), merged shallowly. */
  details?: Record<string, unknown>;
  /**
   * Erase the customer's personal data: the entitlement is kept as an anonymized tombstone
   * (so late redeliveries cannot resurrect it) and leaves every access summary.
   */
  erase?: boolean;
}

export function entitlementId(source: Source, externalId: string): string {
  return `${source}:${externalId}`;
}

/** Hours of grace per source (policy.yaml `lifecycle.graceHours`) in ms; absent means none. */
export function graceMs(graceHours: Partial<Record<Source, number>>, source: Source): number {
  return (graceHours[source] ?? 0) * 3_600_000;
}

/**
 * When access ends: the source's `validUntil` plus the source's grace (`lifecycle.graceHours`: the
 * time a renewal may take to arrive, e.g. Purchasely's rule never to end access on the renewal date
 * alone), `null` when the window is open. The ledger writes it into the access summary, the expiry
 * sweep ends access at the same instant, and readers cut access there.
 */
export function accessUntil(validUntil: Date | null, grace: number): Date | null {
  return validUntil ? new Date(validUntil.getTime() + grace) : null;
}

/**
 * Whether the subject may use the entitlement at `now`: status and validity window together, the
 * window ending at `validUntil` + `grace` (see `accessUntil`).
 */
export function isActive(
  e: { status: EntitlementStatus; validFrom: Date | null; validUntil: Date | null },
  now: Date,
  grace = 0,
): boolean {
  if (!ACCESS_STATUSES.has(e.status)) return false;
  if (e.validFrom && e.validFrom.getTime() > now.getTime()) return false;
  if (e.validUntil && e.validUntil.getTime() + grace <= now.getTime()) return false;
  return true;
}
