import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { TEST_SUBJECT_KEY_SECRET } from '../../test/support/app.js';
import {
  activate,
  easyCartDelivery,
  getCourseCall,
  productAssigned,
  purchaseActive,
  purchaselyDelivery,
  startWebhookStack,
  type WebhookStack,
} from '../../test/support/webhook-senders.js';
import { createAccess, subjectKey, type Access } from '../src/index.js';

/**
 * The client reading what the real service wrote: purchases sent over real HTTP to the real
 * bootstrap() in each provider's wire format (Purchasely, GetCourse, EasyCart), the ledger on the
 * Firestore emulator, the expiry sweep run by the service's own job; read back through a Firestore
 * instance of the client's own, as the product backend has.
 */
const NOW = new Date('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const PURCHASELY_GRACE = 24 * 3_600_000; // config/policy.yaml lifecycle.graceHours.purchasely

/** The product backend's clock, apart from the service's. */
class BackendClock {
  constructor(public ms: number) {}
  now = () => new Date(this.ms);
}

describe('client on documents the service wrote (webhooks)', () => {
  let stack: WebhookStack;
  let db: Firestore;
  let store: EntitlementStore;
  let access: Access;
  const clock = new BackendClock(NOW.getTime());

  beforeAll(async () => {
    stack = await startWebhookStack(NOW);
    db = new Firestore({ projectId: stack.app.config.env.GOOGLE_CLOUD_PROJECT });
    store = stack.app.app.get(EntitlementStore);
    access = createAccess(db, { clock });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.close();
  });
  const fresh = () => randomUUID().slice(0, 8);

  it("should answer a Purchasely purchase, keep it through the source's grace and end it at accessUntil by its own clock, the sweep's instant", async () => {
    const [sub, user] = [`subs-${fresh()}`, `u-${fresh()}`];
    const bought = await purchaselyDelivery(stack.app, stack.clock, activate(NOW, sub, user));
    expect(bought.body.outcome).toBe('applied');
    const key = subjectKey.forUser(user);

    const now = await access.current(key);
    expect(now.has('demo')).toBe(true);
    expect(now.has('demo', 'monthly')).toBe(true);
    expect(now.has('demo', 'yearly')).toBe(false);
    expect(await access.has(key, 'demo', ['yearly', 'monthly'])).toBe(true);
    const [entry] = now.entitlements;
    const validUntil = new Date(NOW.getTime() + 30 * DAY);
    const accessUntil = new Date(validUntil.getTime() + PURCHASELY_GRACE);
    expect(entry).toMatchObject({ entitlementId: `purchasely:${sub}`, source: 'purchasely', validUntil, accessUntil });
    expect(now.nextChangeAt).toEqual(accessUntil);

    // Past validUntil, inside Purchasely's grace: the renewal may still come; the service keeps access, so does the client.
    const service = stack.app.app.get(LifecycleJobs);
    stack.clock.set(new Date(validUntil.getTime() + 1));
    expect((await service.expire()).expired).toBe(0);
    clock.ms = validUntil.getTime() + 1;
    expect(await access.has(key, 'demo')).toBe(true);

    // Between two sweeps: access ended, the service has not rewritten the document yet.
    stack.clock.set(new Date(accessUntil.getTime() - 1));
    expect((await service.expire()).expired).toBe(0);
    const raw = await db.collection('access').doc(key).get();
    expect(Object.values(raw.get('entitlements') as object)).toHaveLength(1);
    clock.ms = accessUntil.getTime();
    expect(await access.has(key, 'demo')).toBe(false);
    expect((await access.current(key)).version).toBe(raw.get('version'));
    expect((await access.current(key, { at: new Date(accessUntil.getTime() - 1) })).has('demo')).toBe(true);

    // The sweep ends it in the document too.
    stack.clock.set(new Date(validUntil.getTime() + PURCHASELY_GRACE));
    expect((await service.expire()).expired).toBeGreaterThanOrEqual(1);
    clock.ms = NOW.getTime();
    const after = await access.current(key);
    expect(after.has('demo')).toBe(false);
    expect(after.version).toBe((raw.get('version') as number) + 1);
    stack.clock.set(NOW);
  });

  it('should find a user whose id the service stores under a hashed document id', async () => {
    const user = `tenant/${fresh()}%`;
    const bought = await purchaselyDelivery(stack.app, stack.clock, activate(NOW, `subs-${fresh()}`, user));
    expect(bought.body.outcome).toBe('applied');
    const key = subjectKey.forUser(user);
    expect(key).toBe(`user:${user.replace('/', '%2F').replace(/%$/, '%25')}`);
    // The raw snippet's `doc(subjectKey)` misses it: the service hashed the id.
    expect((await db.collection('access').doc(key).get()).exists).toBe(false);
    expect(await access.has(key, 'demo')).toBe(true);
  });

  it('should compute the e-mail key of GetCourse and EasyCart buyers: one person, both purchases', async () => {
    const address = `student-${fresh()}@example.ru`;
    const purchaseId = String(Math.floor(Math.random() * 1e9));
    expect((await getCourseCall(stack.app, purchaseActive(purchaseId, address))).body.outcome).toBe('applied');
    const assigned = await easyCartDelivery(stack.app, productAssigned(` ${address.toUpperCase()} `));
    expect(assigned.body.outcome).toBe('applied');

    const key = subjectKey.forEmail(address, { secret: TEST_SUBJECT_KEY_SECRET });
    const now = await access.current(key);
    expect(now.entitlements.map((e) => e.source).sort()).toEqual(['easycart', 'getcourse']);
    for (const e of now.entitlements) {
      // The id the entry carries is the entitlement's (the map key is its document id).
      expect((await store.getEntitlement(e.entitlementId))?.subject?.key).toBe(key);
    }
    expect(now.products.get('demo')?.entitlements).toHaveLength(2);
    // GetCourse's finish_at 2026-12-02 10:00 Moscow time.
    expect(now.entitlements.find((e) => e.source === 'getcourse')?.validUntil).toEqual(
      new Date('2026-12-02T07:00:00Z'),
    );
  });

  it('should answer from its cache within the TTL and see a revocation after it', async () => {
    const cached = createAccess(db, { clock, cacheTtlMs: 30_000 });
    const [sub, user] = [`subs-${fresh()}`, `u-${fresh()}`];
    await purchaselyDelivery(stack.app, stack.clock, activate(NOW, sub, user));
    const key = subjectKey.forUser(user);
    expect(await cached.has(key, 'demo')).toBe(true);

    const later = new Date(NOW.getTime() + 60_000);
    stack.clock.set(later);
    const revoked = await purchaselyDelivery(
      stack.app,
      stack.clock,
      activate(later, sub, user, { event_name: 'DEACTIVATE', subscription_status: 'UNPAID' }),
    );
    expect(revoked.body.outcome).toBe('applied');
    stack.clock.set(NOW);
    expect(await access.has(key, 'demo')).toBe(false); // uncached
    clock.ms = NOW.getTime() + 29_999;
    expect(await cached.has(key, 'demo')).toBe(true); // within the TTL: the document as read
    clock.ms = NOW.getTime() + 30_000;
    expect(await cached.has(key, 'demo')).toBe(false);
    clock.ms = NOW.getTime();
  });

  it('should answer no document as no access', async () => {
    const none = await access.current(subjectKey.forGcpAccount(`nobody-${fresh()}`));
    expect(none).toMatchObject({ version: 0, updatedAt: null, entitlements: [], nextChangeAt: null });
  });
});
