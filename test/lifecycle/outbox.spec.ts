import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
// @ts-expect-error plain ESM helper without types
import { freePort, sdkRoot } from '../../scripts/emulators.mjs';
import { change } from '../support/changes.js';
import { eventually } from '../support/marketplace.js';
import { DAY, HOUR, outboxOf, startLifecycleApp, T0, type LifecycleApp } from './support.js';

interface Received {
  orderingKey: string;
  attributes: Record<string, string>;
  event: { type: string; id: string; entitlementVersion: number; [k: string]: unknown };
}

function collect(subscription: Subscription): Received[] {
  const received: Received[] = [];
  subscription.on('message', (m: Message) => {
    received.push({
      orderingKey: m.orderingKey ?? '',
      attributes: m.attributes,
      event: JSON.parse(m.data.toString('utf8')) as Received['event'],
    });
    m.ack();
  });
  return received;
}

const grant = (id: string, overrides: Parameters<typeof change>[0] = {}) =>
  change({
    externalId: id,
    subject: { key: `user:${id}` },
    sourceTime: T0,
    validUntil: new Date(T0.getTime() + 2 * DAY),
    ...overrides,
  });

describe('Outbound change events: publishing fails while the topic is missing', () => {
  let app: LifecycleApp;
  let pubsub: PubSub;
  afterAll(async () => {
    await app?.close();
    await pubsub?.close();
  });

  it('should keep the outbox entries until the topic exists, then publish each once, in order, with the ordering key', async () => {
    app = await startLifecycleApp({ env: { CHANGE_EVENTS_TOPIC: 'entitlement-changes' } });
    pubsub = new PubSub({ projectId: app.projectId });
    const first = grant('a');
    expect((await app.apply(first)).outcome).toBe('applied');
    expect((await app.apply(first)).outcome).toBe('duplicate');
    // Applied, but access is unchanged: no outbox entry.
    expect(
      (await app.apply({ ...first, eventKey: 'same-again', sourceTime: new Date(T0.getTime() + 1000) })).outcome,
    ).toBe('applied');
    const upgrade = grant('a', {
      sourceTime: new Date(T0.getTime() + HOUR),
      product: { product: 'demo', plan: 'yearly', providerProduct: 'PREMIUM', providerPlan: 'yearly' },
    });
    expect((await app.apply(upgrade)).outcome).toBe('applied');
    expect((await app.apply(grant('b', { validUntil: null }))).outcome).toBe('applied');

    app.clock.set(new Date(T0.getTime() + DAY));
    const noticeRun = await app.jobs.expiring();
    expect(noticeRun.emitted).toBe(1);
    expect(noticeRun.publish).toMatchObject({ topic: 'entitlement-changes', published: 0, failed: expect.any(Number) });
    expect((noticeRun.publish as { failed: number }).failed).toBeGreaterThan(0);

    app.clock.set(new Date(T0.getTime() + 3 * DAY)); // validUntil + Purchasely's 24 h grace
    const sweep = await app.jobs.expire();
    expect(sweep.expired).toBe(1);
    expect(sweep.publish).toMatchObject({ published: 0, failed: 5 });

    const kept = await outboxOf(app.db);
    expect(kept).toHaveLength(5);
    for (const entry of kept) {
      expect(entry.publishedAt).toBeNull();
      expect(entry.attempts).toBeGreaterThanOrEqual(1);
      expect(entry.lastError).toMatch(/not.?found/i);
    }
    // Each access change has exactly one entry (a: grant, upgrade, expiry; b: grant) plus a's one notice.
    expect(kept.map((e) => `${e.orderingKey} v${e.event.entitlementVersion} ${e.event.type}`).sort()).toEqual([
      'purchasely:a v1 entitlement.changed',
      'purchasely:a v3 entitlement.changed',
      'purchasely:a v3 entitlement.expiring',
      'purchasely:a v4 entitlement.changed',
      'purchasely:b v1 entitlement.changed',
    ]);

    // Recovery: the topic (and an ordered subscription) now exist.
    const [topic] = await pubsub.createTopic('entitlement-changes');
    const [subscription] = await topic.createSubscription('consumer', { enableMessageOrdering: true });
    const received = collect(subscription);
    const recovered = await app.jobs.publishOutbox();
    expect(recovered).toMatchObject({ published: 5, failed: 0, deferred: 0, errors: [] });
    await eventually(async () => received.length >= 5);
    await subscription.close();

    const ofA = received.filter((r) => r.orderingKey === 'purchasely:a');
    expect(ofA.map((r) => `v${r.event.entitlementVersion} ${r.event.type}`)).toEqual([
      'v1 entitlement.changed',
      'v3 entitlement.changed',
      'v3 entitlement.expiring',
      'v4 entitlement.changed',
    ]);
    expect(received.filter((r) => r.orderingKey === 'purchasely:b')).toHaveLength(1);
    expect(new Set(received.map((r) => r.event.id)).size).toBe(5);
    const expiry = ofA[3]!;
    expect(expiry.attributes).toEqual({
      type: 'entitlement.changed',
      schemaVersion: '1',
      eventId: expiry.event.id,
      entitlementId: 'purchasely:a',
      source: 'purchasely',
    });
    expect(expiry.event).toMatchObject({
      schemaVersion: 1,
      entitlementId: 'purchasely:a',
      state: {
        status: 'expired',
        active: false,
        plan: 'yearly',
        subjectKey: 'user:a',
        validUntil: new Date(T0.getTime() + 2 * DAY).toISOString(),
      },
      previous: { status: 'active', active: true },
      sourceEvent: { source: 'purchasely', type: 'LIFECYCLE_EXPIRED' },
    });

    const published = await outboxOf(app.db);
    for (const entry of published) {
      expect(entry.publishedAt).toEqual(app.clock.now());
      expect(entry.expireAt).toEqual(new Date(app.clock.now().getTime() + 7 * DAY));
      expect(entry.messageId).toEqual(expect.any(String));
    }
    expect(await app.jobs.publishOutbox()).toMatchObject({ published: 0, failed: 0 });
  });

  it('should publish each entry once when two instances publish at the same time', async () => {
    const first = await startLifecycleApp({ env: { CHANGE_EVENTS_TOPIC: 'raced-changes' } });
    const second = await startLifecycleApp({
      env: { GOOGLE_CLOUD_PROJECT: first.projectId, CHANGE_EVENTS_TOPIC: 'raced-changes' },
      clock: first.clock,
    });
    const client = new PubSub({ projectId: first.projectId });
    try {
      const [topic] = await client.createTopic('raced-changes');
      const [subscription] = await topic.createSubscription('consumer', { enableMessageOrdering: true });
      const received = collect(subscription);
      for (let i = 0; i < 20; i++) await first.apply(grant(`r${i}`, { validUntil: null }));
      const [a, b] = await Promise.all([first.jobs.publishOutbox(), second.jobs.publishOutbox()]);
      expect(a.published + b.published).toBe(20);
      expect(a.failed + b.failed).toBe(0);
      await eventually(async () => received.length >= 20);
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive by now
      expect(received).toHaveLength(20);
      expect((await outboxOf(first.db)).every((e) => e.publishedAt !== null)).toBe(true);
      await subscription.close();
    } finally {
      await Promise.all([first.close(), second.close(), client.close()]);
    }
  });

  it('should leave the outbox alone when no topic is configured', async () => {
    const quiet = await startLifecycleApp();
    try {
      await quiet.apply(grant('c'));
      expect(await quiet.jobs.publishOutbox()).toMatchObject({
        topic: null,
        published: 0,
        skipped: expect.stringContaining('CHANGE_EVENTS_TOPIC'),
      });
      expect((await outboxOf(quiet.db))[0]?.publishedAt).toBeNull();
    } finally {
      await quiet.close();
    }
  });
});

/** A Pub/Sub emulator of this suite's own on a fixed port, so it can be stopped and started again. */
class OwnPubsubEmulator {
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const binary = join(sdkRoot() as string, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator');
    this.child = spawn(binary, ['--host=127.0.0.1', `--port=${this.port}`], { stdio: 'ignore', detached: true });
    await eventually(async () => (await fetch(`http://${this.host}/`)).ok, 60_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM'); // its own process group: the wrapper script and the JVM
    await exited;
    this.child = undefined;
  }
}

describe('Outbound change events: publishing while the Pub/Sub emulator is stopped', () => {
  const sharedHost = process.env.PUBSUB_EMULATOR_HOST;
  let emulator: OwnPubsubEmulator;
  let app: LifecycleApp;

  beforeAll(async () => {
    emulator = new OwnPubsubEmulator((await freePort()) as number);
    await emulator.start();
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    app = await startLifecycleApp({ env: { CHANGE_EVENTS_TOPIC: 'changes' } });
  }, 90_000);
  afterAll(async () => {
    await app?.close();
    await emulator?.stop();
    process.env.PUBSUB_EMULATOR_HOST = sharedHost;
  });

  async function orderedSubscription(): Promise<{ pubsub: PubSub; subscription: Subscription }> {
    const pubsub = new PubSub({ projectId: app.projectId });
    const [topic] = await pubsub.createTopic('changes');
    const [subscription] = await topic.createSubscription('consumer', { enableMessageOrdering: true });
    return { pubsub, subscription };
  }

  it('should fail fast while Pub/Sub is down, keep the entries, and publish them after it is back', async () => {
    let { pubsub, subscription } = await orderedSubscription();
    let received = collect(subscription);
    await app.apply(grant('x'));
    expect(await app.jobs.publishOutbox()).toMatchObject({ published: 1 });
    await eventually(async () => received.length === 1);
    await subscription.close();
    await pubsub.close();

    await emulator.stop();
    await app.apply(grant('x', { sourceTime: new Date(T0.getTime() + HOUR), status: 'cancelled' }));
    await app.apply(grant('y'));
    const startedAt = Date.now();
    const down = await app.jobs.publishOutbox();
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(down).toMatchObject({ published: 0, failed: 2 });
    expect((await outboxOf(app.db)).filter((e) => e.publishedAt === null)).toHaveLength(2);

    await emulator.start(); // a fresh emulator: the topic must be created again
    ({ pubsub, subscription } = await orderedSubscription());
    received = collect(subscription);
    // The scheduler's next runs: the client reconnects with its own backoff.
    await eventually(async () => (await app.jobs.publishOutbox()).published === 2 || undefined, 60_000);
    await eventually(async () => received.length === 2);
    expect(received.map((r) => `${r.orderingKey} ${(r.event.state as { status: string }).status}`).sort()).toEqual([
      'purchasely:x cancelled',
      'purchasely:y active',
    ]);
    expect((await outboxOf(app.db)).every((e) => e.publishedAt !== null)).toBe(true);
    await subscription.close();
    await pubsub.close();
  }, 150_000);
});
