import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../src/bootstrap.js';
import { Ledger } from '../src/entitlements/ledger.js';
import { EntitlementStore } from '../src/entitlements/entitlement-store.js';
import { TransientError } from '../src/common/errors/app-error.js';
import type { EntitlementChange } from '../src/entitlements/entitlement.js';
import type { LedgerResult } from '../src/entitlements/inbound-event.js';
import { memoryLogger, testConfig } from './support/app.js';
import { change, eventFor } from './support/changes.js';
import { accessInvariantViolations } from './support/invariants.js';

describe('Ledger.apply on the Firestore emulator', () => {
  let app: NestFastifyApplication;
  let ledger: Ledger;
  let store: EntitlementStore;
  let db: Firestore;

  beforeAll(async () => {
    app = await bootstrap({ config: testConfig(), logger: memoryLogger().logger });
    await app.init();
    ledger = app.get(Ledger);
    store = app.get(EntitlementStore);
    db = app.get(Firestore);
  });
  afterAll(() => app.close());

  const apply = (c: EntitlementChange) => ledger.apply(c, eventFor(c));

  /** What a Pub/Sub redelivery does with a transient failure: try again. */
  async function applyWithRedelivery(c: EntitlementChange): Promise<LedgerResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply(c);
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= 20) throw error;
      }
    }
  }

  async function historyOf(id: string) {
    return (await db.collection('entitlements').doc(id).collection('history').get()).docs;
  }

  it('should apply a change and write the entitlement, its history and the access summary', async () => {
    const c = change({ externalId: 'first', subject: { key: 'user:first', userId: 'first' } });
    await expect(apply(c)).resolves.toMatchObject({ outcome: 'applied', entitlementId: 'purchasely:first' });

    const e = await store.getEntitlement('purchasely:first');
    expect(e).toMatchObject({ status: 'active', active: true, version: 1, product: 'demo', plan: 'monthly' });
    const access = await store.getAccess('user:first');
    expect(access?.products).toEqual(['demo']);
    expect(Object.keys(access?.entitlements ?? {})).toEqual(['purchasely:first']);
    expect(await historyOf('purchasely:first')).toHaveLength(1);
    const event = await db.collection('events').doc(`purchasely:${c.eventKey}`).get();
    expect(event.get('outcome')).toBe('applied');
    expect(event.get('expireAt')).toBeDefined();
    const outbox = await db.collection('outbox').doc(`purchasely:${c.eventKey}`).get();
    expect(outbox.get('event')).toMatchObject({
      type: 'entitlement.changed',
      schemaVersion: 1,
      entitlementId: 'purchasely:first',
      entitlementVersion: 1,
      state: { status: 'active', active: true, subjectKey: 'user:first' },
      previous: null,
    });
    expect(outbox.get('publishedAt')).toBeNull();
  });

  it('should apply an entitlement whose id is longer than a Firestore map key may be, keyed by its document id', async () => {
    const externalId = `long-${'y'.repeat(2_000)}`;
    const c = change({ externalId, subject: { key: 'user:long-ids', userId: 'long-ids' } });
    await expect(apply(c)).resolves.toMatchObject({ outcome: 'applied' });
    const access = await store.getAccess('user:long-ids');
    const [key, entry] = Object.entries(access?.entitlements ?? {})[0]!;
    expect(key).toMatch(/^h:[0-9a-f]{64}$/);
    expect(entry).toMatchObject({ entitlementId: `purchasely:${externalId}`, product: 'demo' });
    await expect(apply({ ...c, eventKey: `${c.eventKey}-end`, status: 'expired' })).resolves.toMatchObject({
      outcome: 'applied',
    });
    expect((await store.getAccess('user:long-ids'))?.entitlements).toEqual({});
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should write exactly one outbox entry per access change and none for a change that alters nothing', async () => {
    const grant = change({ externalId: 'outboxed', subject: { key: 'user:outboxed' } });
    await apply(grant);
    await apply(grant); // duplicate
    await apply({ ...grant, eventKey: 'same-state-again', sourceTime: new Date('2026-11-01T00:00:01Z') });
    await apply(
      change({
        externalId: 'outboxed',
        subject: { key: 'user:outboxed' },
        status: 'expired',
        sourceTime: new Date('2026-11-02T00:00:00Z'),
      }),
    );
    const entries = await db.collection('outbox').where('orderingKey', '==', 'purchasely:outboxed').get();
    expect(entries.docs.map((d) => d.get('event.state.status')).sort()).toEqual(['active', 'expired']);
  });

  it('should report the same change applied twice as duplicate, with one version bump and one history entry', async () => {
    const c = change({ externalId: 'twice', subject: { key: 'user:twice' } });
    expect((await apply(c)).outcome).toBe('applied');
    expect((await apply(c)).outcome).toBe('duplicate');
    expect((await store.getEntitlement('purchasely:twice'))?.version).toBe(1);
    expect(await historyOf('purchasely:twice')).toHaveLength(1);
  });

  it('should end in the in-order state when two changes arrive in reverse order, the older one stale', async () => {
    const grant = (id: string) =>
      change({ externalId: id, subject: { key: `user:${id}` }, sourceTime: new Date('2026-11-01T00:00:00Z') });
    const revoke = (id: string) =>
      change({
        externalId: id,
        subject: { key: `user:${id}` },
        eventType: 'DEACTIVATE',
        status: 'expired',
        providerState: 'DEACTIVATE',
        validUntil: new Date('2026-11-02T00:00:00Z'),
        sourceTime: new Date('2026-11-02T00:00:00Z'),
      });

    await apply(grant('in-order'));
    await apply(revoke('in-order'));
    await apply(revoke('reversed'));
    await expect(apply(grant('reversed'))).resolves.toMatchObject({ outcome: 'stale' });

    const inOrder = await store.getEntitlement('purchasely:in-order');
    const reversed = await store.getEntitlement('purchasely:reversed');
    const comparable = (e: typeof inOrder) => ({
      status: e?.status,
      active: e?.active,
      validUntil: e?.validUntil,
      sourceUpdatedAt: e?.sourceUpdatedAt,
      product: e?.product,
    });
    expect(comparable(reversed)).toEqual(comparable(inOrder));
    expect(reversed?.active).toBe(false);
    expect((await store.getAccess('user:reversed'))?.entitlements ?? {}).toEqual({});
  });

  it('should apply 50 different concurrent changes to one entitlement exactly once each', async () => {
    // Same source time: none is older than another, so every one must apply.
    const changes = Array.from({ length: 50 }, (_, i) =>
      change({
        externalId: 'hot',
        subject: { key: 'user:hot' },
        sourceTime: new Date('2026-11-01T00:00:00Z'),
        status: i % 3 === 0 ? 'pending_cancellation' : 'active',
        product: { product: 'demo', plan: `plan-${i}`, providerProduct: 'PREMIUM', providerPlan: `plan-${i}` },
      }),
    );
    const results = await Promise.all(changes.map(applyWithRedelivery));
    expect(results.filter((r) => r.outcome !== 'applied' && r.outcome !== 'duplicate')).toEqual([]);

    // The event ledger is the truth: 50 events, all applied, one version and one history entry each.
    const events = await db.collection('events').where('entitlementId', '==', 'purchasely:hot').get();
    expect(events.docs.map((d) => d.get('outcome'))).toEqual(Array(50).fill('applied'));
    const e = await store.getEntitlement('purchasely:hot');
    expect(e?.version).toBe(50);
    expect(await historyOf('purchasely:hot')).toHaveLength(50);
    const access = await store.getAccess('user:hot');
    expect(access?.entitlements['purchasely:hot']?.plan).toBe(e?.plan);
    expect(access?.version).toBe(50);
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should count exactly the applied changes in version and history when 50 are issued in source-time order', async () => {
    // Sequential source times, issued one after another but without waiting: every one applies.
    const results: Promise<LedgerResult>[] = [];
    for (let i = 0; i < 50; i++) {
      results.push(
        applyWithRedelivery(
          change({
            externalId: 'ordered',
            subject: { key: 'user:ordered' },
            sourceTime: new Date(Date.UTC(2026, 10, 1, 0, 0, i)),
          }),
        ),
      );
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(results);
    const events = await db.collection('events').where('entitlementId', '==', 'purchasely:ordered').get();
    expect(events.size).toBe(50);
    const applied = events.docs.filter((d) => d.get('outcome') === 'applied').length;
    expect((await store.getEntitlement('purchasely:ordered'))?.version).toBe(applied);
    expect(await historyOf('purchasely:ordered')).toHaveLength(applied);
  });

  it('should keep every access summary equal to its active entitlements under 200 concurrent changes across 20 users', async () => {
    const statuses = ['active', 'expired', 'pending_cancellation', 'cancelled', 'active'] as const;
    const changes = Array.from({ length: 200 }, (_, i) => {
      const user = `bulk-${i % 20}`;
      return change({
        externalId: `bulk-sub-${i % 40}`,
        subject: { key: `user:${user}` },
        product: {
          product: i % 40 < 20 ? 'demo' : 'other',
          plan: 'm',
          providerProduct: 'P',
          providerPlan: 'm',
        },
        status: statuses[i % statuses.length]!,
        sourceTime: new Date(Date.UTC(2026, 10, 1, 0, 0, 0, i)),
      });
    });
    const results = await Promise.all(changes.map(applyWithRedelivery));
    // `duplicate`: an attempt that timed out on the contended emulator committed after all.
    expect(results.filter((r) => !['applied', 'stale', 'duplicate'].includes(r.outcome))).toEqual([]);
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should move the entitlement between subjects when the subject changes (transfer)', async () => {
    await apply(change({ externalId: 'transfer', subject: { key: 'user:giver' } }));
    await apply(
      change({ externalId: 'transfer', subject: { key: 'user:taker' }, sourceTime: new Date('2026-11-03T00:00:00Z') }),
    );
    expect(Object.keys((await store.getAccess('user:giver'))?.entitlements ?? {})).toEqual([]);
    expect(Object.keys((await store.getAccess('user:taker'))?.entitlements ?? {})).toEqual(['purchasely:transfer']);
  });

  it('should erase personal data and refuse to resurrect an erased entitlement', async () => {
    await apply(change({ externalId: 'erase-me', subject: { key: 'user:erased', email: 'a@example.com' } }));
    const erase = change({
      externalId: 'erase-me',
      subject: { key: 'user:erased' },
      status: 'cancelled',
      erase: true,
      sourceTime: new Date('2026-11-05T00:00:00Z'),
    });
    expect((await apply(erase)).outcome).toBe('applied');
    const e = await store.getEntitlement('purchasely:erase-me');
    expect(e).toMatchObject({ subject: null, active: false, details: {} });
    expect(await store.getAccess('user:erased')).toBeNull();
    const late = change({ externalId: 'erase-me', sourceTime: new Date('2026-11-06T00:00:00Z') });
    expect((await apply(late)).outcome).toBe('ignored');
  });

  it('should record ignored and invalid events once, and let an invalid event be applied later (replay)', async () => {
    const c = change({ externalId: 'replayed', subject: { key: 'user:replayed' } });
    const event = eventFor(c);
    expect((await ledger.record(event, 'invalid', 'unknown product')).outcome).toBe('invalid');
    expect((await ledger.record(event, 'invalid', 'unknown product')).outcome).toBe('invalid');
    expect((await ledger.apply(c, event)).outcome).toBe('applied');
    expect((await ledger.apply(c, event)).outcome).toBe('duplicate');
    const doc = await db.collection('events').doc(`purchasely:${c.eventKey}`).get();
    expect(doc.get('outcome')).toBe('applied');
    expect(doc.get('attempts')).toBe(3);

    const ignored = eventFor(change());
    expect((await ledger.record(ignored, 'ignored', 'lifecycle event')).outcome).toBe('ignored');
    expect((await ledger.record(ignored, 'ignored', 'lifecycle event')).outcome).toBe('duplicate');
  });
  it("should keep access through the source's grace after validUntil, and end it at accessUntil", async () => {
    const HOUR = 3_600_000;
    const until = new Date(Date.now() - HOUR);
    // Purchasely's grace is 24 h (config/policy.yaml): a renewal may arrive up to a day late.
    const p = change({ externalId: 'grace-p', subject: { key: 'user:grace', userId: 'grace' }, validUntil: until });
    await expect(apply(p)).resolves.toMatchObject({ outcome: 'applied' });
    expect(await store.getEntitlement('purchasely:grace-p')).toMatchObject({ active: true });
    const entry = (await store.getAccess('user:grace'))?.entitlements['purchasely:grace-p'];
    expect(entry?.validUntil).toEqual(until);
    expect(entry?.accessUntil).toEqual(new Date(until.getTime() + 24 * HOUR));

    // Marketplace has none: the same window has ended, so it grants nothing.
    const g = change({
      source: 'gcp',
      externalId: 'grace-g',
      subject: { key: 'user:grace', userId: 'grace' },
      validUntil: until,
      actor: { type: 'provider', id: 'gcp' },
    });
    await expect(apply(g)).resolves.toMatchObject({ outcome: 'applied' });
    expect(await store.getEntitlement('gcp:grace-g')).toMatchObject({ active: false });
    expect(Object.keys((await store.getAccess('user:grace'))?.entitlements ?? {})).toEqual(['purchasely:grace-p']);

    // An open window has no end of access either.
    const open = change({ externalId: 'grace-open', subject: { key: 'user:grace', userId: 'grace' } });
    await apply(open);
    expect((await store.getAccess('user:grace'))?.entitlements['purchasely:grace-open']?.accessUntil).toBeNull();
  });
});
