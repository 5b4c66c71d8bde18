/**
 * `current`, `has` and `watch` over any Firestore SDK: the entry points adapt the server SDK
 * (`@google-cloud/firestore`) or the browser SDK (`firebase/firestore`) to `DocumentSource`.
 */
import {
  accessAt,
  decodeAccessDocument,
  missingAccessDocument,
  usableFingerprint,
  type AccessDocument,
  type CurrentAccess,
} from './access.js';
import { requireSubjectKey } from './subject-key.js';

/** A read of one `access/` document: `data` undefined when it does not exist. */
export interface RawSnapshot {
  exists: boolean;
  data: unknown;
  /** When Firestore read it, where the SDK says (the server SDK does; the browser SDK does not). */
  readTimeMs?: number;
}

/** One SDK's way to read and listen to `access/{documentId}`. */
export interface DocumentSource {
  get(documentId: string): Promise<RawSnapshot>;
  listen(documentId: string, next: (snapshot: RawSnapshot) => void, error: (error: Error) => void): () => void;
}

/** The time windows are applied at: anything with `now()` (the service's `Clock` fits). */
export interface Clock {
  now(): Date;
}

export interface AccessOptions {
  /** Applies validity windows and cache TTLs; defaults to the system clock. */
  clock?: Clock;
  /**
   * Keep a read document this long (ms) and answer from it, windows re-applied at every call. 0 (the
   * default) reads Firestore on every call. A revocation is seen up to this late; a watched subject is
   * always answered from its listener, with no read.
   */
  cacheTtlMs?: number;
  /** Most documents the cache keeps (least recently used go first). Default 10,000. */
  cacheMaxEntries?: number;
}

export interface WatchOptions {
  /**
   * Listener errors (e.g. permission denied: the listener stops), malformed documents (the last good
   * answer stays) and exceptions thrown by `onChange`. Default: `console.error`.
   */
  onError?: (error: Error) => void;
}

export type Unsubscribe = () => void;

export interface Access {
  /** The usable products and plans of `subjectKey` now (or `at`), windows applied by the client's clock. */
  current(subjectKey: string, options?: { at?: Date }): Promise<CurrentAccess>;
  /** Whether `subjectKey` may use `product` (in `plan`, or one of `plans`) now (or `at`). */
  has(
    subjectKey: string,
    product: string,
    plan?: string | readonly string[],
    options?: { at?: Date },
  ): Promise<boolean>;
  /**
   * Calls `onChange` with the subject's access now, then on every newer version of the document
   * (out-of-order snapshots ignored by `version`) and whenever a window opens or closes, until unsubscribed.
   */
  watch(subjectKey: string, onChange: (access: CurrentAccess) => void, options?: WatchOptions): Unsubscribe;
  /** Drops cached documents (one subject's, or all). */
  invalidate(subjectKey?: string): void;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };
/** setTimeout's longest delay (~24.8 days); a later window boundary re-arms the timer on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface CacheEntry {
  doc: AccessDocument;
  expiresAt: number;
  /** Sequence number of the write that put it there: a read started before it must not overwrite it. */
  seq: number;
}

export function createAccessReader(
  source: DocumentSource,
  documentIdOf: (subjectKey: string) => string,
  options: AccessOptions = {},
): Access {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const ttl = nonNegative('cacheTtlMs', options.cacheTtlMs ?? 0);
  const maxEntries = nonNegative('cacheMaxEntries', options.cacheMaxEntries ?? 10_000);
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<AccessDocument>>();
  /** Live documents of watched subjects (with how many watches hold each). */
  const live = new Map<string, { order: SnapshotOrder; holders: number }>();
  let seq = 0;
  /** When each subject (or, under '', every subject) was last invalidated: reads started before are not kept. */
  const invalidated = new Map<string, number>();

  const remember = (key: string, doc: AccessDocument, startedSeq: number) => {
    const held = cache.get(key);
    if (held && held.seq > startedSeq) return;
    if ((invalidated.get(key) ?? 0) > startedSeq || (invalidated.get('') ?? 0) > startedSeq) return;
    cache.delete(key);
    cache.set(key, { doc, expiresAt: clock.now().getTime() + ttl, seq: ++seq });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  };

  async function read(key: string): Promise<AccessDocument> {
    const watched = live.get(key)?.order.current;
    if (watched) return watched;
    if (ttl > 0) {
      const hit = cache.get(key);
      if (hit && hit.expiresAt > clock.now().getTime()) {
        cache.delete(key);
        cache.set(key, hit);
        return hit.doc;
      }
      const pending = inflight.get(key);
      if (pending) return pending;
    }
    const id = documentIdOf(key);
    if (ttl === 0) return decodeAccessDocument(key, (await source.get(id)).data);
    const startedSeq = seq;
    const promise = source
      .get(id)
      .then((snap) => {
        const doc = decodeAccessDocument(key, snap.data);
        remember(key, doc, startedSeq);
        return doc;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, promise);
    return promise;
  }

  const access: Access = {
    async current(subjectKey, opts = {}) {
      const key = requireSubjectKey(subjectKey);
      const doc = await read(key);
      return accessAt(doc, opts.at ?? clock.now());
    },

    async has(subjectKey, product, plan, opts) {
      if (typeof product !== 'string' || !product)
        throw new TypeError('access.has: product must be a non-empty string');
      return (await access.current(subjectKey, opts)).has(product, plan);
    },

    watch(subjectKey, onChange, opts = {}) {
      const key = requireSubjectKey(subjectKey);
      const id = documentIdOf(key);
      const report = opts.onError ?? ((error: Error) => console.error(`access.watch(${key}):`, error));
      const tracker = new SnapshotOrder();
      const holder = live.get(key) ?? { order: new SnapshotOrder(), holders: 0 };
      holder.holders++;
      live.set(key, holder);
      let active = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let lastFingerprint: string | null = null;
      let lastVersion = -1;

      const emit = () => {
        clearTimeout(timer);
        const doc = tracker.current;
        if (!active || !doc) return;
        const now = clock.now();
        const result = accessAt(doc, now);
        const fingerprint = usableFingerprint(result);
        if (fingerprint !== lastFingerprint || doc.version !== lastVersion) {
          lastFingerprint = fingerprint;
          lastVersion = doc.version;
          try {
            onChange(result);
          } catch (error) {
            report(asError(error));
          }
        }
        if (active && result.nextChangeAt) {
          const delay = Math.min(MAX_TIMER_MS, Math.max(1, result.nextChangeAt.getTime() - now.getTime()));
          timer = setTimeout(emit, delay);
          (timer as { unref?: () => void }).unref?.();
        }
      };

      const release = () => {
        if (!active) return;
        active = false;
        clearTimeout(timer);
        if (--holder.holders === 0) {
          live.delete(key);
          // What the listener saw last stays usable as a cached read (within the TTL).
          if (holder.order.current && ttl > 0) remember(key, holder.order.current, seq);
        }
      };

      const stop = source.listen(
        id,
        (snap) => {
          if (!active) return;
          let doc: AccessDocument;
          try {
            doc = snap.exists ? decodeAccessDocument(key, snap.data) : missingAccessDocument(key);
          } catch (error) {
            report(asError(error));
            return;
          }
          holder.order.offer(doc, snap.readTimeMs);
          if (tracker.offer(doc, snap.readTimeMs)) emit();
        },
        (error) => {
          if (!active) return;
          release();
          report(error);
        },
      );
      return () => {
        release();
        stop();
      };
    },

    invalidate(subjectKey) {
      const key = subjectKey ?? '';
      invalidated.set(key, ++seq);
      if (subjectKey === undefined) {
        cache.clear();
        inflight.clear();
      } else {
        cache.delete(subjectKey);
        inflight.delete(subjectKey);
      }
    },
  };
  return access;
}

/**
 * Which snapshots of one document are news. Within a document's life `version` grows by one per write:
 * a snapshot with a version not above the one taken last (a reconnect, a cached read, a metadata-only
 * change, a reordered delivery) is ignored. Where the SDK gives each snapshot its read time (the server
 * SDK), one read before the snapshot taken last is ignored too: that is what tells a late "no document"
 * from a deletion. A deletion (erasure) is taken; after it versions start again at 1, so a document is
 * taken then only if its `updatedAt` is later than that of every document taken before (a late snapshot
 * of the deleted one cannot bring it back). A lower version with a later `updatedAt` is such a new
 * document whose deletion this listener never saw (listeners may skip intermediate states).
 */
export class SnapshotOrder {
  current: AccessDocument | null = null;
  private floorUpdatedAt = -Infinity;
  private lastReadTime = -Infinity;

  offer(doc: AccessDocument, readTimeMs?: number): boolean {
    if (readTimeMs !== undefined && readTimeMs < this.lastReadTime) return false;
    if (!this.accepts(doc)) return false;
    if (readTimeMs !== undefined) this.lastReadTime = readTimeMs;
    this.current = doc;
    return true;
  }

  private accepts(doc: AccessDocument): boolean {
    const prev = this.current;
    if (!doc.exists) {
      if (prev && !prev.exists) return false;
      if (prev?.updatedAt) this.floorUpdatedAt = Math.max(this.floorUpdatedAt, prev.updatedAt.getTime());
      return true;
    }
    const updatedAt = doc.updatedAt!.getTime();
    if (updatedAt <= this.floorUpdatedAt) return false;
    if (prev?.exists) {
      const prevUpdatedAt = prev.updatedAt!.getTime();
      const recreated = doc.version < prev.version && updatedAt > prevUpdatedAt;
      if (doc.version <= prev.version && !recreated) return false;
      if (recreated) this.floorUpdatedAt = Math.max(this.floorUpdatedAt, prevUpdatedAt);
    }
    return true;
  }
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new TypeError(`${name} must be a number ≥ 0`);
  return value;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
