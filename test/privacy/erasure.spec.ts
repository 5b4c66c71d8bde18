/* eslint-disable @typescript-eslint/no-explicit-any -- Firestore documents and JSON under test */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore, type DocumentReference } from '@google-cloud/firestore';
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import { RefusalRecorder } from '../../src/webhooks/common/refusal-recorder.js';
import { emailKey, memoryLogger, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';
import { accessInvariantViolations } from '../support/invariants.js';

/**
 * After an erasure request, no field and no id anywhere (entitlements and their history, access,
 * outbox, the event ledger, refusal samples, audit) and no log line holds the person's e-mail, in any
 * case or encoding, while the service went through every path that sees it: grants by EasyCart and
 * GetCourse, a gift the person bought for someone else, ignored, malformed and refused deliveries.
 */
const KEY = 'easycart-signing-key-0001';
const TOKEN = 'getcourse-path-token-0123456789abcdef';
const APPROVER_KEY = `ek_${'a'.repeat(43)}`;
const NOW = new Date('2026-11-20T12:00:00Z');
const EMAIL = 'Jane.Doe@Example.com';
const FRIEND = 'friend@example.org';
/** Every form the e-mail could be written in. */
const TRACES = [/jane\.doe@example\.com/i, /jane\.doe%40example\.com/i, /jane\.doe%2540/i];

/** Every document of the database, with its path, subcollections included. */
async function everyDocument(db: Firestore): Promise<{ path: string; data: unknown }[]> {
  const out: { path: string; data: unknown }[] = [];
  const walk = async (parent: { listCollections(): Promise<{ listDocuments(): Promise<DocumentReference[]> }[]> }) => {
    for (const collection of await parent.listCollections()) {
      for (const ref of await collection.listDocuments()) {
        const snap = await ref.get();
        out.push({ path: ref.path, data: snap.exists ? snap.data() : null });
        await walk(ref);
      }
    }
  };
  await walk(db);
  return out;
}

describe('erasure request: no trace of the e-mail anywhere', () => {
  const clock = new TestClock(NOW);
  const logs = memoryLogger('debug');
  let running: RunningApp;
  let db: Firestore;
  const order = randomUUID();
  const gift = randomUUID();

  beforeAll(async () => {
    running = await startApp({
      clock,
      logger: logs.logger,
      config: testConfig({
        LOG_LEVEL: 'debug',
        EASYCART_SIGNING_KEYS: KEY,
        GETCOURSE_PATH_TOKEN: TOKEN,
        ADMIN_API_KEYS: `privacy-desk:approver:${sha256Hex(APPROVER_KEY)}`,
      }),
    });
    db = running.app.get(Firestore);
  });
  afterAll(() => running.close());

  const easycart = async (payload: Record<string, unknown>, signed = true) => {
    const body = JSON.stringify(payload);
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(signed ? { 'x-webhook-signature': hmacSha256Hex(KEY, body) } : {}),
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const assigned = (orderUuid: string, assignee: string, buyer: string, timestamp = 1763640000) => ({
    event: 'product_assigned',
    timestamp,
    order_uuid: orderUuid,
    product_name: 'demo-course',
    customer_email: buyer,
    customer_name: 'Jane Doe',
    assignee: { email: assignee, name: 'Some Name' },
  });
  const getcourse = async (fields: Record<string, string>) => {
    const response = await fetch(`${running.url}/webhooks/getcourse/${TOKEN}?${new URLSearchParams(fields)}`);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const erase = async (body: Record<string, unknown>) => {
    const response = await fetch(`${running.url}/admin/v1/erasures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': APPROVER_KEY },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const traces = (text: string) => TRACES.filter((t) => t.test(text));

  it('should leave the e-mail in no document, id or log line once erased', async () => {
    // Everything that reaches the ledger or the refusal counters with the e-mail in it.
    expect((await easycart(assigned(order, EMAIL, EMAIL))).body.outcome).toBe('applied');
    expect((await easycart(assigned(gift, FRIEND, EMAIL))).body.outcome).toBe('applied');
    expect(
      (await easycart({ event: 'subscription_created', customer_email: EMAIL, order_uuid: order })).body.outcome,
    ).toBe('ignored');
    expect((await easycart({ event: 'product_assigned', order_uuid: order, assignee: { email: EMAIL } })).status).toBe(
      400,
    );
    expect((await easycart(assigned(order, EMAIL, EMAIL), false)).status).toBe(401);
    const purchase = {
      event: 'purchase_active',
      purchase_id: '48213377',
      email: EMAIL.toUpperCase(),
      product: 'demo-course',
      start_at: '2026-11-02 10:00:00',
      finish_at: '2026-12-02 10:00:00',
    };
    expect((await getcourse(purchase)).body.outcome).toBe('applied');
    expect((await getcourse({ ...purchase, finish_at: '2027-01-02 10:00:00' })).body.outcome).toBe('applied');
    await running.app.get(RefusalRecorder).flush();

    const key = emailKey(EMAIL);
    const store = running.app.get(EntitlementStore);
    expect(Object.keys((await store.getAccess(key))?.entitlements ?? {})).toHaveLength(2);
    // Before the erasure, ids and keys already hold only the keyed digest; only payloads and subjects hold the address.
    const before = await everyDocument(db);
    expect(before.flatMap((d) => traces(d.path))).toEqual([]);
    expect(before.some((d) => traces(JSON.stringify(d.data)).length > 0)).toBe(true);

    const erased = await erase({ email: ` ${EMAIL.toLowerCase()} `.trim(), reason: `ticket 4711 from ${EMAIL}` });
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({
      subjectKey: key,
      buyerReferencesRemoved: 1,
      accessDeleted: false,
      auditId: expect.any(String),
    });
    expect(erased.body.entitlements.map((e: { outcome: string }) => e.outcome)).toEqual(['applied', 'applied']);
    expect(erased.body.eventsScrubbed).toBeGreaterThanOrEqual(5);

    // A late redelivery of an erased grant is ignored, and keeps nothing of the person either.
    expect((await easycart(assigned(order, EMAIL, EMAIL, 1763640001))).body.outcome).toBe('ignored');

    const after = await everyDocument(db);
    const found = after.flatMap((d) =>
      [...traces(d.path), ...traces(JSON.stringify(d.data))].map((t) => `${d.path}: ${t}`),
    );
    expect(found).toEqual([]);
    const lines = JSON.stringify(logs.lines());
    expect(traces(lines)).toEqual([]);
    expect(lines).toContain('entitlement change');

    // Nobody else lost anything: the friend keeps the gift, without the buyer's address.
    const friendAccess = await store.getAccess(emailKey(FRIEND));
    const [giftEntry] = Object.values(friendAccess?.entitlements ?? {});
    const giftEntitlement = await store.getEntitlement(giftEntry!.entitlementId);
    expect(giftEntitlement).toMatchObject({ active: true, subject: { email: FRIEND } });
    expect(giftEntitlement?.details).toMatchObject({ easycart: { buyerEmail: null, buyerSubjectKey: null } });
    expect(await store.getAccess(key)).toBeNull();
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should be idempotent, and refuse a body naming nobody or two', async () => {
    const again = await erase({ subjectKey: emailKey(EMAIL), reason: 'repeat' });
    expect(again).toMatchObject({ status: 200, body: { entitlements: [], eventsScrubbed: 0 } });
    expect((await erase({ reason: 'nobody' })).status).toBe(400);
    expect((await erase({ email: EMAIL, subjectKey: 'user:1', reason: 'two' })).status).toBe(400);
  });
});
