import { afterEach, describe, expect, it } from '@jest/globals';
import type { Firestore } from '@google-cloud/firestore';
import type { EntitlementChange } from '../src/entitlements/entitlement.js';
import type { InboundEvent } from '../src/entitlements/inbound-event.js';
import { fromFirestore } from '../src/infrastructure/firestore/firestore-values.js';
import { TransactionRunner } from '../src/infrastructure/firestore/transaction-runner.js';
import { change, eventFor } from './support/changes.js';
import { accessInvariantViolations } from './support/invariants.js';
import { HOUR, startLifecycleApp, T0, type LifecycleApp } from './lifecycle/support.js';

/**
 * The ledger's group commit (FirestoreEntitlementStore.applyBatch): changes of one subject queued in one instance
 * at the same time are applied in one transaction, each as if it ran alone after the ones before it. The queue's
 * wait has a bound of its own by transport (LEDGER_QUEUE_MS), apart from the transaction's deadline.
 */
describe('Group commit of the changes of one subject', () => {
  const apps: LifecycleApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  const start = async () => {
    const app = await startLifecycleApp();
    apps.push(app);
    return app;
  };
  const pulled = (c: EntitlementChange): InboundEvent => ({
    ...eventFor(c),
    transport: { kind: 'pubsub-pull', id: c.eventKey },
  });
  /** Firestore transactions the app runs from now on. */
  const countTransactions = (db: Firestore) => {
    const counter = { count: 0 };
    const original = db.runTransaction.bind(db);
    db.runTransaction = ((body, options) => {
      counter.count++;
      return original(body, options);
    }) as Firestore['runTransaction'];
    return counter;
  };
  /** A transaction ahead of the subject's changes in this instance's queue, busy for `ms` (within its deadline). */
  const hold = (app: LifecycleApp, subjectKey: string, ms: number) =>
    app.running.app
      .get(TransactionRunner)
      .run('hold', [`a:${subjectKey}`], () => new Promise((r) => setTimeout(r, ms)), { queueMs: 60_000 });

  it('should apply every change once when they waited longer than the old 8 s deadline (Pub/Sub), and a webhook gives up after 5 s', async () => {
    const app = await start();
    const subject = { key: 'email:burst@example.com', email: 'burst@example.com' };
    const changes = Array.from({ length: 120 }, (_, i) =>
      change({
        source: 'easycart',
        externalId: `burst-${i}`,
        eventKey: `burst-order-${i}`,
        subject,
        sourceTime: new Date(T0.getTime() - HOUR),
        validFrom: new Date(T0.getTime() - HOUR),
        validUntil: new Date(T0.getTime() + 30 * 24 * HOUR),
      }),
    );
    const webhook = change({ ...changes[0]!, externalId: 'burst-webhook', eventKey: 'burst-webhook' });
    const transactions = countTransactions(app.db);
    const started = Date.now();
    // 9 s of other work on the subject ahead in the queue: two transactions of 4.5 s each.
    const held = [hold(app, subject.key, 4_500), hold(app, subject.key, 4_500)];
    const outcomes = Promise.all(changes.map((c) => app.ledger.apply(c, pulled(c))));
    const webhookGaveUp = app.ledger.apply(webhook, eventFor(webhook)).then(
      () => null,
      (error: Error) => ({ message: error.message, after: Date.now() - started }),
    );
    await Promise.all(held);

    expect((await outcomes).map((r) => r.outcome)).toEqual(changes.map(() => 'applied'));
    expect(Date.now() - started).toBeGreaterThan(9_000);
    const gaveUp = await webhookGaveUp;
    expect(gaveUp?.message).toMatch(/gave up while queued/);
    expect(gaveUp!.after).toBeGreaterThanOrEqual(4_900);
    expect(gaveUp!.after).toBeLessThan(9_000);
    // The two holds, then the 120 changes in transactions of at most 50.
    expect(transactions.count).toBe(2 + 3);

    const access = await app.store.getAccess(subject.key);
    expect(
      Object.values(access?.entitlements ?? {})
        .map((e) => e.entitlementId)
        .sort(),
    ).toEqual(changes.map((c) => `easycart:${c.externalId}`).sort());
    expect(access?.version).toBe(120);
    expect((await app.db.collection('outbox').get()).size).toBe(120);
    const events = await app.db.collection('events').get();
    expect(events.docs.map((d) => [d.get('outcome'), d.get('attempts')])).toEqual(changes.map(() => ['applied', 1]));
    expect((await app.db.collection('entitlements').doc('easycart:burst-webhook').get()).exists).toBe(false);
    expect(await accessInvariantViolations(app.db)).toEqual([]);
  }, 60_000);

  const S = { key: 'user:batch', userId: 'batch' };
  const OTHER = { key: 'user:other', userId: 'other' };
  const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
  /** Entitlements there before the burst: one to move from another subject to S, one of S to erase. */
  const before = [
    change({ externalId: 'moved', eventKey: 'moved-1', subject: OTHER, sourceTime: at(-2) }),
    change({ externalId: 'gone', eventKey: 'gone-1', subject: S, sourceTime: at(-2) }),
  ];
  /** One burst for S, in arrival order, with what each must answer. */
  const burst: [EntitlementChange, string][] = [
    [change({ externalId: 'a', eventKey: 'a-2', subject: S, sourceTime: at(-1) }), 'applied'],
    // Older than what the change before it applied: stale, although both are in one transaction.
    [change({ externalId: 'a', eventKey: 'a-1', subject: S, sourceTime: at(-1.5), status: 'cancelled' }), 'stale'],
    // A second delivery of the first: never in the same transaction, it finds the first one's record.
    [change({ externalId: 'a', eventKey: 'a-2', subject: S, sourceTime: at(-1) }), 'duplicate'],
    [change({ externalId: 'b', eventKey: 'b-1', subject: S, sourceTime: at(-1) }), 'applied'],
    // Ends what the change before it created: b leaves the access summary.
    [
      change({
        externalId: 'b',
        eventKey: 'b-2',
        subject: S,
        sourceTime: at(-0.5),
        status: 'expired',
        validUntil: at(-0.5),
      }),
      'applied',
    ],
    [change({ externalId: 'c', eventKey: 'c-1', subject: S, product: undefined }), 'invalid'],
    // Moves from OTHER (a document only this change names) to S.
    [change({ externalId: 'moved', eventKey: 'moved-2', subject: S, sourceTime: at(-1) }), 'applied'],
    [change({ externalId: 'gone', eventKey: 'gone-2', subject: S, sourceTime: at(-1), erase: true }), 'applied'],
  ];

  /** Every document the ledger writes, by path, as plain data. */
  const dump = async (db: Firestore) => {
    const out: Record<string, unknown> = {};
    for (const name of ['entitlements', 'access', 'events', 'outbox'])
      for (const d of (await db.collection(name).get()).docs) out[d.ref.path] = fromFirestore(d.data());
    for (const d of (await db.collectionGroup('history').get()).docs) out[d.ref.path] = fromFirestore(d.data());
    return out;
  };

  it('should apply duplicates, reordered, moved and erased changes in one transaction exactly as one at a time', async () => {
    const [batched, serial] = [await start(), await start()];
    for (const app of [batched, serial]) for (const c of before) await app.ledger.apply(c, pulled(c));

    const one: string[] = [];
    for (const [c] of burst) one.push((await serial.ledger.apply(c, pulled(c))).outcome);

    const transactions = countTransactions(batched.db);
    const held = hold(batched, S.key, 500);
    const together = await Promise.all(burst.map(([c]) => batched.ledger.apply(c, pulled(c))));
    await held;

    expect(one).toEqual(burst.map(([, outcome]) => outcome));
    expect(together.map((r) => r.outcome)).toEqual(one);
    // The hold, one transaction for the burst, one for the second delivery of a-2.
    expect(transactions.count).toBe(3);
    expect(await dump(batched.db)).toEqual(await dump(serial.db));
    const access = await batched.store.getAccess(S.key);
    expect(Object.values(access?.entitlements ?? {}).map((e) => e.entitlementId)).toEqual(
      expect.arrayContaining(['purchasely:a', 'purchasely:moved']),
    );
    expect(Object.keys(access?.entitlements ?? {})).toHaveLength(2);
    expect((await batched.store.getAccess(OTHER.key))?.entitlements).toEqual({});
    expect(await accessInvariantViolations(batched.db)).toEqual([]);
  }, 60_000);

  it('should give the others their outcome when one change of a batch fails at commit', async () => {
    const app = await start();
    const changes = ['x', 'y', 'z'].map((id) =>
      change({ externalId: id, eventKey: `${id}-1`, subject: S, sourceTime: at(-1) }),
    );
    // y's outbox entry is already there (left unpublished after its event record expired): its create fails
    // at commit, and with it the batch; run alone, the others apply and y answers duplicate with nothing written.
    await app.db.collection('outbox').doc('purchasely:y-1').create({ orphan: true });
    const transactions = countTransactions(app.db);
    const held = hold(app, S.key, 300);
    const results = await Promise.all(changes.map((c) => app.ledger.apply(c, pulled(c))));
    await held;

    expect(results.map((r) => r.outcome)).toEqual(['applied', 'duplicate', 'applied']);
    // The hold, the batch that failed, then each change alone.
    expect(transactions.count).toBe(1 + 1 + 3);
    expect((await app.db.collection('entitlements').doc('purchasely:y').get()).exists).toBe(false);
    expect((await app.db.collection('events').doc('purchasely:y-1').get()).exists).toBe(false);
    expect(Object.keys((await app.store.getAccess(S.key))?.entitlements ?? {}).sort()).toEqual([
      'purchasely:x',
      'purchasely:z',
    ]);
  }, 60_000);
});
