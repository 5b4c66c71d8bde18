import { z } from 'zod';
import { epochInstant } from '../../entitlements/input-rules.js';

/**
 * EasyCart (Easytools) webhook payloads: a flat snake_case JSON object, the type in `event`.
 * Only the fields we act on are validated; everything else passes through untouched (EasyCart
 * adds fields over time). Docs: docs/integrations/easycart.md.
 */

/** What an access event does to the entitlement; see `EASYCART_EVENTS` in easycart.mapper.ts. */
export type EasyCartAction =
  'grant' | 'plan_change' | 'expiring' | 'expire' | 'revoke' | 'cancel_at_period_end' | 'renew';

/**
 * Longest value of each field we read. Every id we derive (entitlement, subject, event key) is built
 * from these, so each stays far below Firestore's limits on ids and map keys (1,500 bytes); a longer
 * value is a 400 naming the field and the event is recorded `invalid`, never a 500 on every retry.
 */
export const EASYCART_LIMITS = {
  event: 64,
  id: 100,
  /** RFC 5321: a forward path holds at most 256 octets, so an address at most 254. */
  email: 254,
  name: 256,
  code: 200,
  stripeId: 255,
  date: 64,
} as const;

const L = EASYCART_LIMITS;
const atMost = (max: number) => `at most ${max} characters`;

export const easyCartEnvelopeSchema = z.looseObject({
  event: z
    .string({ error: requiredOr('text') })
    .trim()
    .min(1, 'required')
    .max(L.event, atMost(L.event)),
});

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * An EasyCart date: unix seconds (the top-level `timestamp`; milliseconds are recognised by
 * size) or ISO-8601 with a zone (`2021-06-03T13:58:04+02:00`, older payloads). A date-time
 * without a zone is refused: EasyCart always sent one, and guessing would shift access by hours.
 * So is a number that is neither seconds nor milliseconds of this era (docs/input-rules.md): a
 * microsecond count would otherwise end access in the year 55 000.
 */
export function parseEasyCartDate(value: number | string): Date | null {
  if (typeof value === 'number') return fromEpoch(value);
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return fromEpoch(Number(text));
  const m = ISO_WITH_ZONE.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone = 'Z'] = m;
  const utc = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, Math.floor(Number(`0.${frac}`) * 1000));
  const check = new Date(Date.UTC(+y!, +mo! - 1, +d!));
  // Date.UTC rolls 2026-02-30 over to March; a real calendar date survives the round trip.
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s! > 59) return null;
  const date = new Date(utc - zoneOffsetMs(zone));
  return Number.isNaN(date.getTime()) ? null : date;
}

function fromEpoch(n: number): Date | null {
  return epochInstant(n, n >= 1e11 ? 'ms' : 's');
}

function zoneOffsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
}

const DATE_PROBLEM = 'must be ISO-8601 with a time zone or unix seconds (or milliseconds) after 2001';

const date = z
  .union([z.number(), z.string().max(L.date, atMost(L.date))], {
    error: DATE_PROBLEM,
  })
  .transform((v, ctx) => {
    const parsed = parseEasyCartDate(v);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: DATE_PROBLEM,
      });
      return z.NEVER;
    }
    return parsed;
  });

const id = z.union([z.string().trim().min(1).max(L.id, atMost(L.id)), z.number()]).transform(String);
const text = (max: number) => z.string().trim().max(max, atMost(max));
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const person = z.looseObject({
  email: text(L.email).nullish(),
  name: text(L.name).nullish(),
  first_name: text(L.name).nullish(),
  last_name: text(L.name).nullish(),
});

/** The fields of an access event (product_assigned, product_access_*, subscription_*). */
const accessFields = z.looseObject({
  event: text(L.event),
  timestamp: date.nullish(),
  order_uuid: text(L.id).nullish(),
  order_id: id.nullish(),
  customer_email: text(L.email).nullish(),
  assignee: person.nullish(),
  product_id: id.nullish(),
  product: z.union([z.looseObject({ id: id.nullish() }), z.string().max(L.code, atMost(L.code)), z.number()]).nullish(),
  product_name: text(L.code).nullish(),
  price_name: text(L.name).nullish(),
  price_description: text(L.code).nullish(),
  subscription_plan_name: text(L.code).nullish(),
  subscription_new_plan_name: text(L.code).nullish(),
  subscription_stripe_id: text(L.stripeId).nullish(),
  subscription_current_period_end: date.nullish(),
  expiration_date: date.nullish(),
});
type AccessFields = z.infer<typeof accessFields>;

/** An access event once validated: what the mapper needs, in our terms. */
export interface EasyCartAccessEvent {
  event: string;
  /** `timestamp`; absent in payloads older than 2025. */
  time: Date | null;
  /** `order_uuid`, else `order-<order_id>`. */
  orderRef: string;
  orderUuid: string | null;
  orderId: string | null;
  /** Provider product code for config/products.yaml: `product_id`, `product.id`, else `product_name`. */
  productCode: string;
  /** `subscription_plan_name`, `subscription_new_plan_name`, else `price_description`. */
  planCode: string | null;
  /** Whose access this is: the assignee (gift purchases), never the buyer for grants. */
  email: string;
  buyerEmail: string | null;
  productName: string | null;
  priceName: string | null;
  subscriptionId: string | null;
  expirationDate: Date | null;
  periodEnd: Date | null;
}

/**
 * Events whose payload always names the `assignee` (EasyCart's access-management guide):
 * for these the buyer's e-mail is never a substitute, or a gift would land on the buyer.
 */
const ASSIGNEE_EVENTS: ReadonlySet<string> = new Set([
  'product_assigned',
  'product_access_expiring',
  'product_access_expired',
  'subscription_plan_changed',
]);

/**
 * The schema of an access event. What is required depends on the event: `product_assigned`
 * must name the assignee, `product_access_expiring` its `expiration_date`, a plan change the plan.
 */
export function easyCartAccessSchema(action: EasyCartAction) {
  return accessFields
    .superRefine(
      (p, ctx) => {
        // Runs even when a field failed (so one 400 names every problem): values may be unchecked.
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
        if (!p.order_uuid && !p.order_id) issue(['order_uuid'], 'required (or order_id)');
        if (!productCodeOf(p)) issue(['product_name'], 'required (or product_id)');
        const assignee = typeof p.assignee?.email === 'string' ? p.assignee.email : undefined;
        if (assignee) {
          if (!EMAIL.test(assignee)) issue(['assignee', 'email'], 'must be an e-mail address');
        } else if (ASSIGNEE_EVENTS.has(p.event)) {
          issue(['assignee', 'email'], 'required');
        } else if (!p.customer_email) {
          issue(['assignee', 'email'], 'required (or customer_email)');
        } else if (typeof p.customer_email !== 'string' || !EMAIL.test(p.customer_email)) {
          issue(['customer_email'], 'must be an e-mail address');
        }
        if (action === 'expiring' && !p.expiration_date) issue(['expiration_date'], 'required');
        if (action === 'plan_change' && !planCodeOf(p)) issue(['subscription_plan_name'], 'required');
      },
      { when: () => true },
    )
    .transform((p): EasyCartAccessEvent => ({
      event: p.event,
      time: p.timestamp ?? null,
      orderRef: p.order_uuid || `order-${p.order_id}`,
      orderUuid: p.order_uuid || null,
      orderId: p.order_id ?? null,
      productCode: productCodeOf(p)!,
      planCode: planCodeOf(p),
      email: (p.assignee?.email || p.customer_email)!,
      buyerEmail: p.customer_email || null,
      productName: p.product_name || null,
      priceName: p.price_name || null,
      subscriptionId: p.subscription_stripe_id || null,
      expirationDate: p.expiration_date ?? null,
      periodEnd: p.subscription_current_period_end ?? null,
    }));
}

function productCodeOf(p: AccessFields): string | null {
  const nested = typeof p.product === 'object' && p.product !== null ? p.product.id : p.product;
  return p.product_id || (nested === undefined || nested === null ? null : String(nested)) || p.product_name || null;
}

function planCodeOf(p: AccessFields): string | null {
  return p.subscription_plan_name || p.subscription_new_plan_name || p.price_description || null;
}

function requiredOr(expected: string) {
  return (issue: { input: unknown }) => (issue.input === undefined ? 'required' : `must be ${expected}`);
}
