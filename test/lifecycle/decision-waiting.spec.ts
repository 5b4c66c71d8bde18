import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Subscription } from '@google-cloud/pubsub';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import {
  entitlementWhere,
  PRODUCT,
  PROVIDER,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';

/** A Marketplace purchase the policy leaves to a person: `decision.waiting` through the outbox, and a log line. */
describe('decision.waiting', () => {
  let stack: MarketplaceStack;
  let subscription: Subscription;

  beforeAll(async () => {
    stack = await startMarketplaceStack({ pull: true, env: { CHANGE_EVENTS_TOPIC: 'entitlement-changes' } });
    const [topic] = await stack.topic.pubsub.createTopic('entitlement-changes');
    [subscription] = await topic.createSubscription('changes-sub');
  });
  afterAll(async () => {
    await subscription.close();
    await stack.close();
  });

  it('should publish decision.waiting (entitlement, source, plan, policy reason) once, and log a line an alert matches', async () => {
    const { accountId } = await stack.simulator.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    // config/policy.yaml: demo/enterprise is approved by a person.
    const { entitlementId } = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const id = `gcp:${entitlementId}`;
    await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval');

    const received: Record<string, unknown>[] = [];
    subscription.on('message', (m: { data: Buffer; attributes: Record<string, string>; ack(): void }) => {
      received.push({ ...(JSON.parse(m.data.toString()) as object), attributes: m.attributes });
      m.ack();
    });
    await stack.app.app.get(LifecycleJobs).publishOutbox();
    const deadline = Date.now() + 10_000;
    while (!received.some((e) => e['type'] === 'decision.waiting') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const waiting = received.filter((e) => e['type'] === 'decision.waiting');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({
      schemaVersion: 1,
      type: 'decision.waiting',
      entitlementId: id,
      source: 'gcp',
      decision: 'entitlement',
      product: 'demo',
      plan: 'enterprise',
      reason: expect.stringContaining('config/policy.yaml'),
      waitingSince: expect.any(String),
      attributes: { type: 'decision.waiting', entitlementId: id, source: 'gcp' },
    });

    const lines = stack.logLines().filter((l) => l['message'] === 'decision waiting');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      severity: 'WARNING',
      entitlementId: id,
      source: 'gcp',
      decision: 'entitlement',
      product: 'demo',
      plan: 'enterprise',
      reason: expect.stringContaining('config/policy.yaml'),
      eventKey: expect.any(String),
      'logging.googleapis.com/trace': expect.stringMatching(/\/traces\/[0-9a-f]{32}$/),
    });
  });
});
