import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../../src/bootstrap.js';
import type { InboundEvent } from '../../src/entitlements/inbound-event.js';
import { MarketplaceStore, type AccountMirror } from '../../src/marketplace/marketplace-store.js';
import { memoryLogger, testConfig } from '../support/app.js';

/** The account mirror's stale guard on the Firestore emulator: an older account state is never written. */
describe('MarketplaceStore.applyAccount in source-time order', () => {
  let app: NestFastifyApplication;
  let accounts: MarketplaceStore;

  beforeAll(async () => {
    app = await bootstrap({ config: testConfig(), logger: memoryLogger().logger });
    await app.init();
    accounts = app.get(MarketplaceStore);
  });
  afterAll(() => app.close());

  const mirror = (accountId: string, signup: 'PENDING' | 'APPROVED', at: string): AccountMirror => ({
    accountId,
    provider: 'demo-provider',
    state: signup === 'APPROVED' ? 'ACCOUNT_ACTIVE' : 'ACCOUNT_ACTIVATION_REQUESTED',
    signup: { state: signup, updateTime: new Date(at) },
    sourceUpdatedAt: new Date(at),
  });
  const event = (key: string): InboundEvent => ({
    source: 'gcp',
    eventKey: key,
    eventType: 'ACCOUNT_ACTIVE',
    transport: { kind: 'pubsub-push' },
  });
  const now = new Date('2026-11-02T12:00:00Z');

  it('should answer stale for a decreasing account time and keep the newer sign-up state', async () => {
    const newer = mirror('acct-order', 'APPROVED', '2026-11-02T10:00:00.000Z');
    const older = mirror('acct-order', 'PENDING', '2026-11-02T09:59:59.999Z');
    await expect(accounts.applyAccount(newer, event('acct-order-approved'), now)).resolves.toMatchObject({
      outcome: 'applied',
    });
    await expect(accounts.applyAccount(older, event('acct-order-pending'), now)).resolves.toMatchObject({
      outcome: 'stale',
    });
    expect(await accounts.getAccount('acct-order')).toMatchObject({
      signup: { state: 'APPROVED' },
      state: 'ACCOUNT_ACTIVE',
      sourceUpdatedAt: newer.sourceUpdatedAt,
      version: 1,
    });
    // The same time again is not older: it applies (a redelivery under another key changes nothing).
    const same = mirror('acct-order', 'APPROVED', '2026-11-02T10:00:00.000Z');
    await expect(accounts.applyAccount(same, event('acct-order-same'), now)).resolves.toMatchObject({
      outcome: 'applied',
    });
  });
});
