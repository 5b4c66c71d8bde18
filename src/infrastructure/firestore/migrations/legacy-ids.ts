import { emailDigest, EMAIL_KEY_PREFIX } from '../../../entitlements/subject.js';

/**
 * How ids looked before personal identifiers were hashed, and what they become (pure; used by the
 * one-off migration, scripts/migrate-subject-keys.mjs):
 *
 * - subject keys `email:<lowercased e-mail, %2F/%25-encoded>` → `emailh:<digest>`;
 * - EasyCart entitlement ids `easycart:<order>:<product code>:<e-mail>` → `…:<digest>`, wherever they
 *   appear (inside event keys `expire:easycart:…:<ms>`, outbox and notice ids, access map keys).
 *
 * `<digest>` is `emailDigest` (subject.ts), so the result is exactly what the service now computes.
 */

const ADDRESS = String.raw`[^\s:/@"'<>]+@[^\s:/@"'<>]+\.[^\s:/@"'<>]+`;
/** `email:` starting a key or following a separator (never the end of a word like `customer_email:`). */
const LEGACY_EMAIL_KEY = new RegExp(String.raw`(^|[\s:#/"'])email:(${ADDRESS})`, 'g');
/** An EasyCart id: order, product code (no `:`), e-mail. */
const LEGACY_EASYCART_ID = new RegExp(String.raw`(easycart:[^\s:#/"']+:[A-Za-z0-9._@+=-]{1,100}:)(${ADDRESS})`, 'g');

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` with every legacy e-mail key and EasyCart id in it rewritten under `secret`. */
export function rewriteLegacyIds(text: string, secret: string): string {
  if (!text.includes('@')) return text;
  return text
    .replace(
      LEGACY_EMAIL_KEY,
      (_, before: string, email: string) => `${before}${EMAIL_KEY_PREFIX}${emailDigest(secret, decoded(email))}`,
    )
    .replace(LEGACY_EASYCART_ID, (_, head: string, email: string) => `${head}${emailDigest(secret, email)}`);
}

/** Whether `text` still holds a legacy id. */
export function hasLegacyIds(text: string, secret: string): boolean {
  return rewriteLegacyIds(text, secret) !== text;
}

/**
 * A copy of a document's data with `rewriteLegacyIds` applied to every string, except at `keep`
 * paths: the places that hold an e-mail on purpose (`subject.email`, the raw payload, the buyer).
 * Map keys are rewritten too. Values that are not plain objects or arrays (Timestamps) are kept as is.
 */
export function rewriteDocument(value: unknown, secret: string, keep: ReadonlySet<string>, path = ''): unknown {
  if (keep.has(path)) return value;
  if (typeof value === 'string') return rewriteLegacyIds(value, secret);
  if (Array.isArray(value)) return value.map((v) => rewriteDocument(v, secret, keep, path));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = path ? `${path}.${k}` : k;
      out[rewriteLegacyIds(k, secret)] = rewriteDocument(v, secret, keep, child);
    }
    return out;
  }
  return value;
}
