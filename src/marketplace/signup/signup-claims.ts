import type { JWTPayload } from 'jose';
import type { SignupData } from '../marketplace-store.js';

/** What the service keeps of a verified sign-up token. */
export interface SignupClaims {
  /** `sub`: the Procurement account id. */
  accountId: string;
  google: Omit<SignupData, 'receivedAt'>;
  /** The token's own identity, to refuse a second use of it: `jti` (when present) and `exp`. */
  token: { jti: string | null; expiresAt: Date };
}

/** Fields an order object might name its id with; Google has not documented the shape of `google.orders`. */
const ORDER_ID_FIELDS = ['orderId', 'order_id', 'id', 'name', 'order'] as const;
const MAX_ITEMS = 100;

/** Reads the `google` claim tolerantly: missing or odd parts become empty, never a refusal. */
export function signupClaimsOf(payload: JWTPayload & { sub: string; iat: number; exp?: number }): SignupClaims {
  const google = isRecord(payload.google) ? payload.google : {};
  return {
    accountId: payload.sub,
    // The verifier requires `exp`; without one (unit calls) the token counts as expiring with its issue time.
    token: { jti: scalar(payload.jti), expiresAt: new Date((payload.exp ?? payload.iat) * 1000) },
    google: {
      user_identity: scalar(google.user_identity),
      roles: strings(google.roles),
      orders: orderIdsOf(google.orders),
      raw: payload.google === undefined ? null : JSON.stringify(payload.google),
      tokenIssuedAt: new Date(payload.iat * 1000),
    },
  };
}

/**
 * `google.orders` as a list of order ids (matching `Entitlement.orderId`): an array of strings, an array of objects
 * with an id-ish field, a single string or object. Resource names (`…/orders/ID`) give their last segment.
 */
export function orderIdsOf(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const ids = items.slice(0, MAX_ITEMS).map((item) => {
    if (isRecord(item)) {
      for (const field of ORDER_ID_FIELDS) {
        const id = scalar(item[field]);
        if (id) return id;
      }
      return null;
    }
    return scalar(item);
  });
  return [
    ...new Set(
      ids
        .filter((id): id is string => id !== null)
        .map((id) => id.split('/').pop()!)
        .filter(Boolean),
    ),
  ];
}

function strings(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return [
    ...new Set(
      items
        .slice(0, MAX_ITEMS)
        .map(scalar)
        .filter((s): s is string => s !== null),
    ),
  ];
}

function scalar(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() || null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
