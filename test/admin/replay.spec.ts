import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import { Ledger } from '../../src/entitlements/ledger.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { startApp, testConfig, type RunningApp } from '../support/app.js';
import { PRODUCT, PROVIDER, startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';
import { newApiKey } from './admin-stack.js';

/** `config/` without the Marketplace product: its events are recorded `invalid` (unknown product). */
function configWithoutProduct(): string {
  const dir = mkdtempSync(join(tmpdir(), 'admin-replay-config-'));
  cpSync('config', dir, { recursive: true });
  const products = parse(readFileSync(join(dir, 'products.yaml'), 'utf8')) as {
    sources: { gcp: Record<string, unknown> };
  };
  delete products.sources.gcp[PRODUCT];
  writeFileSync(join(dir, 'products.yaml'), stringify(products));
  return dir;
}

describe('Admin API replay of an invalid Marketplace event after the configuration is fixed', () => {
  let brokenDir: string;
  let broken: MarketplaceStack;
  let fixed: RunningApp;
  let simulator: MarketplaceSimulator;
  let accountId: string;
  const approverKey = newApiKey();

  async function call(method: 'GET' | 'POST', path: string) {
    const response = await fetch(`${fixed.url}${path}`, { method, headers: { 'x-api-key': approverKey } });
    return { status: response.status, body: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  /** A purchase the broken service records as invalid; its event id. */
  async function invalidPurchase(): Promise<{ entitlementId: string; eventId: string }> {
    const { entitlementId, messages } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const creation = messages.find((m) => m.eventType === 'ENTITLEMENT_CREATION_REQUESTED')!;
    const eventId = `gcp:${creation.eventId}`;
    const record = await broken.db.collection('events').doc(eventId).get();
    expect(record.get('outcome')).toBe('invalid');
    expect(record.get('reason')).toContain('unknown gcp product');
    return { entitlementId: entitlementId!, eventId };
  }

  beforeAll(async () => {
    brokenDir = configWithoutProduct();
    broken = await startMarketplaceStack({ pull: false, env: { CONFIG_DIR: brokenDir } });
    const events = broken.app.app.get(MarketplaceEvents);
    simulator = new MarketplaceSimulator({
      procurementUrl: broken.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        const messageId = randomUUID();
        await events.handle({ data: Buffer.from(JSON.stringify(data)), messageId, transport: 'pubsub-push' });
        return messageId;
      },
    });
    accountId = (await simulator.signUpAccount()).accountId!;
    await events.approveAccount(accountId, {
      source: 'gcp',
      eventKey: `approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    // The "fixed" deployment: same Firestore project and Procurement API, the full config/.
    fixed = await startApp({
      config: testConfig({
        GOOGLE_CLOUD_PROJECT: broken.projectId,
        MARKETPLACE_PROVIDER_ID: PROVIDER,
        PROCUREMENT_ROOT_URL: broken.fake.url,
        PROCUREMENT_STATIC_TOKEN: 'test-token',
        ADMIN_API_KEYS: `ops-bot:approver:${sha256Hex(approverKey)}`,
      }),
    });
  });
  afterAll(async () => {
    await fixed?.close();
    await broken?.close();
    rmSync(brokenDir, { recursive: true, force: true });
  });

  it('should list the invalid event and apply it once on replay, refusing a second replay', async () => {
    const { entitlementId, eventId } = await invalidPurchase();
    expect(await broken.store.getEntitlement(`gcp:${entitlementId}`)).toBeNull();
    expect(broken.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);

    const listed = await call('GET', '/admin/v1/events?outcome=invalid&source=gcp');
    expect(listed.status).toBe(200);
    const summary = listed.body.items.find((e: { id: string }) => e.id === eventId);
    expect(summary).toMatchObject({ outcome: 'invalid', eventType: 'ENTITLEMENT_CREATION_REQUESTED', attempts: 1 });
    expect(summary).not.toHaveProperty('raw');
    expect((await call('GET', `/admin/v1/events/${eventId}`)).body.raw).toContain(entitlementId);

    const replayed = await call('POST', `/admin/v1/events/${eventId}/replay`);
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({
      eventId,
      before: { outcome: 'invalid', attempts: 1 },
      result: { outcome: 'applied' },
      after: { outcome: 'applied', attempts: 2 },
    });
    // Replayed through the same path: the policy approved the (auto) plan, once.
    expect(broken.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
    const stored = await broken.store.getEntitlement(`gcp:${entitlementId}`);
    expect(stored).toMatchObject({ status: 'pending_approval', product: 'demo', plan: 'pro', version: 1 });

    const again = await call('POST', `/admin/v1/events/${eventId}/replay`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', details: { event: { outcome: 'applied', attempts: 2 } } });
    expect(broken.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
    expect((await broken.store.getEntitlement(`gcp:${entitlementId}`))?.version).toBe(1);

    const audit = await broken.db.collection('audit').where('target.id', '==', eventId).get();
    expect(audit.docs.map((d) => [d.get('actor.id'), d.get('outcome')]).sort()).toEqual([
      ['ops-bot', 'done'],
      ['ops-bot', 'refused'],
    ]);
  });

  it('should apply an event once when two replays race', async () => {
    const { entitlementId, eventId } = await invalidPurchase();
    const results = await Promise.all([
      call('POST', `/admin/v1/events/${eventId}/replay`),
      call('POST', `/admin/v1/events/${eventId}/replay`),
    ]);
    const applied = results.filter((r) => r.status === 200 && r.body.result.outcome === 'applied');
    expect(applied).toHaveLength(1);
    for (const other of results.filter((r) => !applied.includes(r))) {
      // The loser finds the event applied (409 / duplicate) or the approve claim still held by the
      // winner (503, retry later: never a second call); a retry after the race is a clean refusal.
      expect([409, 503].includes(other.status) || other.body.result?.outcome === 'duplicate').toBe(true);
    }
    const retry = await call('POST', `/admin/v1/events/${eventId}/replay`);
    expect(retry.status === 409 || retry.body.result?.outcome === 'duplicate').toBe(true);
    expect(broken.fake.countCalls('entitlements.approve', entitlementId)).toBe(1);
    expect((await broken.store.getEntitlement(`gcp:${entitlementId}`))?.version).toBe(1);
  });

  it('should refuse to replay a webhook event, saying so', async () => {
    await fixed.app.get(Ledger).record(
      {
        source: 'purchasely',
        eventKey: 'evt-replay-1',
        eventType: 'ACTIVATE',
        transport: { kind: 'webhook' },
        raw: '{"event_name":"ACTIVATE"}',
      },
      'invalid',
      'unknown purchasely product "GOLD": add it to config/products.yaml',
    );
    const response = await call('POST', '/admin/v1/events/purchasely:evt-replay-1/replay');
    expect(response.status).toBe(409);
    expect(response.body.message).toBe('Replay of purchasely events is not supported yet');
  });

  it('should answer 404 for an unknown event', async () => {
    expect((await call('POST', '/admin/v1/events/gcp:no-such-event/replay')).status).toBe(404);
  });
});
