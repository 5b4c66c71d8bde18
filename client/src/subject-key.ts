/**
 * Subject keys without secrets: the encodings of ids the product already owns, the prefixes every key
 * starts with, and the rule that turns a key into its `access/` document id. Pure string rules, no
 * crypto, so the browser entry can use them too. The service's definition is
 * src/entitlements/subject.ts and src/common/document-id.ts; client/test/subject-key.spec.ts checks
 * this copy against them on arbitrary input.
 */
import { SubjectKeyError } from './errors.js';

/** `%` and `/` inside an id are written `%25` and `%2F` (a key is a document id; `/` would nest it). */
const encode = (value: string) => value.replace(/%/g, '%25').replace(/\//g, '%2F');

/** Prefixes of the keys the service writes (`email:` only in documents not yet migrated to `emailh:`). */
export const SUBJECT_KEY_PREFIXES = ['user:', 'anon:', 'gcp-account:', 'emailh:', 'email:'] as const;

function requireId(kind: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new SubjectKeyError(`subjectKey.${kind}: expected a non-empty string id, got ${describeValue(id)}`);
  }
  return id;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return value.length ? `"${value.slice(0, 40)}${value.length > 40 ? '…' : ''}"` : 'an empty string';
  return value === null ? 'null' : typeof value;
}

/** `user:<id>`: the product's own user id (Purchasely `user_id`, a Marketplace account linked at sign-up). */
export function forUser(userId: string): string {
  return `user:${encode(requireId('forUser', userId))}`;
}

/** `gcp-account:<id>`: a Google Cloud Marketplace billing account not (yet) linked to a product user. */
export function forGcpAccount(accountId: string): string {
  return `gcp-account:${encode(requireId('forGcpAccount', accountId))}`;
}

/** `anon:purchasely:<id>`: a Purchasely `anonymous_user_id`, until the app logs the user in. */
export function forPurchaselyAnonymous(anonymousId: string): string {
  return `anon:purchasely:${encode(requireId('forPurchaselyAnonymous', anonymousId))}`;
}

/** Throws unless `key` is a string with one of the service's prefixes (catches a bare user id or e-mail). */
export function requireSubjectKey(key: unknown): string {
  if (typeof key === 'string' && SUBJECT_KEY_PREFIXES.some((p) => key.startsWith(p) && key.length > p.length)) {
    return key;
  }
  throw new SubjectKeyError(
    `${describeValue(key)} is not a subject key: build one with subjectKey.forUser(id), .forEmail(email, { secret }), ` +
      `.forGcpAccount(id) or .forPurchaselyAnonymous(id) (keys start with ${SUBJECT_KEY_PREFIXES.join(', ')})`,
  );
}

const SAFE_ID = /^[A-Za-z0-9._:@+=-]{1,400}$/;
const RESERVED = /^__.*__$/;

/** Whether the service stores `key` under a document id equal to the key (otherwise `h:<sha256 of the key>`). */
export function isVerbatimDocumentId(key: string): boolean {
  return SAFE_ID.test(key) && key !== '.' && key !== '..' && !RESERVED.test(key);
}

/**
 * The id of the subject's `access/` document: the key itself when it is at most 400 characters of
 * `[A-Za-z0-9._:@+=-]`, otherwise `h:` + the SHA-256 (hex) of the key as UTF-8. A user id with `/`, `%` or
 * any other character outside that set is therefore hashed: `doc(subjectKey)` alone would miss it.
 */
export function accessDocumentId(key: string, sha256Hex: ((text: string) => string) | null): string {
  if (isVerbatimDocumentId(key)) return key;
  if (!sha256Hex) {
    throw new SubjectKeyError(
      `the access document of ${describeValue(key)} has a hashed id (h:<sha256>), which this entry point does not compute ` +
        '(the browser entry reads only keys that are their own document id; see client/README.md, "Browser")',
    );
  }
  return `h:${sha256Hex(key)}`;
}
