import { createHash } from 'node:crypto';

/** Collection names: part of the public contract in docs/firestore.md. */
export const COLLECTIONS = {
  entitlements: 'entitlements',
  history: 'history',
  access: 'access',
  accounts: 'accounts',
  events: 'events',
  audit: 'audit',
  outbox: 'outbox',
  actions: 'actions',
  linkTokens: 'linkTokens',
} as const;

const SAFE_ID = /^[A-Za-z0-9._:@+=-]{1,400}$/;

/**
 * A Firestore document id for an arbitrary key: kept as is when it is safe and short,
 * otherwise `h:` + SHA-256 (deterministic, so the same key always lands on the same document).
 */
export function documentId(key: string): string {
  if (SAFE_ID.test(key) && key !== '.' && key !== '..' && !/^__.*__$/.test(key)) return key;
  return `h:${createHash('sha256').update(key).digest('hex')}`;
}

export function eventDocumentId(source: string, eventKey: string): string {
  return documentId(`${source}:${eventKey}`);
}
