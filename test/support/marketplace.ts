import { PubSub, type Topic } from '@google-cloud/pubsub';
import { Firestore } from '@google-cloud/firestore';
import { startFakeProcurement, type FakeProcurement } from '../../tools/fake-procurement/server.js';
import { MarketplaceSimulator, pubsubPublisher } from '../../tools/simulator/simulator.js';
import type { Clock } from '../../src/entitlements/clock.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import type { AccessSummary, EntitlementRecord } from '../../src/entitlements/ledger-plan.js';
import { memoryLogger, startApp, testConfig, uniqueProjectId, type RunningApp } from './app.js';

export const PROVIDER = 'demo-provider';
export const PRODUCT = 'demo-product.endpoints.demo-entitlements.cloud.goog';

export interface MarketplaceStack {
  fake: FakeProcurement;
  app: RunningApp;
  simulator: MarketplaceSimulator;
  topic: Topic;
  store: EntitlementStore;
  db: Firestore;
  projectId: string;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * The whole Marketplace path on real parts: a Pub/Sub emulator topic and subscription, the fake
 * Procurement API (driven by the real generated client), the simulator, and the service booted
 * with the real bootstrap(). `pull: true` starts the streaming-pull consumer.
 */
export async function startMarketplaceStack(options: {
  pull: boolean;
  env?: Record<string, string>;
  /** The service's clock (a TestClock to move time); the real one by default. */
  clock?: Clock;
}): Promise<MarketplaceStack> {
  const projectId = uniqueProjectId('mkt');
  const pubsub = new PubSub({ projectId });
  const [topic] = await pubsub.createTopic('marketplace');
  await topic.createSubscription('marketplace-sub', { ackDeadlineSeconds: 10 });
  // What Google publishes for the service's own calls (direct plan changes, rejected ones) goes to the topic too.
  const fake = await startFakeProcurement({
    providerIds: [PROVIDER],
    publish: (message) => topic.publishMessage({ data: Buffer.from(JSON.stringify(message)) }),
  });
  const config = testConfig({
    GOOGLE_CLOUD_PROJECT: projectId,
    MARKETPLACE_PROVIDER_ID: PROVIDER,
    PROCUREMENT_ROOT_URL: fake.url,
    PROCUREMENT_STATIC_TOKEN: 'test-token',
    ...(options.pull ? { MARKETPLACE_SUBSCRIPTION: 'marketplace-sub' } : {}),
    ...options.env,
  });
  const { logger, lines } = memoryLogger('info');
  const app = await startApp({ config, logger, clock: options.clock });
  const simulator = new MarketplaceSimulator({
    procurementUrl: fake.url,
    providerId: PROVIDER,
    publish: pubsubPublisher(topic),
  });
  return {
    fake,
    app,
    simulator,
    topic,
    store: app.app.get(EntitlementStore),
    db: app.app.get(Firestore),
    projectId,
    logLines: lines,
    async close() {
      await fake.idle();
      await app.close();
      await fake.close();
      await pubsub.close();
    },
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails with the last seen value. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      last = await check();
    } catch (error) {
      last = `error: ${(error as Error).message}`;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (last !== undefined && last !== false && last !== null) return last as T;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

export async function entitlementWhere(
  store: EntitlementStore,
  id: string,
  predicate: (e: EntitlementRecord) => boolean,
  timeoutMs?: number,
): Promise<EntitlementRecord> {
  return eventually(async () => {
    const e = await store.getEntitlement(`gcp:${id}`);
    return e && predicate(e) ? e : undefined;
  }, timeoutMs);
}

export async function accessOf(store: EntitlementStore, accountId: string): Promise<AccessSummary | null> {
  return store.getAccess(`gcp-account:${accountId}`);
}
