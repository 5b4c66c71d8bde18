import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import type { EntitlementRecord } from '../../src/entitlements/ledger-plan.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { refusalRecords, startApp, testConfig, TestClock, emailKey, type RunningApp } from '../support/app.js';

type Payload = Record<string, unknown>;
const fixture = (name: string): Payload =>
  JSON.parse(readFileSync(new URL(`../fixtures/easycart/${name}.json`, import.meta.url), 'utf8')) as Payload;

const OLD_KEY = 'easycart-old-signing-key-0123';
const NEW_KEY = 'easycart-new-signing-key-4567';
const URL_TOKEN = 'easycart-url-token-abcdefghijklmnop';
/** The product of the recorded payloads, mapped (with its plans) for these tests only. */
const PRODUCT = 'Ahoy! Społeczność UI & UX';
const NOW = new Date('2026-11-20T12:00:00Z');

function withAhoy(config: AppConfig): AppConfig {
  const sources = config.products.sources;
  return {
    ...config,
    products: {
      sources: {
        ...sources,
        easycart: {
          ...sources.easycart,
          [PRODUCT]: { product: 'community', plans: { 'ux-49-monthly': 'monthly', 'ux-99-yearly': 'yearly' } },
        },
      },
    },
  };
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function send(app: RunningApp, body: string, headers: Record<string, string> = {}, path = ''): Promise<Reply> {
  const res = await fetch(`${app.url}/webhooks/easycart${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const signedWith = (key: string, signed: string) => ({ 'x-webhook-signature': hmacSha256Hex(key, signed) });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A fresh order of the recorded payload, so tests never share an entitlement. */
function order(name: string, overrides: Payload = {}): Payload {
  return { ...fixture(name), order_uuid: randomUUID(), ...overrides };
}

describe('EasyCart webhooks over HTTP (signing keys configured)', () => {
  let app: RunningApp;
  let store: EntitlementStore;
  let db: Firestore;

  beforeAll(async () => {
    const config = withAhoy(testConfig({ EASYCART_SIGNING_KEYS: `${OLD_KEY},${NEW_KEY}` }));
    app = await startApp({ config, clock: new TestClock(NOW) });
    store = app.app.get(EntitlementStore);
    db = app.app.get(Firestore);
  });
  afterAll(() => app.close());

  /** Signs the exact bytes sent with the new key, like EasyCart with a compact body. */
  const deliver = (payload: Payload) => {
    const body = JSON.stringify(payload);
    return send(app, body, signedWith(NEW_KEY, body));
  };

  async function entitlementsOfOrder(orderUuid: unknown): Promise<EntitlementRecord[]> {
    const snap = await db.collection('entitlements').where('details.easycart.orderUuid', '==', orderUuid).get();
    return snap.docs.map((d) => fromFirestore<EntitlementRecord>(d.data()));
  }

  async function onlyEntitlementOf(orderUuid: unknown): Promise<EntitlementRecord> {
    const found = await entitlementsOfOrder(orderUuid);
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  it('should grant product_assigned to the assignee and record the event as applied', async () => {
    const payload = order('product_assigned');
    const reply = await deliver(payload);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ outcome: 'applied', results: [{ outcome: 'applied' }] });

    const e = await onlyEntitlementOf(payload.order_uuid);
    expect(e).toMatchObject({
      source: 'easycart',
      status: 'active',
      active: true,
      product: 'community',
      plan: 'monthly',
      providerProduct: PRODUCT,
      providerPlan: 'ux-49-monthly',
      subject: { key: emailKey('jan@kowalski.pl') },
      validUntil: null,
      version: 1,
    });
    expect(e.id).toBe((reply.body.results as { entitlementId: string }[])[0]!.entitlementId);
    const access = await store.getAccess(emailKey('jan@kowalski.pl'));
    expect(access?.entitlements[e.id]).toMatchObject({ source: 'easycart', product: 'community', plan: 'monthly' });
    expect(await store.getEventOutcome('easycart', reply.body.eventKey as string)).toBe('applied');
  });

  it('should put a gift purchase under the assignee, not the buyer', async () => {
    const buyer = `buyer-${randomUUID()}@example.com`;
    const friend = `friend-${randomUUID()}@example.com`;
    const payload = order('product_assigned', {
      customer_email: buyer,
      order_delegated: true,
      assignee: { email: friend, name: 'A Friend' },
    });
    expect((await deliver(payload)).body.outcome).toBe('applied');

    const e = await onlyEntitlementOf(payload.order_uuid);
    expect(e.subject?.key).toBe(emailKey(friend));
    expect(e.details).toMatchObject({ easycart: { buyerEmail: buyer } });
    expect(Object.keys((await store.getAccess(emailKey(friend)))?.entitlements ?? {})).toEqual([e.id]);
    expect(await store.getAccess(emailKey(buyer))).toBeNull();
  });

  it('should change the plan, record the coming end date, then expire the same entitlement', async () => {
    const orderUuid = randomUUID();
    const step = async (name: string) => (await deliver(order(name, { order_uuid: orderUuid }))).body.outcome;
    expect(await step('product_assigned')).toBe('applied');

    expect(await step('subscription_plan_changed')).toBe('applied');
    expect(await onlyEntitlementOf(orderUuid)).toMatchObject({
      plan: 'yearly',
      providerPlan: 'ux-99-yearly',
      active: true,
    });

    expect(await step('product_access_expiring')).toBe('applied');
    const expiring = await onlyEntitlementOf(orderUuid);
    expect(expiring).toMatchObject({ status: 'active', active: true, validUntil: new Date('2026-12-02T09:00:00Z') });

    expect(await step('product_access_expired')).toBe('applied');
    const expired = await onlyEntitlementOf(orderUuid);
    expect(expired).toMatchObject({ status: 'expired', active: false, version: 4 });
    expect((await store.getAccess(emailKey('jan@kowalski.pl')))?.entitlements[expired.id]).toBeUndefined();
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should keep access until the period end on cancellation, in both spellings, and lift it on renewal', async () => {
    for (const spelling of ['subscription_canceled', 'subscription_cancelled']) {
      const orderUuid = randomUUID();
      await deliver(order('product_assigned', { order_uuid: orderUuid }));
      const cancel = await deliver(
        order('product_assigned', { order_uuid: orderUuid, event: spelling, timestamp: 1763000000 }),
      );
      expect(cancel.body.outcome).toBe('applied');
      expect(await onlyEntitlementOf(orderUuid)).toMatchObject({
        status: 'pending_cancellation',
        active: true,
        periodEnd: new Date('2026-12-02T09:00:00Z'),
        validUntil: new Date('2026-12-02T09:00:00Z'),
      });

      const renew = order('product_assigned', {
        order_uuid: orderUuid,
        event: 'subscription_renewed',
        timestamp: 1763500000,
      });
      expect((await deliver(renew)).body.outcome).toBe('applied');
      expect(await onlyEntitlementOf(orderUuid)).toMatchObject({
        status: 'active',
        active: true,
        periodEnd: null,
        validUntil: null,
      });
    }
  });

  it('should answer a redelivery as duplicate and change nothing', async () => {
    const payload = order('product_assigned');
    expect((await deliver(payload)).body.outcome).toBe('applied');
    const again = await deliver(payload);
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('duplicate');
    expect((await onlyEntitlementOf(payload.order_uuid)).version).toBe(1);
  });

  it('should skip an older event arriving after a newer one as stale', async () => {
    const orderUuid = randomUUID();
    expect((await deliver(order('product_access_expired', { order_uuid: orderUuid }))).body.outcome).toBe('applied');
    const late = await deliver(order('product_assigned', { order_uuid: orderUuid }));
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ outcome: 'stale', results: [{ outcome: 'stale' }] });
    expect(await onlyEntitlementOf(orderUuid)).toMatchObject({ status: 'expired', active: false, version: 1 });
    expect(await store.getEventOutcome('easycart', late.body.eventKey as string)).toBe('stale');
  });

  it('should verify a signature over the raw bytes and one over the compact re-serialization', async () => {
    // Pretty-printed with escaped non-ASCII: the bytes on the wire differ from JSON.stringify(parsed).
    const escaped = (p: Payload) =>
      JSON.stringify(p, null, 2).replace(
        /[\u0080-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );

    const rawSigned = order('product_assigned');
    const rawBody = escaped(rawSigned);
    expect(rawBody).not.toBe(JSON.stringify(rawSigned));
    expect((await send(app, rawBody, signedWith(NEW_KEY, rawBody))).body.outcome).toBe('applied');

    const compactSigned = order('product_assigned');
    const reply = await send(app, escaped(compactSigned), signedWith(NEW_KEY, JSON.stringify(compactSigned)));
    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(compactSigned.order_uuid)).toMatchObject({ product: 'community', active: true });
  });

  it('should accept either key during rotation and refuse any other with 401, storing nothing but the refusal', async () => {
    const signedOld = order('product_assigned');
    const body = JSON.stringify(signedOld);
    expect((await send(app, body, signedWith(OLD_KEY, body))).body.outcome).toBe('applied');

    const forged = order('product_assigned');
    const forgedBody = JSON.stringify(forged);
    const refused = await send(app, forgedBody, signedWith('some-other-key-0123456789', forgedBody));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'unauthenticated' });
    expect(await entitlementsOfOrder(forged.order_uuid)).toEqual([]);
    expect(await store.getEventOutcome('easycart', `unverified:${sha256(forgedBody)}`)).toBeNull();
    const [record] = await refusalRecords(app.app, 'easycart', 'bad_signature');
    expect(record?.refusals.samples.at(-1)).toMatchObject({
      sha256: sha256(forgedBody),
      bytes: Buffer.byteLength(forgedBody),
    });

    const unsigned = order('product_assigned');
    expect((await send(app, JSON.stringify(unsigned))).status).toBe(401);
    expect(await entitlementsOfOrder(unsigned.order_uuid)).toEqual([]);
  });

  it('should refuse a signed delivery to a token URL when the token is wrong', async () => {
    const payload = order('product_assigned');
    const body = JSON.stringify(payload);
    const reply = await send(app, body, signedWith(NEW_KEY, body), '/not-the-token-0123456789abcdef');
    expect(reply.status).toBe(401);
    expect(await entitlementsOfOrder(payload.order_uuid)).toEqual([]);
  });

  it('should answer a payload missing a required field with a 400 naming it, recorded, nothing applied', async () => {
    const { assignee: _, ...payload } = order('product_assigned');
    const body = JSON.stringify(payload);
    const reply = await send(app, body, signedWith(NEW_KEY, body));
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'validation_failed' });
    expect(reply.body.message).toContain('assignee.email: required');
    expect(await entitlementsOfOrder(payload.order_uuid)).toEqual([]);
    expect(await store.getEventOutcome('easycart', `malformed:${sha256(body)}`)).toBe('invalid');
  });

  it('should answer over-long ids and e-mails with a 400 naming the field, recorded, never a 500', async () => {
    const long = 'x'.repeat(1_500);
    for (const [overrides, field] of [
      [{ order_uuid: long }, 'order_uuid: at most 100 characters'],
      [{ assignee: { email: `${long}@example.com` } }, 'assignee.email: at most 254 characters'],
      [{ product_name: long }, 'product_name: at most 200 characters'],
      [{ subscription_stripe_id: `sub_${long}` }, 'subscription_stripe_id: at most 255 characters'],
    ] as const) {
      const payload = order('product_assigned', overrides);
      const body = JSON.stringify(payload);
      const reply = await send(app, body, signedWith(NEW_KEY, body));
      expect({ field, status: reply.status }).toEqual({ field, status: 400 });
      expect(reply.body.message).toContain(field);
      expect(await store.getEventOutcome('easycart', `malformed:${sha256(body)}`)).toBe('invalid');
      // The same delivery again gets the same answer (EasyCart's retries), never a 500.
      expect((await send(app, body, signedWith(NEW_KEY, body))).status).toBe(400);
    }
  });

  it('should answer a signed body that is not JSON with a 400, recorded', async () => {
    const body = 'event=product_assigned';
    const reply = await send(app, body, { ...signedWith(NEW_KEY, body), 'content-type': 'text/plain' });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain('(body): must be a JSON object');
    expect(await store.getEventOutcome('easycart', `malformed:${sha256(body)}`)).toBe('invalid');
  });

  it('should record an unknown event as ignored and answer 200', async () => {
    const reply = await deliver(order('product_assigned', { event: 'loyalty_points_added' }));
    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('ignored');
    expect(await store.getEventOutcome('easycart', reply.body.eventKey as string)).toBe('ignored');
  });

  it('should record a valid event for an unmapped product as invalid and say so in a 200', async () => {
    const payload = order('product_assigned', { product_name: 'Not in products.yaml' });
    const reply = await deliver(payload);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      outcome: 'invalid',
      results: [{ outcome: 'invalid', reason: expect.stringContaining('config/products.yaml') }],
    });
    expect(await entitlementsOfOrder(payload.order_uuid)).toEqual([]);
    expect(await store.getEventOutcome('easycart', reply.body.eventKey as string)).toBe('invalid');
  });

  it('should map a product_id through the shipped config/products.yaml', async () => {
    const payload = order('product_assigned', { product_id: 'demo-course' });
    expect((await deliver(payload)).body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(payload.order_uuid)).toMatchObject({
      id: `easycart:${payload.order_uuid as string}:demo-course:${emailKey('jan@kowalski.pl').slice('emailh:'.length)}`,
      product: 'demo',
      providerProduct: 'demo-course',
    });
  });
});

describe('EasyCart webhooks over HTTP (URL token, no signing key)', () => {
  let app: RunningApp;
  let db: Firestore;

  beforeAll(async () => {
    app = await startApp({
      config: withAhoy(testConfig({ EASYCART_URL_TOKEN: URL_TOKEN })),
      clock: new TestClock(NOW),
    });
    db = app.app.get(Firestore);
  });
  afterAll(() => app.close());

  const countOrder = async (orderUuid: unknown) =>
    (await db.collection('entitlements').where('details.easycart.orderUuid', '==', orderUuid).get()).size;

  it('should accept a delivery to the secret URL', async () => {
    const payload = order('product_assigned');
    const reply = await send(app, JSON.stringify(payload), {}, `/${URL_TOKEN}`);
    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('applied');
    expect(await countOrder(payload.order_uuid)).toBe(1);
  });

  it('should refuse a wrong token and the plain URL with 401, storing nothing', async () => {
    const payload = order('product_assigned');
    expect((await send(app, JSON.stringify(payload), {}, `/${URL_TOKEN.slice(0, -1)}x`)).status).toBe(401);
    expect((await send(app, JSON.stringify(payload))).status).toBe(401);
    expect(await countOrder(payload.order_uuid)).toBe(0);
  });
});

describe('EasyCart webhooks over HTTP (not configured)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ config: withAhoy(testConfig()), clock: new TestClock(NOW) });
  });
  afterAll(() => app.close());

  it('should refuse every delivery, signed or not, when neither a key nor a token is configured', async () => {
    const body = JSON.stringify(order('product_assigned'));
    expect((await send(app, body)).status).toBe(404);
    expect((await send(app, body, signedWith(NEW_KEY, body))).status).toBe(404);
    expect((await send(app, body, {}, `/${URL_TOKEN}`)).status).toBe(404);
    const entitlements = await app.app.get(Firestore).collection('entitlements').get();
    expect(entitlements.size).toBe(0);
  });
});
