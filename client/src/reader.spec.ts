import { describe, expect, it } from '@jest/globals';
import { decodeAccessDocument, missingAccessDocument, type CurrentAccess } from './access.js';
import { createAccessReader, SnapshotOrder, type DocumentSource, type RawSnapshot } from './reader.js';

/**
 * The reader's own logic (snapshot order, cache, window timer) over an in-memory document source.
 * client/test/access.spec.ts runs the same paths on the Firestore emulator against documents the
 * service wrote.
 */
const KEY = 'user:42';
const ts = (ms: number) => ({ toMillis: () => ms });
const data = (version: number, updatedAtMs: number, entries: Record<string, unknown> = {}) => ({
  subjectKey: KEY,
  version,
  updatedAt: ts(updatedAtMs),
  products: [],
  entitlements: entries,
});
const decoded = (version: number, updatedAtMs: number) => decodeAccessDocument(KEY, data(version, updatedAtMs));

describe('SnapshotOrder', () => {
  it('should take only a higher version of an existing document', () => {
    const order = new SnapshotOrder();
    expect(order.offer(decoded(2, 200))).toBe(true);
    expect(order.offer(decoded(2, 200))).toBe(false); // repeated (metadata-only, reconnect)
    expect(order.offer(decoded(1, 100))).toBe(false); // late
    expect(order.offer(decoded(4, 400))).toBe(true);
    expect(order.offer(decoded(3, 300))).toBe(false);
    expect(order.current?.version).toBe(4);
  });

  it('should take a deletion, then only a document written after it', () => {
    const order = new SnapshotOrder();
    order.offer(decoded(7, 700));
    expect(order.offer(missingAccessDocument(KEY))).toBe(true);
    expect(order.offer(missingAccessDocument(KEY))).toBe(false);
    expect(order.offer(decoded(7, 700))).toBe(false); // a late snapshot of the deleted document
    expect(order.offer(decoded(6, 650))).toBe(false);
    expect(order.offer(decoded(1, 800))).toBe(true); // written anew (versions start again)
    expect(order.offer(decoded(7, 700))).toBe(false);
  });

  it('should tell a late "no document" from a deletion by the read time, where the SDK gives one', () => {
    const order = new SnapshotOrder();
    expect(order.offer(missingAccessDocument(KEY), 1_000)).toBe(true); // nothing bought yet
    expect(order.offer(decoded(1, 100), 2_000)).toBe(true);
    expect(order.offer(missingAccessDocument(KEY), 1_000)).toBe(false); // the first snapshot, delivered again late
    expect(order.offer(decoded(2, 200), 3_000)).toBe(true);
    expect(order.offer(decoded(1, 100), 2_000)).toBe(false);
    expect(order.offer(missingAccessDocument(KEY), 4_000)).toBe(true); // erased
    expect(order.current?.exists).toBe(false);
  });

  it('should take a document written anew whose deletion the listener never saw (lower version, later write)', () => {
    const order = new SnapshotOrder();
    order.offer(decoded(7, 700));
    expect(order.offer(decoded(1, 900))).toBe(true);
    expect(order.offer(decoded(2, 950))).toBe(true);
    expect(order.offer(decoded(7, 700))).toBe(false);
  });
});

/** A source over one mutable document, counting reads, with listeners fed by `write`/`deliver`. */
class MemorySource implements DocumentSource {
  reads = 0;
  current: RawSnapshot = { exists: false, data: undefined };
  listeners = new Set<{ next: (s: RawSnapshot) => void; error: (e: Error) => void }>();
  readGate: Promise<void> = Promise.resolve();

  async get(): Promise<RawSnapshot> {
    this.reads++;
    const seen = this.current;
    await this.readGate;
    return seen;
  }
  listen(_id: string, next: (s: RawSnapshot) => void, error: (e: Error) => void): () => void {
    const l = { next, error };
    this.listeners.add(l);
    queueMicrotask(() => next(this.current));
    return () => this.listeners.delete(l);
  }
  write(version: number, updatedAtMs: number, entries: Record<string, unknown> = {}): RawSnapshot {
    this.current = { exists: true, data: data(version, updatedAtMs, entries) };
    this.deliver(this.current);
    return this.current;
  }
  deliver(snapshot: RawSnapshot): void {
    for (const l of this.listeners) l.next(snapshot);
  }
  fail(error: Error): void {
    for (const l of this.listeners) l.error(error);
  }
}

class FakeClock {
  constructor(public ms: number) {}
  now = () => new Date(this.ms);
}

const entry = (plan: string, untilMs: number | null = null) => ({
  entitlementId: `purchasely:${plan}`,
  source: 'purchasely',
  product: 'demo',
  plan,
  status: 'active',
  validFrom: null,
  validUntil: untilMs === null ? null : ts(untilMs),
});
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('createAccessReader: cache', () => {
  it('should read on every call without a TTL', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k);
    source.write(1, 0, { a: entry('pro') });
    await access.current(KEY);
    await access.current(KEY);
    expect(source.reads).toBe(2);
  });

  it('should answer from the cache within the TTL, windows re-applied at each call, and read again after it', async () => {
    const clock = new FakeClock(1_000);
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k, { clock, cacheTtlMs: 5_000 });
    source.write(1, 0, { a: entry('pro', 3_000) });
    expect(await access.has(KEY, 'demo', 'pro')).toBe(true);
    source.write(2, 10, {});
    clock.ms = 2_000;
    expect(await access.has(KEY, 'demo')).toBe(true); // cached: the revocation is not seen yet
    clock.ms = 3_000;
    expect(await access.has(KEY, 'demo')).toBe(false); // the cached window closed
    expect(source.reads).toBe(1);
    clock.ms = 6_001;
    expect((await access.current(KEY)).version).toBe(2);
    expect(source.reads).toBe(2);
    access.invalidate(KEY);
    await access.current(KEY);
    expect(source.reads).toBe(3);
  });

  it('should share one read among concurrent calls and keep at most cacheMaxEntries documents', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k, { cacheTtlMs: 60_000, cacheMaxEntries: 2 });
    source.write(1, 0);
    source.current = { exists: false, data: undefined };
    await Promise.all([access.current('user:1'), access.current('user:1'), access.current('user:1')]);
    expect(source.reads).toBe(1);
    await access.current('user:2');
    await access.current('user:3');
    await access.current('user:1'); // evicted by user:3 (least recently used)
    expect(source.reads).toBe(4);
  });

  it('should not let a read that started before a newer snapshot overwrite it', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k, { cacheTtlMs: 60_000 });
    source.write(1, 100);
    let open!: () => void;
    source.readGate = new Promise((r) => (open = r));
    const slowRead = access.current(KEY); // sees version 1, answers late
    const seen: number[] = [];
    const stop = access.watch(KEY, (a) => seen.push(a.version));
    await flush();
    source.write(2, 200);
    stop(); // the watch's last document (version 2) stays cached
    open();
    expect((await slowRead).version).toBe(1);
    source.readGate = Promise.resolve();
    expect((await access.current(KEY)).version).toBe(2);
    expect(seen).toEqual([1, 2]);
  });

  it('should not keep what a read started before invalidate() returns', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k, { cacheTtlMs: 60_000 });
    source.write(1, 100);
    let open!: () => void;
    source.readGate = new Promise((r) => (open = r));
    const before = access.current(KEY);
    access.invalidate(KEY);
    source.write(2, 200);
    open();
    expect((await before).version).toBe(1);
    expect((await access.current(KEY)).version).toBe(2);
    expect(source.reads).toBe(2);
  });

  it('should answer a watched subject from its listener, with no read', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k);
    source.write(1, 0, { a: entry('pro') });
    const stop = access.watch(KEY, () => undefined);
    await flush();
    source.write(2, 1, { a: entry('basic') });
    expect((await access.current(KEY)).products.get('demo')?.plans).toEqual(['basic']);
    expect(source.reads).toBe(0);
    stop();
    await access.current(KEY);
    expect(source.reads).toBe(1);
  });

  it('should refuse a bare id instead of a subject key', async () => {
    const access = createAccessReader(new MemorySource(), (k) => k);
    await expect(access.current('42')).rejects.toThrow(/subjectKey.forUser/);
    await expect(access.current('jan@example.com')).rejects.toThrow(/not a subject key/);
    expect(() => access.watch('user:', () => undefined)).toThrow(/not a subject key/);
  });
});

describe('createAccessReader: watch', () => {
  it('should call onChange on the first snapshot and each newer version, ignoring late and repeated ones', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k);
    const v1 = source.write(1, 100, { a: entry('pro') });
    const seen: CurrentAccess[] = [];
    const stop = access.watch(KEY, (a) => seen.push(a));
    await flush();
    const v2 = source.write(2, 200, { a: entry('basic') });
    source.deliver(v1);
    source.deliver(v2);
    source.write(3, 300, {});
    source.deliver(v2);
    expect(seen.map((a) => [a.version, a.has('demo', 'basic')])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
    stop();
    source.write(4, 400, { a: entry('pro') });
    expect(seen).toHaveLength(3);
  });

  it('should tell onChange when a window closes, with no write', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k);
    source.write(1, 0, { a: entry('pro', Date.now() + 150) });
    const seen: boolean[] = [];
    const stop = access.watch(KEY, (a) => seen.push(a.has('demo')));
    await new Promise((r) => setTimeout(r, 400));
    stop();
    expect(seen).toEqual([true, false]);
  });

  it('should route listener errors, malformed documents and onChange exceptions to onError', async () => {
    const source = new MemorySource();
    const access = createAccessReader(source, (k) => k);
    source.write(1, 0);
    const errors: string[] = [];
    const versions: number[] = [];
    access.watch(
      KEY,
      (a) => {
        versions.push(a.version);
        if (a.version === 2) throw new Error('render failed');
      },
      { onError: (e) => errors.push(e.message) },
    );
    await flush();
    source.deliver({ exists: true, data: { ...data(5, 5), subjectKey: 'user:other' } });
    source.write(2, 2);
    source.fail(new Error('permission denied'));
    source.write(3, 3);
    expect(versions).toEqual([1, 2]);
    expect(errors).toEqual([expect.stringMatching(/another subject key/), 'render failed', 'permission denied']);
  });
});
