import { z } from 'zod';

/**
 * Purchasely webhook v3 "server event": a flat JSON object. Tolerant of every field we do not
 * use (Purchasely adds marketing attributes freely), strict on the ones we do. Field names and
 * semantics: docs/integrations/purchasely.md.
 */

/** Events that change an entitlement; every other event name is recorded as ignored. */
export const ACTIVATE = 'ACTIVATE';
export const DEACTIVATE = 'DEACTIVATE';
export const PLAN_CHANGE_EVENTS = [
  'SUBSCRIPTION_UPGRADED',
  'SUBSCRIPTION_DOWNGRADED',
  'SUBSCRIPTION_CROSSGRADED',
] as const;
/** Sent to the previous holder; `transferred_to_*` names the new one. */
export const TRANSFERRED_EVENTS = ['SUBSCRIPTION_TRANSFERRED', 'ONE_TIME_PURCHASE_TRANSFERRED'] as const;
/** Sent to the new holder, who is `user_id` / `anonymous_user_id`. */
export const RECEIVED_EVENTS = ['SUBSCRIPTION_RECEIVED', 'ONE_TIME_PURCHASE_RECEIVED'] as const;

const has = (list: readonly string[], name: string) => list.includes(name);

export function isPlanChange(name: string): boolean {
  return has(PLAN_CHANGE_EVENTS, name);
}
export function isTransferred(name: string): boolean {
  return has(TRANSFERRED_EVENTS, name);
}
export function isReceived(name: string): boolean {
  return has(RECEIVED_EVENTS, name);
}
/** Whether the event changes an entitlement (and so must carry what the mapper needs). */
export function actsOnEntitlement(name: string): boolean {
  return name === ACTIVATE || name === DEACTIVATE || isPlanChange(name) || isTransferred(name) || isReceived(name);
}

const MAX_ID = 256;
/** An identifier that may be absent; Purchasely sends `null` or `""` for "none", both read as absent. */
const optionalId = z
  .string()
  .max(MAX_ID)
  .nullish()
  .transform((v) => (v ? v : undefined));
const code = z.string().min(1).max(MAX_ID);
const epochMs = z.number().int().nonnegative().max(8_640_000_000_000_000);

export const purchaselyEventSchema = z
  .looseObject({
    api_version: z.literal(3, 'only webhook API version 3 is supported (Purchasely console → Webhook version)'),
    event_name: z.string().min(1).max(100),
    /** Dedup key. Marked mandatory by Purchasely; absent from some old samples (see `purchaselyEventKey`). */
    event_id: optionalId,
    /** Time of the first send, unchanged across retries: the stale guard compares it. */
    event_created_at_ms: epochMs.nullish(),

    user_id: optionalId,
    anonymous_user_id: optionalId,
    transferred_to_user_id: optionalId,
    transferred_to_anonymous_user_id: optionalId,
    transferred_from_user_id: optionalId,
    transferred_from_anonymous_user_id: optionalId,

    purchasely_subscription_id: optionalId,
    purchasely_one_time_purchase_id: optionalId,
    product: code.nullish(),
    plan: code.nullish(),
    previous_plan: optionalId,

    environment: z.enum(['SANDBOX', 'PRODUCTION']).nullish(),
    store: z.string().max(100).nullish(),
    purchase_type: z.string().max(100).nullish(),
    subscription_status: z.string().max(100).nullish(),
    store_original_transaction_id: z.string().max(MAX_ID).nullish(),
    store_transaction_id: z.string().max(MAX_ID).nullish(),

    // Expiry fields: read, strictly, only by the events whose `validUntil` they set, so an unusable
    // one never holds back a DEACTIVATE (readPurchaselyEvent, docs/input-rules.md).
    effective_next_renewal_at_ms: z.unknown().optional(),
    effective_next_renewal_at: z.unknown().optional(),
    next_renewal_at_ms: z.unknown().optional(),
    next_renewal_at: z.unknown().optional(),
    expires_at_ms: z.unknown().optional(),
    expires_at: z.unknown().optional(),
    purchased_at_ms: epochMs.nullish(),
    original_purchased_at_ms: epochMs.nullish(),
  })
  .superRefine((e, ctx) => {
    if (!actsOnEntitlement(e.event_name)) return;
    const need = (ok: unknown, field: string, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [field], message: `${message} for ${e.event_name}` });
    };
    need(e.event_created_at_ms != null, 'event_created_at_ms', 'required');
    need(
      e.purchasely_subscription_id || e.purchasely_one_time_purchase_id,
      'purchasely_subscription_id',
      'required (or purchasely_one_time_purchase_id)',
    );
    need(e.user_id || e.anonymous_user_id, 'user_id', 'required (or anonymous_user_id)');
    if (e.event_name === ACTIVATE || isPlanChange(e.event_name)) {
      need(e.product, 'product', 'required');
      need(e.plan, 'plan', 'required');
    }
    if (isTransferred(e.event_name)) {
      need(
        e.transferred_to_user_id || e.transferred_to_anonymous_user_id,
        'transferred_to_user_id',
        'required (or transferred_to_anonymous_user_id)',
      );
    }
  });

export type PurchaselyEvent = z.infer<typeof purchaselyEventSchema>;
