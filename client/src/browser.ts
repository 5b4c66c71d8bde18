/**
 * @marketplace-entitlements/client/browser: `access.current`, `has` and `watch` for a web or mobile app
 * that reads its own user's `access/user:<uid>` document with the Firebase JS SDK, signed in with
 * Firebase Auth, under the shipped firestore.rules. No Node module and no secret:
 * `subjectKey.forEmail` is not here, because the key of an e-mail is an HMAC under a secret that must
 * never reach a browser (client/README.md, "Browser").
 *
 *   import { getFirestore, doc, getDoc, onSnapshot } from 'firebase/firestore';
 *   const access = createBrowserAccess(getFirestore(app), { doc, getDoc, onSnapshot });
 *   access.watch(subjectKey.forUser(auth.currentUser.uid), (a) => render(a.has('demo')));
 *
 * The SDK's functions are passed in so this package depends on no Firebase version.
 */
import { createAccessReader, type Access, type AccessOptions } from './reader.js';
import { accessDocumentId as documentIdWith, forGcpAccount, forPurchaselyAnonymous, forUser } from './subject-key.js';

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
export type { Access, AccessOptions, Clock, Unsubscribe, WatchOptions } from './reader.js';
export { isVerbatimDocumentId, requireSubjectKey, SUBJECT_KEY_PREFIXES } from './subject-key.js';
export { CONTRACT_VERSION } from './version.js';

/** The subject keys a browser can compute (no `forEmail`: it needs the service's secret). */
export const subjectKey = Object.freeze({ forUser, forGcpAccount, forPurchaselyAnonymous });

/**
 * The id of the subject's `access/` document. A key that the service stores under a hashed id
 * (`h:<sha256>`, for a long key or one with characters outside `[A-Za-z0-9._:@+=-]`) throws here: the
 * shipped rules never let a browser read such a document.
 */
export function accessDocumentId(key: string): string {
  return documentIdWith(key, null);
}

/** A browser SDK snapshot (`DocumentSnapshot` of `firebase/firestore`). */
export interface BrowserSnapshot {
  exists(): boolean;
  data(): unknown;
}

/** The three functions of `firebase/firestore` (v9+ modular API) the client uses. */
export interface BrowserFirestoreFunctions<Db, Ref> {
  doc(firestore: Db, path: string, ...pathSegments: string[]): Ref;
  getDoc(reference: Ref): Promise<BrowserSnapshot>;
  onSnapshot(reference: Ref, onNext: (snapshot: BrowserSnapshot) => void, onError?: (error: Error) => void): () => void;
}

export function createBrowserAccess<Db, Ref>(
  firestore: Db,
  sdk: BrowserFirestoreFunctions<Db, Ref>,
  options: AccessOptions = {},
): Access {
  const raw = (snap: BrowserSnapshot) => {
    const exists = snap.exists();
    return { exists, data: exists ? snap.data() : undefined };
  };
  return createAccessReader(
    {
      get: async (id) => raw(await sdk.getDoc(sdk.doc(firestore, 'access', id))),
      listen: (id, next, error) =>
        sdk.onSnapshot(
          sdk.doc(firestore, 'access', id),
          (snap) => next(raw(snap)),
          (e) => error(e),
        ),
    },
    accessDocumentId,
    options,
  );
}
