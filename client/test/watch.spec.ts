import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import {
  entitlementWhere,
  eventually,
  PRODUCT,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../../test/support/marketplace.js';
import {
  createAccess,
  decodeChangeMessage,
  subjectKey,
  type ChangeEvent,
  type CurrentAccess,
  type FirestoreLike,
} from '../src/index.js';

/**
 * A Marketplace purchase and plan change, played by the simulator against the fake Procurement API
 * and delivered over the Pub/Sub emulator to the real service (streaming pull), seen by the client
 * through `watch` (Firestore listeners on the emulator) and through the outbound change events the
 * service published.
 */

/** The real Firestore, except that every listener also gets each snapshot's predecessor again, late. */
function replayingStale(db: Firestore): FirestoreLike & { replays: number } {
  const wrapper = {
    replays: 0,
    collection: (path: string) => ({
      doc: (id: string) => {
        const ref = db.collection(path).doc(id);
        return {
          get: () => ref.get(),
          onSnapshot: (
            next: (s: FirebaseFirestore.DocumentSnapshot) => void,
            error: (e: Error) => void,
          ): (() => void) => {
            let previous: FirebaseFirestore.DocumentSnapshot | undefined;
            return ref.onSnapshot((snap) => {
              next(snap);
              if (previous) {
                wrapper.replays++;
                next(previous);
              }
              previous = snap;
            }, error);
          },
        };
      },
    }),
  };
  return wrapper;
}

describe('client watch on a Marketplace purchase', () => {
  let stack: MarketplaceStack;
  let pubsub: PubSub;
  let db: Firestore;
  let subscription: Subscription;
  const published: Message[] = [];
  const listeners: (() => void)[] = [];

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: true, env: { CHANGE_EVENTS_TOPIC: 'entitlement-changes' } });
    pubsub = new PubSub({ projectId: stack.projectId });
    const [topic] = await pubsub.createTopic('entitlement-changes');
    [subscription] = await topic.createSubscription('backend', { enableMessageOrdering: true });
    subscription.on('message', (m: Message) => {
      published.push(m);
      m.ack();
    });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    for (const stop of listeners) stop();
    await subscription?.close();
    await db?.terminate();
    await stack?.close();
    await pubsub?.close();
  });

  it('should see the purchase and the plan change in order, ignore late snapshots, and stop on unsubscribe', async () => {
    const { simulator, store, fake } = stack;
    const { accountId } = await simulator.signUpAccount();
    await stack.app.app.get(MarketplaceEvents).approveAccount(accountId!, {
      source: 'gcp',
      eventKey: `test-approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin', id: 'test' },
    });
    const key = subjectKey.forGcpAccount(accountId!);
    const db2 = replayingStale(db);
    const access = createAccess(db2);
    const seen: CurrentAccess[] = [];
    const errors: Error[] = [];
    const unsubscribe = access.watch(key, (a) => seen.push(a), { onError: (e) => errors.push(e) });
    listeners.push(unsubscribe);
    await eventually(async () => seen.length >= 1);
    expect(seen[0]).toMatchObject({ version: 0, entitlements: [] }); // nothing bought yet

    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await eventually(async () => fake.countCalls('entitlements.approve', id) === 1);
    await simulator.activate(id);
    await eventually(async () => seen.at(-1)?.has('demo', 'pro'));
    expect(seen.at(-1)?.entitlements[0]).toMatchObject({ entitlementId: `gcp:${id}`, source: 'gcp', plan: 'pro' });

    await simulator.changePlan(id, 'basic');
    await eventually(async () => fake.countCalls('entitlements.approvePlanChange', id) === 1);
    await simulator.completePlanChange(id);
    await eventually(async () => seen.at(-1)?.has('demo', 'basic'));
    expect(seen.at(-1)?.has('demo', 'pro')).toBe(false);

    // Late snapshots were delivered, and none of them reached onChange.
    expect(db2.replays).toBeGreaterThanOrEqual(2);
    const versions = seen.map((a) => a.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(errors).toEqual([]);
    // While watched, current() answers from the listener.
    expect((await access.current(key)).version).toBe(seen.at(-1)?.version);

    unsubscribe();
    const calls = seen.length;
    await simulator.cancel(id, { atPeriodEnd: false });
    await entitlementWhere(store, id, (e) => e.status === 'cancelled');
    expect(await createAccess(db).has(key, 'demo')).toBe(false);
    await new Promise((r) => setTimeout(r, 500)); // a listener still running would have called by now
    expect(seen).toHaveLength(calls);

    // The same story in the outbound change events, decoded.
    await stack.app.app.get(LifecycleJobs).publishOutbox();
    await eventually(async () => published.filter((m) => m.orderingKey === `gcp:${id}`).length >= 4);
    const events: ChangeEvent[] = published
      .filter((m) => m.orderingKey === `gcp:${id}`)
      .map((m) => decodeChangeMessage({ data: m.data, attributes: m.attributes }));
    const changes = events.flatMap((e) => (e.type === 'entitlement.changed' ? [e] : []));
    const changeVersions = changes.map((e) => e.entitlementVersion);
    expect(changeVersions).toEqual([...changeVersions].sort((a, b) => a - b));
    const planChange = changes.find((e) => e.previous?.plan === 'pro' && e.state.plan === 'basic');
    expect(planChange).toMatchObject({ entitlementId: `gcp:${id}`, source: 'gcp', state: { subjectKey: key } });
    expect(changes.at(-1)?.state).toMatchObject({ status: 'cancelled', active: false });
    expect(changes.at(-1)?.occurredAt).toBeInstanceOf(Date);
  });
});
