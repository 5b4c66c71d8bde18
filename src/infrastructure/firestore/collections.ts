import { documentId } from '../../common/document-id.js';

export { documentId };

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
  signupTokens: 'signupTokens',
  runs: 'runs',
  cursors: 'cursors',
} as const;

export function eventDocumentId(source: string, eventKey: string): string {
  return documentId(`${source}:${eventKey}`);
}
