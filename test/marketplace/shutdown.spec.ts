import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startFakeProcurement, type FakeProcurement } from '../../tools/fake-procurement/server.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { uniqueProjectId } from '../support/app.js';
// @ts-expect-error plain ESM helper without types
import { freePort } from '../../scripts/emulators.mjs';
import { eventually, PRODUCT, PROVIDER } from '../support/marketplace.js';

/** The service process as the container runs it, pulling; SIGTERM is what Cloud Run sends before it stops an instance. */
function startService(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['dist/service.cjs'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

describe('pull consumer shutdown (SIGTERM)', () => {
  let fake: FakeProcurement;
  let pubsub: PubSub;
  let db: Firestore;
  const projectId = uniqueProjectId('drain');
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeProcurement({ providerIds: [PROVIDER] });
    pubsub = new PubSub({ projectId });
    const [topic] = await pubsub.createTopic('marketplace');
    await topic.createSubscription('marketplace-sub', { ackDeadlineSeconds: 10 });
    db = new Firestore({ projectId });
    env = {
      GOOGLE_CLOUD_PROJECT: projectId,
      MARKETPLACE_PROVIDER_ID: PROVIDER,
      MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
      PROCUREMENT_ROOT_URL: fake.url,
      PROCUREMENT_STATIC_TOKEN: 'x',
      LOG_LEVEL: 'info',
      PORT: String(await freePort()),
    };
  });
  afterAll(async () => {
    await fake.close();
    await pubsub.close();
    await db.terminate();
  });

  it('should stop pulling, finish or nack in-flight messages within 10 s, and lose nothing', async () => {
    // Purchases already active at Google: each message costs a slow Procurement GET (1.5 s here).
    const messages: object[] = [];
    const simulator = new MarketplaceSimulator({
      procurementUrl: fake.url,
      providerId: PROVIDER,
      publish: async (m) => (messages.push(m), randomUUID()),
    });
    const { accountId } = await simulator.signUpAccount();
    fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
      ids.push(entitlementId!);
    }
    fake.setLatency(1500);
    const topic = pubsub.topic('marketplace');
    for (const m of messages) await topic.publishMessage({ data: Buffer.from(JSON.stringify(m)) });

    const first = startService(env);
    // SIGTERM while the service is in the middle of handling messages.
    await eventually(async () => fake.countCalls('entitlements.get') > 0, 30_000);
    const stoppingAt = Date.now();
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));
    const drainMs = Date.now() - stoppingAt;
    expect(drainMs).toBeLessThan(10_000);
    expect(first.output().slice(-1500)).toContain('pull consumer drained');

    // Whatever was not finished comes back: a new instance applies every message exactly once.
    fake.setLatency(0);
    const second = startService(env);
    try {
      for (const id of ids) {
        await eventually(async () => (await db.collection('entitlements').doc(`gcp:${id}`).get()).exists, 60_000);
      }
      const events = await db.collection('events').where('source', '==', 'gcp').get();
      const applied = events.docs.filter((d) => d.get('outcome') === 'applied').map((d) => d.get('eventKey') as string);
      expect(new Set(applied).size).toBe(applied.length);
      for (const id of ids) expect(fake.countCalls('entitlements.approve', id)).toBe(1);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  }, 120_000);
});
