import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
// @ts-expect-error plain ESM helper without types
import { startFirestoreEmulator } from '../../scripts/emulators.mjs';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import {
  entitlementWhere,
  eventually,
  PRODUCT,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';

type Emulator = { host: string; port: number; stop(): Promise<void> };

describe('Marketplace consumer while Firestore is down', () => {
  let emulator: Emulator;
  let stack: MarketplaceStack;
  const sharedHost = process.env.FIRESTORE_EMULATOR_HOST;

  beforeAll(async () => {
    // A Firestore emulator of this suite's own, so stopping it cannot disturb other suites.
    emulator = (await startFirestoreEmulator()) as Emulator;
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
    stack = await startMarketplaceStack({ pull: true });
  });
  afterAll(async () => {
    await stack?.close();
    await emulator?.stop();
    process.env.FIRESTORE_EMULATOR_HOST = sharedHost;
  });

  it('should nack while Firestore is unavailable and apply the message once it is back', async () => {
    const { simulator, store, fake } = stack;
    const { accountId } = await simulator.signUpAccount();
    await stack.app.app.get(MarketplaceEvents).approveAccount(accountId!, {
      source: 'gcp',
      eventKey: `approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    await entitlementWhere(store, entitlementId!, (e) => e.status === 'pending_approval');

    await emulator.stop();
    await simulator.activate(entitlementId!);
    // The consumer keeps trying: Firestore fails, the message is nacked and redelivered.
    const nacks = () => stack.logLines().filter((l) => l.message === 'message nacked').length;
    await eventually(async () => nacks() >= 2, 40_000);
    expect(fake.countCalls('entitlements.approve', entitlementId)).toBe(1);

    emulator = (await startFirestoreEmulator({ port: emulator.port })) as Emulator;
    const active = await entitlementWhere(store, entitlementId!, (e) => e.status === 'active', 60_000);
    expect(active.active).toBe(true);
    const events = await stack.db.collection('events').where('entitlementId', '==', `gcp:${entitlementId}`).get();
    expect(events.docs.map((d) => d.get('outcome'))).toEqual(['applied']);
  }, 120_000);
});
