import { z } from 'zod';
import { isResourceId } from './procurement/resource-names.js';

/** The JSON in a Marketplace Pub/Sub message's `data`: a pointer to an entitlement or an account, never state. */
export type MarketplaceMessage =
  | {
      kind: 'entitlement';
      eventId: string;
      eventType: string;
      /** Absent in some of Google's own examples (private offers): the fetched resource's provider is checked instead. */
      providerId: string | null;
      entitlementId: string;
      updateTime: Date | null;
      /** Optional event-dependent fields, kept for history (newPlan, newOfferStartTime, orderId, …). */
      extras: Record<string, unknown>;
    }
  | {
      kind: 'account';
      eventId: string;
      eventType: string;
      providerId: string | null;
      accountId: string;
      updateTime: Date | null;
      extras: Record<string, unknown>;
    };

export type ParseResult = { ok: true; message: MarketplaceMessage } | { ok: false; reason: string };

/** An id that could never name a Procurement resource (`..`, `a/b`) is invalid here, not retried for ever later. */
const id = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .refine(isResourceId, 'is not a Procurement resource id (letters, digits and ._~@+=- only, not . or ..)');
const envelope = z.object({
  eventId: z.string().trim().min(1).max(512).optional(),
  eventType: z.string().trim().min(1).max(128).optional(),
  providerId: z.string().trim().min(1).max(256).optional(),
  entitlement: z.looseObject({ id, updateTime: z.string().optional() }).optional(),
  account: z.looseObject({ id, updateTime: z.string().optional() }).optional(),
});

/** Largest message `data` we parse; Marketplace messages are a few hundred bytes. */
const MAX_DATA_BYTES = 64 * 1024;

/**
 * Parses tolerantly: account messages may lack `eventType` (the doc's own example has none), private-offer
 * examples lack `providerId` (the fetched resource's provider is checked instead), the
 * offer duration may be `newOfferDuration` or `newPendingOfferDuration`, extra fields are kept.
 * Without an `eventId`, the Pub/Sub message id stands in as the dedup key.
 */
export function parseMarketplaceMessage(data: Buffer, fallbackEventId: string): ParseResult {
  if (data.length === 0) return { ok: false, reason: 'empty message data' };
  if (data.length > MAX_DATA_BYTES)
    return { ok: false, reason: `message data is ${data.length} bytes (max ${MAX_DATA_BYTES})` };
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, reason: 'message data is not JSON' };
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `bad envelope: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
    };
  }
  const { eventId, eventType, providerId, entitlement, account } = parsed.data;
  const key = eventId ?? `pubsub:${fallbackEventId}`;
  if (entitlement) {
    const { id: entitlementId, updateTime, ...extras } = entitlement;
    if (extras.newOfferDuration !== undefined && extras.newPendingOfferDuration === undefined) {
      extras.newPendingOfferDuration = extras.newOfferDuration;
    }
    return {
      ok: true,
      message: {
        kind: 'entitlement',
        eventId: key,
        eventType: eventType ?? 'UNKNOWN',
        providerId: providerId ?? null,
        entitlementId,
        updateTime: toDate(updateTime),
        extras,
      },
    };
  }
  if (account) {
    const { id: accountId, updateTime, ...extras } = account;
    return {
      ok: true,
      message: {
        kind: 'account',
        eventId: key,
        eventType: eventType ?? 'ACCOUNT_ACTIVE',
        providerId: providerId ?? null,
        accountId,
        updateTime: toDate(updateTime),
        extras,
      },
    };
  }
  return { ok: false, reason: 'message names neither an entitlement nor an account' };
}

function toDate(value: string | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}
