import { afterEach, describe, expect, it } from '@jest/globals';
import { FieldValue } from '@google-cloud/firestore';
import { ExpiringNotices } from '../../src/lifecycle/expiring-notices.service.js';
import { RunBudget } from '../../src/lifecycle/run-support.js';
import { change } from '../support/changes.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { DAY, HOUR, historyOf, outboxOf, startLifecycleApp, T0, type LifecycleApp } from './support.js';

/** EasyCart has no grace in config/policy.yaml; Purchasely has 24 h. */
const grant = (id: string, overrides: Parameters<typeof change>[0] = {}) =>
  change({
    source: 'easycart',
    externalId: id,
    subject: { key: `email:${id}@example.com`, email: `${id}@example.com` },
    sourceTime: new Date(T0.getTime() - 30 * DAY),
    validFrom: new Date(T0.getTime() - 30 * DAY),
    validUntil: new Date(T0.getTime() + DAY),
    ...overrides,
  });

describe('Expiry sweep on the Firestore emulator', () => {
  const apps: LifecycleApp[] = [];
  const start = async (...args: Parameters<typeof startLifecycleApp>) => {
    const app = await startLifecycleApp(...args);
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('should end access past validUntil after one sweep, and change nothing on a second sweep', async () => {
    const app = await start();
    expect((await app.apply(grant('ends'))).outcome).toBe('applied');
    expect((await app.apply(grant('lasts', { validUntil: new Date(T0.getTime() + 10 * DAY) }))).outcome).toBe(
      'applied',
    );
    expect((await app.store.getAccess('email:ends@example.com'))?.products).toEqual(['demo']);

    app.clock.set(new Date(T0.getTime() + DAY - 1));
    expect((await app.jobs.expire()).expired).toBe(0);

    app.clock.set(new Date(T0.getTime() + DAY));
    const first = await app.jobs.expire();
    expect(first).toMatchObject({ expired: 1, started: 0, outcomes: { applied: 1 }, errors: [] });
    const ended = await app.store.getEntitlement('easycart:ends');
    expect(ended).toMatchObject({
      status: 'expired',
      active: false,
      version: 2,
      lastEvent: { type: 'LIFECYCLE_EXPIRED' },
    });
    expect(ended?.validUntil).toEqual(new Date(T0.getTime() + DAY));
    expect(await app.store.getAccess('email:ends@example.com')).toMatchObject({ entitlements: {}, products: [] });
    expect((await app.store.getEntitlement('easycart:lasts'))?.active).toBe(true);

    const history = await historyOf(app.db, 'easycart:ends');
    expect(history.at(-1)).toMatchObject({
      eventType: 'LIFECYCLE_EXPIRED',
      actor: { type: 'system', id: 'expiry-sweep' },
      sourceTime: new Date(T0.getTime() + DAY),
      before: { status: 'active', active: true },
      after: { status: 'expired', active: false },
    });
    const event = await app.db
      .collection('events')
      .doc(`easycart:expire:easycart:ends:${T0.getTime() + DAY}`)
      .get();
    expect(event.get('outcome')).toBe('applied');
    expect(event.get('transport')).toEqual({ kind: 'scheduler', id: first.runId });
    const outbox = await outboxOf(app.db, 'easycart:ends');
    expect(outbox.map((o) => [o.event.type, o.event.state.status, o.event.state.active])).toEqual([
      ['entitlement.changed', 'active', true],
      ['entitlement.changed', 'expired', false],
    ]);

    const second = await app.jobs.expire();
    expect(second).toMatchObject({ expired: 0, started: 0, outcomes: {}, errors: [] });
    expect((await app.store.getEntitlement('easycart:ends'))?.version).toBe(2);
    expect(await historyOf(app.db, 'easycart:ends')).toHaveLength(2);
    expect(await outboxOf(app.db, 'easycart:ends')).toHaveLength(2);
    expect(await accessInvariantViolations(app.db)).toEqual([]);
  });

  it('should wait for the grace of the source before ending access', async () => {
    const app = await start();
    await app.apply(
      change({
        externalId: 'graced',
        subject: { key: 'user:graced' },
        validUntil: new Date(T0.getTime() + DAY),
        sourceTime: T0,
      }),
    );
    app.clock.set(new Date(T0.getTime() + DAY + 23 * HOUR));
    expect((await app.jobs.expire()).expired).toBe(0);
    expect((await app.store.getEntitlement('purchasely:graced'))?.active).toBe(true);

    app.clock.set(new Date(T0.getTime() + 2 * DAY));
    expect((await app.jobs.expire()).expired).toBe(1);
    const ended = await app.store.getEntitlement('purchasely:graced');
    expect(ended).toMatchObject({ status: 'expired', active: false });
    expect(ended?.sourceUpdatedAt).toEqual(new Date(T0.getTime() + 2 * DAY));
  });

  it('should let a later provider event win over the expiry and refuse an older one as stale', async () => {
    const app = await start();
    await app.apply(grant('renewed'));
    app.clock.set(new Date(T0.getTime() + DAY + HOUR));
    expect((await app.jobs.expire()).expired).toBe(1);

    const older = grant('renewed', {
      sourceTime: new Date(T0.getTime() + DAY - HOUR),
      validUntil: new Date(T0.getTime() + 31 * DAY),
    });
    expect((await app.apply(older)).outcome).toBe('stale');
    const later = grant('renewed', {
      sourceTime: new Date(T0.getTime() + DAY + 30 * 60_000),
      validUntil: new Date(T0.getTime() + 31 * DAY),
    });
    expect((await app.apply(later)).outcome).toBe('applied');
    expect(await app.store.getEntitlement('easycart:renewed')).toMatchObject({ status: 'active', active: true });
    expect((await app.jobs.expire()).expired).toBe(0);
  });

  it('should start access whose validFrom arrives (a future-start offer)', async () => {
    const app = await start();
    const starts = new Date(T0.getTime() + 5 * DAY);
    await app.apply(
      grant('future', { validFrom: starts, validUntil: new Date(T0.getTime() + 35 * DAY), sourceTime: T0 }),
    );
    expect(await app.store.getEntitlement('easycart:future')).toMatchObject({ status: 'active', active: false });
    expect((await app.store.getAccess('email:future@example.com'))?.products).toEqual([]);

    app.clock.set(new Date(starts.getTime() - 1));
    expect((await app.jobs.expire()).started).toBe(0);
    app.clock.set(starts);
    expect(await app.jobs.expire()).toMatchObject({ started: 1, expired: 0 });
    expect(await app.store.getEntitlement('easycart:future')).toMatchObject({
      status: 'active',
      active: true,
      lastEvent: { type: 'LIFECYCLE_STARTED' },
    });
    expect((await app.store.getAccess('email:future@example.com'))?.products).toEqual(['demo']);
    expect((await app.jobs.expire()).started).toBe(0);
    expect(await accessInvariantViolations(app.db)).toEqual([]);
  });

  it('should expire each entitlement once when two instances sweep at the same time', async () => {
    const first = await start();
    const second = await start({ env: { GOOGLE_CLOUD_PROJECT: first.projectId }, clock: first.clock });
    const ids = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    for (const [i, id] of ids.entries())
      await first.apply(grant(id, { validUntil: new Date(T0.getTime() + DAY + i * 1000) }));
    first.clock.set(new Date(T0.getTime() + 2 * DAY));

    const reports = await Promise.all([first.jobs.expire(), second.jobs.expire()]);
    // A transaction that timed out under the contention is left to the next run, as Cloud Scheduler's next call would.
    // (A timed-out transaction may also have committed: the count below is then one short, never over.)
    const next = await second.jobs.expire();
    expect(next.errors).toEqual([]);
    const applied = reports[0].expired + reports[1].expired + next.expired;
    expect(applied).toBeLessThanOrEqual(ids.length);
    if (!reports[0].errors.length && !reports[1].errors.length) expect(applied).toBe(ids.length);
    for (const id of ids) {
      expect(await first.store.getEntitlement(`easycart:${id}`)).toMatchObject({ status: 'expired', active: false });
      const history = await historyOf(first.db, `easycart:${id}`);
      expect(history.filter((h) => h.eventType === 'LIFECYCLE_EXPIRED')).toHaveLength(1);
      expect(await outboxOf(first.db, `easycart:${id}`)).toHaveLength(2);
    }
    expect(await accessInvariantViolations(first.db)).toEqual([]);
  });

  it('should page through due entitlements in validUntil order without repeating one', async () => {
    const app = await start();
    const ids = ['p-3', 'p-1', 'p-4', 'p-0', 'p-2'];
    for (const id of ids)
      await app.apply(
        change({
          source: 'getcourse',
          externalId: id,
          subject: { key: `email:${id}` },
          validUntil: new Date(T0.getTime() + (Number(id.slice(2)) + 1) * HOUR),
        }),
      );
    const cutoff = new Date(T0.getTime() + 10 * HOUR);
    const seen: string[] = [];
    let after = null;
    do {
      const page = await app.lifecycle.listActiveEndedBy('getcourse', cutoff, 2, after);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.externalId));
      after = page.next;
    } while (after);
    expect(seen).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
    expect((await app.lifecycle.listActiveEndedBy('purchasely', cutoff, 2, null)).items).toEqual([]);
  });
});

describe('Expiring notices', () => {
  let app: LifecycleApp;
  afterEach(() => app.close());

  it('should emit one entitlement.expiring per entitlement and period, through the outbox', async () => {
    app = await startLifecycleApp();
    const until = new Date(T0.getTime() + 2 * DAY);
    await app.apply(change({ externalId: 'soon', subject: { key: 'user:soon' }, validUntil: until, sourceTime: T0 }));
    await app.apply(
      change({
        externalId: 'later',
        subject: { key: 'user:later' },
        validUntil: new Date(T0.getTime() + 10 * DAY),
        sourceTime: T0,
      }),
    );

    const first = await app.jobs.expiring();
    expect(first).toMatchObject({ leadDays: 3, checked: 1, emitted: 1, alreadySent: 0, errors: [] });
    // The notice sent cleared the mark: later runs do not read it again (cost follows the notices due).
    const second = await app.jobs.expiring();
    expect(second).toMatchObject({ checked: 0, emitted: 0, alreadySent: 0 });
    app.clock.advance(DAY);
    expect(await app.jobs.expiring()).toMatchObject({ checked: 0, emitted: 0, alreadySent: 0 });
    expect((await app.store.getEntitlement('purchasely:soon'))?.pendingNoticeFor).toBeNull();
    expect((await app.store.getEntitlement('purchasely:later'))?.pendingNoticeFor).toEqual(
      new Date(T0.getTime() + 10 * DAY),
    );

    const notices = (await outboxOf(app.db, 'purchasely:soon')).filter((o) => o.event.type === 'entitlement.expiring');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      id: `expiring:purchasely:soon:${until.getTime()}`,
      orderingKey: 'purchasely:soon',
      publishedAt: null,
      event: {
        schemaVersion: 1,
        entitlementId: 'purchasely:soon',
        entitlementVersion: 1,
        validUntil: until,
        accessEndsAt: new Date(until.getTime() + 24 * HOUR),
        state: { status: 'active', active: true, subjectKey: 'user:soon' },
      },
    });
    expect((await outboxOf(app.db, 'purchasely:later')).filter((o) => o.event.type === 'entitlement.expiring')).toEqual(
      [],
    );

    // A renewal is a new period: one more notice when it nears its end.
    const renewedUntil = new Date(until.getTime() + 30 * DAY);
    await app.apply(
      change({
        externalId: 'soon',
        subject: { key: 'user:soon' },
        eventType: 'RENEWED',
        validUntil: renewedUntil,
        sourceTime: new Date(T0.getTime() + DAY),
      }),
    );
    expect((await app.jobs.expiring()).emitted).toBe(0);
    app.clock.set(new Date(renewedUntil.getTime() - 2 * DAY));
    expect((await app.jobs.expire()).expired).toBe(1); // "later" ended meanwhile
    expect((await app.jobs.expiring()).emitted).toBe(1);
    expect(
      (await outboxOf(app.db, 'purchasely:soon'))
        .filter((o) => o.event.type === 'entitlement.expiring')
        .map((o) => o.id),
    ).toEqual([`expiring:purchasely:soon:${until.getTime()}`, `expiring:purchasely:soon:${renewedUntil.getTime()}`]);
  });

  it('should send a notice once when two runs race for it', async () => {
    app = await startLifecycleApp();
    await app.apply(
      change({
        externalId: 'raced',
        subject: { key: 'user:raced' },
        validUntil: new Date(T0.getTime() + DAY),
        sourceTime: T0,
      }),
    );
    const other = await startLifecycleApp({ env: { GOOGLE_CLOUD_PROJECT: app.projectId }, clock: app.clock });
    try {
      const [a, b] = await Promise.all([app.jobs.expiring(), other.jobs.expiring()]);
      const next = await other.jobs.expiring(); // picks up a run that failed under contention, if any
      expect(next.errors).toEqual([]);
      if (!a.errors.length && !b.errors.length) expect(a.emitted + b.emitted + next.emitted).toBe(1);
      expect(
        (await outboxOf(app.db, 'purchasely:raced')).filter((o) => o.event.type === 'entitlement.expiring'),
      ).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('should read only the notices due, and mark a renewal that moves the end before the notice went out', async () => {
    app = await startLifecycleApp();
    const soon = (i: number) => new Date(T0.getTime() + DAY + i * HOUR);
    for (let i = 0; i < 4; i++) {
      await app.apply(
        change({ externalId: `w-${i}`, subject: { key: `user:w-${i}` }, validUntil: soon(i), sourceTime: T0 }),
      );
    }
    // Renewed while its notice was still due: the old end is no notice any more, the new one is marked.
    const renewedUntil = new Date(T0.getTime() + 40 * DAY);
    await app.apply(
      change({
        externalId: 'w-3',
        subject: { key: 'user:w-3' },
        eventType: 'RENEWED',
        validUntil: renewedUntil,
        sourceTime: new Date(T0.getTime() + HOUR),
      }),
    );
    expect(await app.jobs.expiring()).toMatchObject({ checked: 3, emitted: 3, errors: [] });
    expect(await app.jobs.expiring()).toMatchObject({ checked: 0, emitted: 0 });

    // A new purchase ending inside the window: the next run reads it alone.
    await app.apply(
      change({ externalId: 'w-new', subject: { key: 'user:w-new' }, validUntil: soon(5), sourceTime: T0 }),
    );
    expect(await app.jobs.expiring()).toMatchObject({ checked: 1, emitted: 1 });

    const expiringOf = async (id: string) =>
      (await outboxOf(app.db, id)).filter((o) => o.event.type === 'entitlement.expiring').map((o) => o.id);
    expect(await expiringOf('purchasely:w-3')).toEqual([]);
    app.clock.set(new Date(renewedUntil.getTime() - 2 * DAY));
    await app.jobs.expire();
    expect(await app.jobs.expiring()).toMatchObject({ checked: 1, emitted: 1 });
    expect(await expiringOf('purchasely:w-3')).toEqual([`expiring:purchasely:w-3:${renewedUntil.getTime()}`]);
  });

  it('should page the notices due in order, and resume across runs that have no time left', async () => {
    app = await startLifecycleApp();
    const ends = [5, 1, 3, 2, 4].map((h) => new Date(T0.getTime() + DAY + h * HOUR));
    for (const [i, validUntil] of ends.entries()) {
      await app.apply(change({ externalId: `p-${i}`, subject: { key: `user:p-${i}` }, validUntil, sourceTime: T0 }));
    }
    const horizon = new Date(T0.getTime() + 3 * DAY);
    const seen: string[] = [];
    let after = null;
    do {
      const page = await app.lifecycle.listNoticesDue(T0, horizon, 2, after);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.externalId));
      after = page.next;
    } while (after);
    expect(seen).toEqual(['p-1', 'p-3', 'p-2', 'p-4', 'p-0']);

    const notices = app.running.app.get(ExpiringNotices);
    const reports = [];
    for (let run = 0; run < 10; run++) {
      const report = await notices.run(`r${run}`, new RunBudget(0));
      reports.push(report);
      if (!report.more) break;
    }
    expect(reports.at(-1)?.more).toBe(false);
    expect(reports.reduce((n, r) => n + r.emitted, 0)).toBe(5);
    expect((await app.db.collection('cursors').doc('expiring').get()).get('cursor')).toBeNull();
  });

  it('should backfill the mark on documents stored before it, without sending a notice sent before', async () => {
    app = await startLifecycleApp();
    const ends = { sent: DAY, unsent: 2 * DAY, far: 20 * DAY };
    for (const [id, offset] of Object.entries(ends)) {
      await app.apply(
        change({
          externalId: `old-${id}`,
          subject: { key: `user:old-${id}` },
          validUntil: new Date(T0.getTime() + offset),
          sourceTime: T0,
        }),
      );
      // As written by the version before the mark existed.
      await app.db
        .collection('entitlements')
        .doc(`purchasely:old-${id}`)
        .update({ pendingNoticeFor: FieldValue.delete() });
    }
    // The old job had sent this one's notice already.
    const sentKey = `purchasely:old-sent:${T0.getTime() + ends.sent}`;
    await app.db
      .collection('notices')
      .doc(sentKey)
      .set({ entitlementId: 'purchasely:old-sent', validUntil: new Date(T0.getTime() + ends.sent) });

    const first = await app.jobs.expiring();
    expect(first).toMatchObject({ backfilled: 3, checked: 2, emitted: 1, alreadySent: 1, more: false, errors: [] });
    expect((await app.db.collection('cursors').doc('expiring-backfill').get()).get('cursor')).toBe('done');
    const expiring = (await outboxOf(app.db)).filter((o) => o.event.type === 'entitlement.expiring');
    expect(expiring.map((o) => o.event.entitlementId)).toEqual(['purchasely:old-unsent']);
    expect((await app.store.getEntitlement('purchasely:old-far'))?.pendingNoticeFor).toEqual(
      new Date(T0.getTime() + ends.far),
    );

    expect(await app.jobs.expiring()).toMatchObject({ backfilled: 0, checked: 0, emitted: 0 });
    app.clock.set(new Date(T0.getTime() + ends.far - DAY));
    expect(await app.jobs.expiring()).toMatchObject({ backfilled: 0, checked: 1, emitted: 1 });
  });
});
