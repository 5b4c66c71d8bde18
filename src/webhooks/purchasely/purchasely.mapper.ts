import { createHash } from 'node:crypto';
import type { CatalogResult } from '../../entitlements/catalog.js';
import type { EntitlementChange, EntitlementStatus, ProductRef, Subject } from '../../entitlements/entitlement.js';
import {
  epochInstant,
  parseRfc3339,
  RFC3339_EXAMPLE,
  type Bounds,
  type WindowOverride,
} from '../../entitlements/input-rules.js';
import { anonymousSubject, userSubject } from '../../entitlements/subject.js';
import type { Mapped } from '../common/webhook-intake.js';
import { invalidPayload, parseBody, type FieldProblem } from '../common/zod-body.js';
import {
  ACTIVATE,
  DEACTIVATE,
  actsOnEntitlement,
  isPlanChange,
  isReceived,
  isTransferred,
  purchaselyEventSchema,
  type PurchaselyEvent,
} from './purchasely.schema.js';

/**
 * Purchasely server event (schema-valid, signature verified) → what the ledger should do.
 * Pure: everything it needs from configuration comes in `context`.
 *
 * - ACTIVATE grants or extends (new purchase or renewal): plan from `plan`, product mapped by
 *   config/products.yaml, `validUntil` from the expiry date.
 * - DEACTIVATE revokes now.
 * - SUBSCRIPTION_UPGRADED / DOWNGRADED / CROSSGRADED record the new plan as pending; the plan
 *   itself switches on the next ACTIVATE, which carries it.
 * - *_TRANSFERRED / *_RECEIVED move the entitlement to the new holder.
 * - Every other event is marketing / lifecycle information: recorded as ignored.
 */
export interface PurchaselyMapContext {
  /** `Catalog.resolve` bound to the `purchasely` source. */
  resolve(providerProduct: string, providerPlan: string | null): CatalogResult;
  /** `webhooks.purchasely.sandbox` in config/policy.yaml. */
  sandbox: 'ignore' | 'apply';
}

const SOURCE = 'purchasely';
const ACTOR = { type: 'provider', id: SOURCE } as const;

export function mapPurchaselyEvent(event: PurchaselyEvent, eventKey: string, context: PurchaselyMapContext): Mapped {
  const name = event.event_name;
  if (event.environment === 'SANDBOX' && context.sandbox === 'ignore') {
    return { kind: 'ignored', reason: 'SANDBOX event ignored by policy (webhooks.purchasely.sandbox: ignore)' };
  }
  if (!actsOnEntitlement(name)) {
    return { kind: 'ignored', reason: `${name} is a lifecycle event: access follows ACTIVATE and DEACTIVATE only` };
  }
  // The schema requires these for the events below; checked again so the mapper stands on its own.
  const externalId = event.purchasely_subscription_id ?? event.purchasely_one_time_purchase_id;
  const holder = purchaselySubject(event.user_id, event.anonymous_user_id);
  if (!externalId || !holder || event.event_created_at_ms == null) {
    return { kind: 'invalid', reason: `${name} without purchase id, user or event_created_at_ms` };
  }
  const base: Base = {
    source: SOURCE,
    eventKey,
    eventType: name,
    sourceTime: new Date(event.event_created_at_ms),
    externalId,
    subject: holder,
    providerState: event.subscription_status ?? name,
    actor: ACTOR,
    details: details(event),
  };
  if (name === ACTIVATE) return activate(event, base, context);
  if (name === DEACTIVATE) return deactivate(event, base, context);
  if (isPlanChange(name)) return planChange(event, base, context);
  return transfer(event, base, context);
}

/** The expiry fields, in the order `expiry` reads them: each ends access (docs/input-rules.md). */
export const PURCHASELY_BOUNDS: Bounds = {
  effective_next_renewal_at_ms: 'end',
  effective_next_renewal_at: 'end',
  next_renewal_at_ms: 'end',
  next_renewal_at: 'end',
  expires_at_ms: 'end',
  expires_at: 'end',
};

/**
 * A verified body as the webhook accepts it: the schema, then the expiry fields of the events whose
 * `validUntil` comes from them (ACTIVATE, transfers) read strictly. A present but unusable expiry is
 * refused with the 400 naming it, never read as "no expiry" (open-ended). Other events do not read
 * the expiry, so a bad one never holds back, say, a DEACTIVATE.
 */
export function readPurchaselyEvent(json: unknown): PurchaselyEvent {
  const event = parseBody(purchaselyEventSchema, json);
  const readsExpiry = event.event_name === ACTIVATE || isTransferred(event.event_name) || isReceived(event.event_name);
  const problems = readsExpiry ? unusableExpiry(event) : [];
  if (problems.length) throw invalidPayload(problems);
  return event;
}

function unusableExpiry(event: PurchaselyEvent): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of Object.keys(PURCHASELY_BOUNDS)) {
    const value = event[field];
    if (value === null || value === undefined) continue;
    if (field.endsWith('_ms')) {
      if (typeof value !== 'number' || !Number.isInteger(value) || !epochInstant(value, 'ms'))
        problems.push({ field, problem: 'must be milliseconds since 1970 (seconds or microseconds are refused)' });
    } else if (typeof value !== 'string' || !parseRfc3339(value)) {
      problems.push({ field, problem: `must be an ISO 8601 date-time with a zone, like ${RFC3339_EXAMPLE}` });
    }
  }
  return problems;
}

/**
 * The body with an approver's end date in place of every expiry field (admin API resolution), so
 * no other expiry field takes over: `effective_next_renewal_at_ms` = the date, or none at all for
 * an explicit open-ended.
 */
export function withPurchaselyWindow(
  body: Record<string, unknown>,
  refused: readonly string[],
  override: WindowOverride,
): Record<string, unknown> {
  if (!refused.some((f) => PURCHASELY_BOUNDS[f] === 'end')) return body;
  const patched = { ...body };
  for (const field of Object.keys(PURCHASELY_BOUNDS)) delete patched[field];
  if (override.validUntil) patched.effective_next_renewal_at_ms = override.validUntil.getTime();
  return patched;
}

/**
 * Dedup key of a delivery: `event_id`, stable across Purchasely's retries. Without one, a key
 * derived from fields that are also stable across retries (`event_created_at_ms` is the time of
 * the first send), or else from the raw body.
 */
export function purchaselyEventKey(event: PurchaselyEvent, rawBody: string): string {
  if (event.event_id) return event.event_id;
  if (event.event_created_at_ms == null) return rawBodyKey(rawBody);
  const parts = [
    event.event_name,
    event.purchasely_subscription_id ?? event.purchasely_one_time_purchase_id ?? '',
    event.store_transaction_id ?? '',
    String(event.event_created_at_ms),
  ];
  return `derived:${sha256(parts.join('|'))}`;
}

/** Key for a body that cannot be read as an event at all (not JSON, or no usable `event_id`). */
export function rawBodyKey(rawBody: string): string {
  return `raw:${sha256(rawBody)}`;
}

/**
 * Identity rule: `user_id` (the app's own user id, set through the SDK) wins; the Purchasely
 * `anonymous_user_id` only when there is no user id.
 */
export function purchaselySubject(userId: string | undefined, anonymousUserId: string | undefined): Subject | null {
  if (userId) return userSubject(userId);
  if (anonymousUserId) return anonymousSubject(SOURCE, anonymousUserId);
  return null;
}

type Base = Omit<EntitlementChange, 'product' | 'status'>;

function activate(event: PurchaselyEvent, base: Base, context: PurchaselyMapContext): Mapped {
  if (!event.product || !event.plan) return { kind: 'invalid', reason: 'ACTIVATE without product or plan' };
  const resolved = context.resolve(event.product, event.plan);
  if (!resolved.ok) return { kind: 'invalid', reason: resolved.reason };
  return changes({
    ...base,
    product: resolved.ref,
    status: 'active',
    // The start of access is not restated: a purchase time a little ahead of our clock would
    // otherwise hide a fresh grant. Purchase times are kept in `details`.
    validFrom: null,
    validUntil: expiry(event),
    pendingPlan: null,
  });
}

function deactivate(event: PurchaselyEvent, base: Base, context: PurchaselyMapContext): Mapped {
  return changes({
    ...base,
    // A revoke must not fail on a plan since removed from config/products.yaml: without a
    // mapping, the stored product and plan are kept.
    product: optionalRef(event, context),
    status: event.subscription_status === 'REVOKED' ? 'cancelled' : 'expired',
    validUntil: base.sourceTime,
    pendingPlan: null,
  });
}

function planChange(event: PurchaselyEvent, base: Base, context: PurchaselyMapContext): Mapped {
  if (!event.product || !event.plan) return { kind: 'invalid', reason: `${event.event_name} without product or plan` };
  const resolved = context.resolve(event.product, event.plan);
  if (!resolved.ok) return { kind: 'invalid', reason: resolved.reason };
  return changes({
    ...base,
    // Product and plan stay as they are: the next ACTIVATE carries the new plan.
    product: null,
    status: 'pending_plan_change',
    pendingPlan: { plan: resolved.ref.plan, providerPlan: event.plan },
  });
}

function transfer(event: PurchaselyEvent, base: Base, context: PurchaselyMapContext): Mapped {
  // TRANSFERRED goes to the previous holder and names the new one; RECEIVED goes to the new one.
  const transferred = isTransferred(event.event_name);
  const newHolder = transferred
    ? purchaselySubject(event.transferred_to_user_id, event.transferred_to_anonymous_user_id)
    : base.subject;
  const previousHolder = transferred
    ? base.subject
    : purchaselySubject(event.transferred_from_user_id, event.transferred_from_anonymous_user_id);
  if (!newHolder) return { kind: 'invalid', reason: `${event.event_name} without transferred_to_user_id` };
  const until = expiry(event);
  return changes({
    ...base,
    subject: newHolder,
    product: optionalRef(event, context),
    status: statusAfterTransfer(event.subscription_status),
    ...(until ? { validUntil: until } : {}),
    details: { ...base.details, transferredFrom: previousHolder?.key ?? null },
  });
}

/** The mapped product when the event names a known one; `null` keeps the stored product. */
function optionalRef(event: PurchaselyEvent, context: PurchaselyMapContext): ProductRef | null {
  if (!event.product) return null;
  const resolved = context.resolve(event.product, event.plan ?? null);
  return resolved.ok ? resolved.ref : null;
}

/**
 * Purchasely: the receiver "has now access to the subscription benefits" — unless the event says
 * the subscription itself has ended or is on hold.
 */
function statusAfterTransfer(subscriptionStatus: string | null | undefined): EntitlementStatus {
  switch (subscriptionStatus) {
    case 'DEACTIVATED':
    case 'UNPAID':
      return 'expired';
    case 'REVOKED':
      return 'cancelled';
    case 'ON_HOLD':
    case 'PAUSED':
      return 'suspended';
    default:
      return 'active';
  }
}

function changes(change: EntitlementChange): Mapped {
  return { kind: 'changes', changes: [change] };
}

/**
 * End of the paid period, for display and the expiry sweep (which waits
 * `lifecycle.graceHours.purchasely` past it). Purchasely revokes with DEACTIVATE, never by date.
 * `effective_next_renewal_at` includes grace and defer periods, so it comes first.
 */
export function expiry(event: PurchaselyEvent): Date | null {
  const candidates: [unknown, unknown][] = [
    [event.effective_next_renewal_at_ms, event.effective_next_renewal_at],
    [event.next_renewal_at_ms, event.next_renewal_at],
    [event.expires_at_ms, event.expires_at],
  ];
  // readPurchaselyEvent has refused any present value here that is not a plausible time.
  for (const [ms, iso] of candidates) {
    if (typeof ms === 'number') return new Date(ms);
    if (typeof iso === 'string' && iso) return new Date(iso);
  }
  return null;
}

/** Purchasely facts kept on the entitlement; absent ones are left out so the stored values stay. */
function details(event: PurchaselyEvent): Record<string, unknown> {
  const at = (ms: number | null | undefined) => (ms == null ? null : new Date(ms));
  const facts: Record<string, unknown> = {
    store: event.store,
    environment: event.environment,
    purchaseType: event.purchase_type,
    subscriptionStatus: event.subscription_status,
    storeOriginalTransactionId: event.store_original_transaction_id,
    purchasedAt: at(event.purchased_at_ms),
    originalPurchasedAt: at(event.original_purchased_at_ms),
    previousPlan: event.previous_plan,
  };
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v != null));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
