import { describe, expect, it } from '@jest/globals';
import { accessAt, decodeAccessDocument, type AccessDocument } from './access.js';
import { AccessDocumentError } from './errors.js';

/** A Firestore `Timestamp` as both SDKs give it: only `toMillis()` is read. */
const ts = (iso: string) => ({ toMillis: () => Date.parse(iso) });
const KEY = 'user:42';

const entry = (over: Record<string, unknown> = {}) => ({
  entitlementId: 'purchasely:sub_1',
  source: 'purchasely',
  product: 'demo',
  plan: 'monthly',
  status: 'active',
  validFrom: ts('2026-11-01T00:00:00Z'),
  validUntil: ts('2026-12-01T00:00:00Z'),
  ...over,
});

const doc = (entitlements: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  subjectKey: KEY,
  entitlements,
  products: [],
  version: 3,
  updatedAt: ts('2026-11-01T00:00:00Z'),
  ...over,
});

const at = (iso: string) => new Date(iso);

describe('decodeAccessDocument', () => {
  it('should read entries by their entitlementId, never by the map key', () => {
    const d = decodeAccessDocument(KEY, doc({ 'h:abc': entry({ entitlementId: 'easycart:long/odd id' }) }));
    expect(d.entries).toEqual([
      expect.objectContaining({ key: 'h:abc', entitlementId: 'easycart:long/odd id', product: 'demo' }),
    ]);
    expect(d).toMatchObject({ exists: true, version: 3, updatedAt: at('2026-11-01T00:00:00Z') });
  });

  it('should take the map key as the id of an entry written before entries carried entitlementId', () => {
    const legacy = entry();
    delete (legacy as Record<string, unknown>).entitlementId;
    expect(decodeAccessDocument(KEY, doc({ 'gcp:E-1': legacy })).entries[0]?.entitlementId).toBe('gcp:E-1');
  });

  it('should give no document as no access, version 0', () => {
    expect(decodeAccessDocument(KEY, undefined)).toMatchObject({ exists: false, version: 0, entries: [] });
  });

  it('should leave out a malformed entry (it grants nothing) and keep the others', () => {
    const d = decodeAccessDocument(
      KEY,
      doc({
        good: entry(),
        noProduct: entry({ product: 7 }),
        badUntil: entry({ validUntil: '2030-01-01' }),
        badPlan: entry({ plan: 3 }),
        notAMap: 'x',
      }),
    );
    expect(d.entries.map((e) => e.key)).toEqual(['good']);
    expect(d.ignored.map((i) => i.key).sort()).toEqual(['badPlan', 'badUntil', 'noProduct', 'notAMap']);
    expect(d.ignored.find((i) => i.key === 'badUntil')?.reason).toMatch(/validUntil/);
  });

  it('should refuse a document written for another subject (a hashed id must match its key)', () => {
    expect(() => decodeAccessDocument(KEY, doc({}, { subjectKey: 'user:43' }))).toThrow(AccessDocumentError);
  });

  it.each([
    ['version', { version: '3' }],
    ['version', { version: 0 }],
    ['updatedAt', { updatedAt: null }],
    ['entitlements', { entitlements: [] }],
  ])('should refuse a document whose %s is not the contract type', (field, over) => {
    expect(() => decodeAccessDocument(KEY, doc({}, over))).toThrow(new RegExp(field));
  });

  it('should freeze what it returns (cached documents are shared between callers)', () => {
    const d = decodeAccessDocument(KEY, doc({ a: entry() }));
    expect(Object.isFrozen(d.entries)).toBe(true);
    expect(Object.isFrozen(d.entries[0])).toBe(true);
  });
});

describe('accessAt', () => {
  const d: AccessDocument = decodeAccessDocument(
    KEY,
    doc({
      monthly: entry(),
      future: entry({
        entitlementId: 'gcp:E-2',
        source: 'gcp',
        plan: 'pro',
        validFrom: ts('2026-11-15T00:00:00Z'),
        validUntil: null,
      }),
      open: entry({ entitlementId: 'getcourse:9', product: 'club', plan: null, validFrom: null, validUntil: null }),
    }),
  );

  it('should apply the window as the service does: validFrom ≤ at < validUntil', () => {
    expect(accessAt(d, at('2026-10-31T23:59:59.999Z')).entitlements.map((e) => e.key)).toEqual(['open']);
    // Sorted by product, plan, entitlement id.
    expect(accessAt(d, at('2026-11-01T00:00:00Z')).entitlements.map((e) => e.key)).toEqual(['open', 'monthly']);
    expect(accessAt(d, at('2026-11-20T00:00:00Z')).entitlements.map((e) => e.key)).toEqual([
      'open',
      'monthly',
      'future',
    ]);
    expect(accessAt(d, at('2026-12-01T00:00:00Z')).entitlements.map((e) => e.key)).toEqual(['open', 'future']);
  });

  it('should answer has() by product, and by plan or any of several plans', () => {
    const now = accessAt(d, at('2026-11-20T00:00:00Z'));
    expect(now.has('demo')).toBe(true);
    expect(now.has('demo', 'pro')).toBe(true);
    expect(now.has('demo', 'yearly')).toBe(false);
    expect(now.has('demo', ['yearly', 'monthly'])).toBe(true);
    expect(now.has('club')).toBe(true);
    expect(now.has('club', 'pro')).toBe(false);
    expect(now.has('other')).toBe(false);
    expect(now.products.get('demo')?.plans).toEqual(['monthly', 'pro']);
    expect(accessAt(d, at('2026-11-02T00:00:00Z')).has('demo', 'pro')).toBe(false);
  });

  it('should say when the answer changes next without any write', () => {
    expect(accessAt(d, at('2026-10-01T00:00:00Z')).nextChangeAt).toEqual(at('2026-11-01T00:00:00Z'));
    expect(accessAt(d, at('2026-11-01T00:00:00Z')).nextChangeAt).toEqual(at('2026-11-15T00:00:00Z'));
    expect(accessAt(d, at('2026-11-15T00:00:00Z')).nextChangeAt).toEqual(at('2026-12-01T00:00:00Z'));
    expect(accessAt(d, at('2026-12-01T00:00:00Z')).nextChangeAt).toBeNull();
  });
});

describe('accessUntil (validUntil + the source grace)', () => {
  const graced = decodeAccessDocument(
    KEY,
    doc({
      graced: entry({ validUntil: ts('2026-12-01T00:00:00Z'), accessUntil: ts('2026-12-02T00:00:00Z') }),
      legacy: entry({ entitlementId: 'purchasely:old', validUntil: ts('2026-12-01T00:00:00Z') }),
    }),
  );

  it('should keep access after validUntil until accessUntil, the instant the service ends it', () => {
    const keys = (iso: string) => accessAt(graced, at(iso)).entitlements.map((e) => e.key);
    expect(keys('2026-11-30T23:59:59.999Z')).toEqual(['legacy', 'graced']);
    expect(keys('2026-12-01T12:00:00Z')).toEqual(['graced']);
    expect(keys('2026-12-01T23:59:59.999Z')).toEqual(['graced']);
    expect(keys('2026-12-02T00:00:00Z')).toEqual([]);
    expect(accessAt(graced, at('2026-12-01T12:00:00Z')).nextChangeAt).toEqual(at('2026-12-02T00:00:00Z'));
  });

  it('should read an entry written before accessUntil existed as ending at validUntil', () => {
    expect(graced.entries.find((e) => e.key === 'legacy')?.accessUntil).toEqual(at('2026-12-01T00:00:00Z'));
  });

  it('should ignore an entry whose accessUntil is not a time, or open where validUntil is not', () => {
    const d = decodeAccessDocument(
      KEY,
      doc({
        text: entry({ accessUntil: '2026-12-02' }),
        opened: entry({ accessUntil: null }),
        closed: entry({ validUntil: null, accessUntil: ts('2026-12-02T00:00:00Z') }),
      }),
    );
    expect(d.entries).toEqual([]);
    expect(Object.fromEntries(d.ignored.map((i) => [i.key, i.reason]))).toEqual({
      text: '`accessUntil` is not a timestamp',
      opened: '`accessUntil` and `validUntil` disagree on whether the window is open',
      closed: '`accessUntil` and `validUntil` disagree on whether the window is open',
    });
  });
});
