import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { startFakeProcurement, type FakeProcurement } from '../fake-procurement/server.js';
import { MarketplaceSimulator, pubsubPublisher } from './simulator.js';

// The test set-up exports the emulator's address; without it there is no Pub/Sub to publish to.
const describeWithEmulator = process.env['PUBSUB_EMULATOR_HOST'] ? describe : describe.skip;

function nextMessages(subscription: Subscription, count: number): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const received: Message[] = [];
    const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages`)), 20_000);
    subscription.on('error', reject);
    subscription.on('message', (message: Message) => {
      message.ack();
      received.push(message);
      if (received.length === count) {
        clearTimeout(timer);
        resolve(received);
      }
    });
  });
}

describeWithEmulator('simulator publishing to the Pub/Sub emulator', () => {
  const projectId = `sim-${randomBytes(4).toString('hex')}`;
  const pubsub = new PubSub({ projectId });
  let fake: FakeProcurement;
  let subscription: Subscription;

  beforeAll(async () => {
    fake = await startFakeProcurement({ providerIds: ['demo-provider'] });
    const [topic] = await pubsub.createTopic('marketplace');
    [subscription] = await topic.createSubscription('entitlements');
  });

  afterAll(async () => {
    await subscription.close();
    await pubsub.close();
    await fake.close();
  });

  it('should publish each message as JSON data, in order, and return the Pub/Sub message ids', async () => {
    const simulator = new MarketplaceSimulator({
      procurementUrl: fake.url,
      providerId: 'demo-provider',
      publish: pubsubPublisher(pubsub.topic('marketplace')),
    });
    const arriving = nextMessages(subscription, 2);

    const bought = await simulator.buy({ product: 'acme.example.com', plan: 'pro' });
    const received = await arriving;

    expect(received.map((m) => m.id).sort()).toEqual([...bought.messageIds].sort());
    expect(received.map((m) => JSON.parse(m.data.toString('utf8')) as unknown)).toEqual(
      expect.arrayContaining(bought.messages),
    );
  });
});
