import { createHmac } from 'node:crypto';
import type { Subject } from './entitlement.js';

/**
 * Subject keys: the id of a person's access document (`access/{subjectKey}`), documented with
 * examples in docs/firestore.md ("Subject keys"). This module is the one definition of every key
 * (the product backend and the typed client compute the same ones): pure, `node:crypto` only.
 *
 * - Ids the product already owns stay readable: `user:<id>`, `anon:<source>:<id>`, `gcp-account:<id>`,
 *   with `%` and `/` percent-encoded so any id is a valid document id.
 * - Personal identifiers never appear in a key: an e-mail becomes `emailh:<digest>`, a keyed hash
 *   (HMAC-SHA256 under SUBJECT_KEY_SECRET), so nobody without the secret can go from key to address or
 *   test a guess, and after erasure no id anywhere names the person.
 */
const encode = (value: string) => value.replace(/%/g, '%25').replace(/\//g, '%2F');

/** The product's own user id (Purchasely `user_id`, a Marketplace account linked at sign-up). */
export function userSubject(userId: string): Subject {
  return { key: `user:${encode(userId)}`, userId };
}

/** An anonymous app user (Purchasely `anonymous_user_id`), until the app logs them in. */
export function anonymousSubject(source: string, anonymousId: string): Subject {
  return { key: `anon:${source}:${encode(anonymousId)}`, anonymousId };
}

/** A Marketplace billing account not (yet) linked to a product user; `orderId` names the order when known. */
export function accountSubject(accountId: string, orderId?: string): Subject {
  return { key: `gcp-account:${encode(accountId)}`, accountId, ...(orderId ? { orderId } : {}) };
}

/** What a Marketplace account document says about its links to product users (docs/marketplace-signup.md). */
export interface AccountLinks {
  /** The whole account's user (a link call without orders). */
  linkedUserId?: string | null;
  linkedSubjectKey?: string | null;
  /** Per order: `orderId → {userId, subjectKey}` (a link call naming its orders). */
  orderLinks?: Record<string, { userId?: string | null; subjectKey?: string | null } | null> | null;
}

/**
 * The product user an entitlement of a linked Marketplace account lands under: its order's own link,
 * else the account's link, else none (it stays under `gcp-account:<id>`).
 */
export function linkedSubjectOf(
  account: AccountLinks | null | undefined,
  orderId: string | null | undefined,
): { key: string; userId: string | null } | null {
  const byOrder = orderId ? account?.orderLinks?.[orderId] : null;
  if (byOrder?.subjectKey) return { key: byOrder.subjectKey, userId: byOrder.userId ?? null };
  if (account?.linkedSubjectKey) return { key: account.linkedSubjectKey, userId: account.linkedUserId ?? null };
  return null;
}

export const EMAIL_KEY_PREFIX = 'emailh:';
/** Hex digits of the HMAC kept: 128 bits, far beyond any collision among people. */
const DIGEST_HEX = 32;

/** The form of an e-mail that is hashed: surrounding white space removed, lowercased (Unicode default). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The keyed digest of an e-mail: the first 32 hex digits (lowercase) of
 * HMAC-SHA256(key = secret as UTF-8, message = "email:" + normalizeEmail(email) as UTF-8).
 * The `email:` prefix separates it from digests of other identifiers a later version may add.
 */
export function emailDigest(secret: string, email: string): string {
  return createHmac('sha256', secret)
    .update(`email:${normalizeEmail(email)}`, 'utf8')
    .digest('hex')
    .slice(0, DIGEST_HEX);
}

/** `emailh:<emailDigest>`: the subject key of a person known by e-mail only (EasyCart, GetCourse). */
export function emailSubjectKey(secret: string, email: string): string {
  return `${EMAIL_KEY_PREFIX}${emailDigest(secret, email)}`;
}

/** The key e-mail subjects had before keys were hashed (`email:<lowercased, encoded>`): migration and erasure. */
export function legacyEmailSubjectKey(email: string): string {
  return `email:${encode(normalizeEmail(email))}`;
}

/** The e-mail inside a legacy key (`email:a%2Fb@x.io` → `a/b@x.io`), or null for any other key. */
export function emailOfLegacyKey(key: string): string | null {
  if (!key.startsWith('email:')) return null;
  try {
    return decodeURIComponent(key.slice('email:'.length));
  } catch {
    return null;
  }
}

/** Only for NODE_ENV development and test, when SUBJECT_KEY_SECRET is not set (production requires it). */
export const DEVELOPMENT_SUBJECT_KEY_SECRET = 'development-only-subject-key-secret-not-secret';

/**
 * The subject keys under the service's secret (SUBJECT_KEY_SECRET). Injected where e-mails become
 * subjects (the EasyCart and GetCourse mappers, the ledger, erasure).
 */
export class SubjectKeys {
  /** `secret` undefined: no e-mail source is configured (production without EasyCart or GetCourse). */
  constructor(private readonly secret: string | undefined) {}

  get configured(): boolean {
    return this.secret !== undefined;
  }

  /** A person known by e-mail only: `{ key: emailh:…, email }` (the e-mail is kept beside, until erasure). */
  email(email: string, extra: Omit<Subject, 'key' | 'email'> = {}): Subject {
    return { ...extra, key: emailSubjectKey(this.requireSecret(), email), email: normalizeEmail(email) };
  }

  emailDigest(email: string): string {
    return emailDigest(this.requireSecret(), email);
  }

  emailKey(email: string): string {
    return emailSubjectKey(this.requireSecret(), email);
  }

  private requireSecret(): string {
    if (this.secret === undefined) throw new Error('SUBJECT_KEY_SECRET is not configured');
    return this.secret;
  }
}
