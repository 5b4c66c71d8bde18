import type { Subject } from './entitlement.js';

/**
 * Subject keys: the id of a person's access document (`access/{subjectKey}`), documented in
 * docs/firestore.md. `/` and `%` are percent-encoded so any id is a valid document id.
 */
const encode = (value: string) => value.replace(/%/g, '%25').replace(/\//g, '%2F');

/** The product's own user id (Purchasely `user_id`, a Marketplace account linked at sign-up). */
export function userSubject(userId: string): Subject {
  return { key: `user:${encode(userId)}`, userId };
}

/** A person known by e-mail only (EasyCart assignee, GetCourse user); lowercased and trimmed. */
export function emailSubject(email: string, extra: Omit<Subject, 'key' | 'email'> = {}): Subject {
  const normalized = email.trim().toLowerCase();
  return { ...extra, key: `email:${encode(normalized)}`, email: normalized };
}

/** An anonymous app user (Purchasely `anonymous_user_id`), until the app logs them in. */
export function anonymousSubject(source: string, anonymousId: string): Subject {
  return { key: `anon:${source}:${encode(anonymousId)}`, anonymousId };
}

/** A Marketplace billing account not (yet) linked to a product user. */
export function accountSubject(accountId: string): Subject {
  return { key: `gcp-account:${encode(accountId)}`, accountId };
}
