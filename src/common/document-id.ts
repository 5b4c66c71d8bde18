import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

/**
 * Firestore document ids, as a pure rule (no SDK): what the adapter writes under, and what an id
 * arriving from outside (an admin path, a cursor) must look like before it reaches `.doc(id)`.
 */

const SAFE_ID = /^[A-Za-z0-9._:@+=-]{1,400}$/;
/** Firestore reserves ids of this shape (`__name__`, `__key__`, …): `.doc()` refuses them. */
const RESERVED = /^__.*__$/;
/** Firestore's limit on a document id, in UTF-8 bytes. */
export const MAX_DOCUMENT_ID_BYTES = 1500;

/**
 * A Firestore document id (or map key) for an arbitrary key: kept as is when it is short and made of
 * safe characters, otherwise `h:` + SHA-256 (deterministic, so the same key always lands on the same
 * document, and at most 66 characters whatever the key).
 */
export function documentId(key: string): string {
  if (SAFE_ID.test(key) && key !== '.' && key !== '..' && !RESERVED.test(key)) return key;
  return `h:${createHash('sha256').update(key).digest('hex')}`;
}

/** Whether Firestore accepts `id` as a document id: non-empty, ≤ 1,500 bytes, no `/`, not `.`, `..` or `__…__`. */
export function isDocumentId(id: string): boolean {
  return (
    id.length > 0 &&
    Buffer.byteLength(id, 'utf8') <= MAX_DOCUMENT_ID_BYTES &&
    !id.includes('/') &&
    id !== '.' &&
    id !== '..' &&
    !RESERVED.test(id)
  );
}
