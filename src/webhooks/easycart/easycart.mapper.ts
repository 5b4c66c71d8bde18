import { createHash } from 'node:crypto';
import type { CatalogResult } from '../../entitlements/catalog.js';
import type { EntitlementChange, Source } from '../../entitlements/entitlement.js';
import type { Bounds, WindowOverride } from '../../entitlements/input-rules.js';
import type { SubjectKeys } from '../../entitlements/subject.js';
import type { Mapped } from '../common/webhook-intake.js';
import { parseBody } from '../common/zod-body.js';
import {
  easyCartAccessSchema,
  easyCartEnvelopeSchema,
  parseEasyCartDate,
  type EasyCartAccessEvent,
  type EasyCartAction,
} from './easycart.schema.js';

/**
 * EasyCart events and what they do. Access is granted on `product_assigned` only (EasyCart sends
 * it for every sale, to the assignee); the order-level events are kept as records.
 */
export const EASYCART_EVENTS: Readonly<Record<string, EasyCartAction | { ignored: string }>> = {
  product_assigned: 'grant',
  subscription_plan_changed: 'plan_change',
  product_access_expiring: 'expiring',
  product_access_expired: 'expire',
  subscription_expired: 'expire',
  subscription_deleted: 'revoke',
  subscription_canceled: 'cancel_at_period_end',
  // UK spelling, seen from the Easytools API by the open-source WordPress integration.
  subscription_cancelled: 'cancel_at_period_end',
  subscription_renewed: 'renew',
  subscription_resumed: 'renew',
  single_product_bought: {
    ignored: 'order record: access is granted on product_assigned',
  },
  subscription_created: {
    ignored: 'order record: access is granted on product_assigned',
  },
  subscription_renewal_failed: {
    ignored: 'failed charge: access continues until EasyCart expires it',
  },
  subscription_renewal_upcoming: { ignored: 'notice only' },
  customer_data_changed: {
    ignored: 'notice only: entitlements keep the assignee e-mail they were granted to',
  },
};

export interface EasyCartContext {
  resolve: (source: Source, providerProduct: string, providerPlan: string | null) => CatalogResult;
  /** When the request arrived: the event time of payloads without `timestamp`. */
  receivedAt: Date;
  /** E-mails become keyed subject keys and id parts (docs/firestore.md, "Subject keys"). */
  subjects: SubjectKeys;
}

export interface MappedEasyCart {
  eventKey: string;
  eventType: string;
  mapped: Mapped;
}

/**
 * A verified EasyCart payload (parsed JSON) → what the ledger should do with it. Throws the
 * 400 `AppError` of `parseBody` when a field we need is missing or malformed.
 */
export function mapEasyCart(body: unknown, ctx: EasyCartContext): MappedEasyCart {
  const { event } = parseBody(easyCartEnvelopeSchema, body);
  const meaning = Object.hasOwn(EASYCART_EVENTS, event) ? EASYCART_EVENTS[event]! : undefined;
  if (meaning === undefined || typeof meaning === 'object') {
    return {
      eventKey: bodyKey(body),
      eventType: event,
      mapped: {
        kind: 'ignored',
        reason: meaning?.ignored ?? `unknown EasyCart event "${event}"`,
      },
    };
  }
  const payload = parseBody(easyCartAccessSchema(meaning), endingReadable(meaning, body));
  const eventKey = easyCartEventKey(payload, body, ctx.subjects);
  const resolved = ctx.resolve('easycart', payload.productCode, payload.planCode);
  if (!resolved.ok)
    return {
      eventKey,
      eventType: event,
      mapped: { kind: 'invalid', reason: resolved.reason },
    };

  const sourceTime = payload.time ?? ctx.receivedAt;
  const base: EntitlementChange = {
    source: 'easycart',
    eventKey,
    eventType: event,
    sourceTime,
    externalId: easyCartExternalId(payload, ctx.subjects),
    legacyExternalId: legacyEasyCartExternalId(payload),
    subject: ctx.subjects.email(payload.email),
    product: resolved.ref,
    status: 'active',
    providerState: event,
    actor: { type: 'provider', id: 'easycart' },
    details: {
      easycart: {
        orderUuid: payload.orderUuid,
        orderId: payload.orderId,
        buyerEmail: payload.buyerEmail?.toLowerCase() ?? null,
        // How an erasure request of the buyer finds this entitlement of someone else (a gift).
        buyerSubjectKey: payload.buyerEmail ? ctx.subjects.emailKey(payload.buyerEmail) : null,
        productName: payload.productName,
        priceName: payload.priceName,
        subscriptionId: payload.subscriptionId,
      },
    },
  };
  return {
    eventKey,
    eventType: event,
    mapped: { kind: 'changes', changes: [changeFor(meaning, payload, base)] },
  };
}

function changeFor(action: EasyCartAction, p: EasyCartAccessEvent, base: EntitlementChange): EntitlementChange {
  switch (action) {
    case 'grant':
      // Open-ended unless the price takes access away after N days or cycles (`expiration_date`).
      return {
        ...base,
        validFrom: base.sourceTime,
        validUntil: p.expirationDate,
        periodEnd: null,
      };
    case 'plan_change':
      return base;
    case 'expiring':
      // Notice three days ahead: the end date is recorded, access is unchanged until then.
      return { ...base, validUntil: p.expirationDate };
    case 'expire':
      // Access ended at the expiration date, or when EasyCart said so if that came first.
      return {
        ...base,
        status: 'expired',
        validUntil: earliest(p.expirationDate, base.sourceTime),
      };
    case 'revoke':
      return { ...base, status: 'cancelled', validUntil: base.sourceTime };
    case 'cancel_at_period_end':
      // Cancelled in the customer panel: paid until the period end, access kept until then.
      return {
        ...base,
        status: 'pending_cancellation',
        periodEnd: p.periodEnd ?? undefined,
        validUntil: p.periodEnd ?? undefined,
      };
    case 'renew':
      // A paid renewal (or a resumed subscription) runs on: a pending cancellation's end is lifted.
      return { ...base, periodEnd: null, validUntil: p.expirationDate };
  }
}

/** The payload fields that bound access (docs/input-rules.md): both end it. */
export const EASYCART_BOUNDS: Bounds = { expiration_date: 'end', subscription_current_period_end: 'end' };

/**
 * An event that ends access (expire, revoke) with an unreadable end date is not held back for it:
 * the date is read as absent, so access ends when EasyCart says so, the narrowest reading. Every
 * other event is refused for it (docs/input-rules.md).
 */
function endingReadable(action: EasyCartAction, body: unknown): unknown {
  if ((action !== 'expire' && action !== 'revoke') || !body || typeof body !== 'object') return body;
  const readable = { ...(body as Record<string, unknown>) };
  for (const field of Object.keys(EASYCART_BOUNDS)) {
    const value = readable[field];
    const usable = (typeof value === 'number' || typeof value === 'string') && parseEasyCartDate(value) !== null;
    if (value !== null && value !== undefined && !usable) delete readable[field];
  }
  return readable;
}

/**
 * The body with an approver's end date in place of every end field once one was refused (admin API
 * resolution), so the date is the end whichever field the event reads: the override stands in for
 * what EasyCart should have sent; open-ended is `null`, EasyCart's own "no date".
 */
export function withEasyCartWindow(
  body: Record<string, unknown>,
  refused: readonly string[],
  override: WindowOverride,
): Record<string, unknown> {
  if (!refused.some((f) => EASYCART_BOUNDS[f] === 'end')) return body;
  const patched = { ...body };
  for (const field of Object.keys(EASYCART_BOUNDS)) patched[field] = override.validUntil?.toISOString() ?? null;
  return patched;
}

/**
 * Entitlement id within EasyCart: `<order_uuid>:<product code>:<assignee's e-mail digest>`. Stable
 * across a plan change (the plan is not part of it); one per assignee, so one order can give several
 * people access. The assignee is the keyed digest of the e-mail (the one in `emailh:` subject keys),
 * never the address. A product code with characters unsafe in a document id becomes `h-<sha256/16>`.
 */
export function easyCartExternalId(p: EasyCartAccessEvent, subjects: SubjectKeys): string {
  return `${p.orderRef}:${safePart(p.productCode)}:${subjects.emailDigest(p.email)}`;
}

/** The id before e-mails were hashed (`…:<lowercased e-mail>`): what older documents are stored under. */
export function legacyEasyCartExternalId(p: EasyCartAccessEvent): string {
  return `${p.orderRef}:${safePart(p.productCode)}:${p.email.trim().toLowerCase()}`;
}

/**
 * EasyCart sends no event id. The derived key is the SHA-256 (hex) of
 * `["easycart", event, order, product code, assignee's e-mail digest, plan, timestamp]`, or of the
 * compact body when there is no `timestamp` (payloads before 2025), so a redelivery is recognised.
 */
export function easyCartEventKey(p: EasyCartAccessEvent, body: unknown, subjects: SubjectKeys): string {
  if (!p.time) return bodyKey(body);
  return sha256(
    JSON.stringify([
      'easycart',
      p.event,
      p.orderRef,
      p.productCode,
      subjects.emailDigest(p.email),
      p.planCode,
      p.time.toISOString(),
    ]),
  );
}

function earliest(a: Date | null, b: Date): Date {
  return a && a.getTime() < b.getTime() ? a : b;
}

function bodyKey(body: unknown): string {
  return sha256(JSON.stringify(body));
}

function safePart(code: string): string {
  return /^[A-Za-z0-9._@+=-]{1,100}$/.test(code) ? code : `h-${sha256(code).slice(0, 16)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
