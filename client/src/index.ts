/**
 * @marketplace-entitlements/client for Node (the product backend): subject keys, `access.current`, `has`
 * and `watch` over `@google-cloud/firestore`, and the decoder of outbound change events.
 *
 *   const access = createAccess(new Firestore());
 *   if (await access.has(subjectKey.forUser(user.id), 'demo', 'pro')) …
 *
 * The client imports nothing at run time but `node:crypto`: pass it your own `Firestore` instance.
 */
import { createHash, createHmac } from 'node:crypto';
import { SubjectKeyError } from './errors.js';
import { createAccessReader, type Access, type AccessOptions, type RawSnapshot } from './reader.js';
import {
  accessDocumentId as documentIdWith,
  describeValue,
  forGcpAccount,
  forPurchaselyAnonymous,
  forUser,
} from './subject-key.js';

export { accessAt, decodeAccessDocument, isUsableAt } from './access.js';
export type {
  AccessDocument,
  AccessEntry,
  AccessStatus,
  CurrentAccess,
  IgnoredEntry,
  ProductAccess,
  Source,
} from './access.js';
export * from './errors.js';
export * from './events.js';
export type { Access, AccessOptions, Clock, Unsubscribe, WatchOptions } from './reader.js';
export { isVerbatimDocumentId, requireSubjectKey, SUBJECT_KEY_PREFIXES } from './subject-key.js';
export { CONTRACT_VERSION } from './version.js';

/** The service's SUBJECT_KEY_SECRET is at least this long; a shorter one is not it (an unset variable?). */
const MIN_SECRET_LENGTH = 32;

/**
 * `emailh:` + the first 32 hex digits of HMAC-SHA256(key = secret, message = "email:" + e-mail trimmed and
 * lowercased), both UTF-8: the key of a person known by e-mail only (EasyCart, GetCourse). `secret` is the
 * service's SUBJECT_KEY_SECRET (Secret Manager `subject-key-secret`); never ship it to a browser.
 */
export function forEmail(email: string, options: { secret: string }): string {
  if (typeof email !== 'string' || email.trim().length === 0) {
    throw new SubjectKeyError(`subjectKey.forEmail: expected an e-mail address, got ${describeValue(email)}`);
  }
  const secret = (options as { secret?: unknown } | undefined)?.secret;
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new SubjectKeyError(
      `subjectKey.forEmail: options.secret must be the service's SUBJECT_KEY_SECRET (at least ${MIN_SECRET_LENGTH} characters), got ${
        typeof secret === 'string' ? `${secret.length} characters` : describeValue(secret)
      }`,
    );
  }
  const digest = createHmac('sha256', secret).update(`email:${email.trim().toLowerCase()}`, 'utf8').digest('hex');
  return `emailh:${digest.slice(0, 32)}`;
}

/** The subject keys the service writes `access/` documents under (docs/firestore.md, "Subject keys"). */
export const subjectKey = Object.freeze({ forUser, forEmail, forGcpAccount, forPurchaselyAnonymous });

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The id of the subject's `access/` document: the key itself, or `h:<sha256>` for a long or odd one. */
export function accessDocumentId(key: string): string {
  return documentIdWith(key, sha256Hex);
}

/** The part of a `@google-cloud/firestore` `DocumentSnapshot` the client reads. */
export interface SnapshotLike {
  exists: boolean;
  data(): unknown;
  readTime?: { toMillis(): number };
}

/** The part of `@google-cloud/firestore`'s `Firestore` the client uses (any version from 7 on has it). */
export interface FirestoreLike {
  collection(path: string): {
    doc(id: string): {
      get(): Promise<SnapshotLike>;
      onSnapshot(onNext: (snapshot: SnapshotLike) => void, onError: (error: Error) => void): () => void;
    };
  };
}

const raw = (snap: SnapshotLike): RawSnapshot => ({
  exists: snap.exists,
  data: snap.exists ? snap.data() : undefined,
  readTimeMs: snap.readTime?.toMillis(),
});

/**
 * `access.current`, `has` and `watch` on `access/` documents read with `firestore`, a
 * `@google-cloud/firestore` `Firestore` (its credentials need `roles/datastore.viewer`).
 */
export function createAccess(firestore: FirestoreLike, options: AccessOptions = {}): Access {
  const access = firestore.collection('access');
  return createAccessReader(
    {
      get: async (id) => raw(await access.doc(id).get()),
      listen: (id, next, error) =>
        access.doc(id).onSnapshot(
          (snap) => next(raw(snap)),
          (e) => error(e),
        ),
    },
    accessDocumentId,
    options,
  );
}
