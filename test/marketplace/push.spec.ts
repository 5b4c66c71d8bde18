import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { createTestKey, startTestIssuer } from '../support/test-issuer.js';
import {
  accessOf,
  entitlementWhere,
  eventually,
  PRODUCT,
  PROVIDER,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';

const AUDIENCE = 'https://entitlements.example.run.app/marketplace/push';
const PUSH_SA = 'pubsub-push@acme-prod.iam.gserviceaccount.com';

describe('Marketplace push endpoint (Pub/Sub push with OIDC)', () => {
  let stack: MarketplaceStack;
  let issuer: Awaited<ReturnType<typeof startTestIssuer>>;
  let simulator: MarketplaceSimulator;

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'https://accounts.google.com',
      aud: AUDIENCE,
      email: PUSH_SA,
      email_verified: true,
      sub: '1234567890',
      iat: now,
      exp: now + 3600,
      ...overrides,
    };
  };

  const envelope = (data: object | string, messageId = randomUUID()) => ({
    message: {
      data: typeof data === 'string' ? data : Buffer.from(JSON.stringify(data)).toString('base64'),
      messageId,
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/acme/subscriptions/marketplace-push',
  });

  async function post(body: unknown, token?: string): Promise<Response> {
    return fetch(`${stack.app.url}/marketplace/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  }

  beforeAll(async () => {
    issuer = await startTestIssuer();
    stack = await startMarketplaceStack({
      pull: false,
      env: { PUSH_AUDIENCE: AUDIENCE, PUSH_SERVICE_ACCOUNT: PUSH_SA, GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl },
    });
    // Pub/Sub's role: every published message is pushed with a fresh Google-signed token; 2xx acks.
    simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        const response = await post(envelope(data), await issuer.sign(claims()));
        if (response.status !== 204) throw new Error(`push answered ${response.status}: ${await response.text()}`);
        return randomUUID();
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await issuer.close();
  });

  it('should run a whole lifecycle through push and leave no personal data after ACCOUNT_DELETED', async () => {
    const { accountId } = await simulator.signUpAccount();
    await stack.app.app.get(MarketplaceEvents).approveAccount(accountId!, {
      source: 'gcp',
      eventKey: `approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
    await simulator.activate(id);
    expect((await entitlementWhere(stack.store, id, (e) => e.active)).plan).toBe('pro');
    await simulator.changePlan(id, 'basic');
    await simulator.completePlanChange(id);
    await entitlementWhere(stack.store, id, (e) => e.plan === 'basic');
    await simulator.cancel(id, { atPeriodEnd: false });
    await entitlementWhere(stack.store, id, (e) => e.status === 'cancelled' && !e.active);

    await simulator.deleteAccount(accountId!);
    const erased = await entitlementWhere(stack.store, id, (e) => e.erasedAt !== null);
    expect(erased.subject).toBeNull();
    expect(await accessOf(stack.store, accountId!)).toBeNull();
    expect((await stack.db.collection('accounts').doc(accountId!).get()).exists).toBe(false);
    const history = await stack.db.collection('entitlements').doc(`gcp:${id}`).collection('history').get();
    expect(JSON.stringify(history.docs.map((d) => d.data()))).not.toContain(accountId!);
  });

  it('should refuse requests without a valid token and apply nothing', async () => {
    const { messages, entitlementId } = await new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async () => randomUUID(),
    }).buy({ product: PRODUCT, plan: 'pro' });
    const body = envelope(messages[messages.length - 1]!);
    const foreign = await createTestKey(issuer.currentKey.kid);
    const cases: [string, string | undefined, number][] = [
      ['no token', undefined, 401],
      ['wrong audience', await issuer.sign(claims({ aud: 'https://other.example' })), 401],
      ['wrong service account', await issuer.sign(claims({ email: 'intruder@evil.iam.gserviceaccount.com' })), 403],
      ['email not verified', await issuer.sign(claims({ email_verified: false })), 401],
      ['expired', await issuer.sign(claims({ iat: 1_700_000_000, exp: 1_700_003_600 })), 401],
      ['forged signature', await issuer.sign(claims(), { key: foreign }), 401],
      ['alg none', await issuer.sign(claims(), { alg: 'none' }), 401],
      ['wrong issuer', await issuer.sign(claims({ iss: 'https://evil.example' })), 401],
    ];
    for (const [name, token, status] of cases) {
      const response = await post(body, token);
      expect({ name, status: response.status }).toEqual({ name, status });
      expect(await response.json()).toMatchObject({ code: status === 403 ? 'forbidden' : 'unauthenticated' });
    }
    expect(await stack.store.getEntitlement(`gcp:${entitlementId}`)).toBeNull();
    expect(stack.fake.countCalls('entitlements.get', entitlementId)).toBe(0);
  });

  it('should ack and record a message whose data is not valid base64', async () => {
    const messageId = randomUUID();
    const response = await post(envelope('%%%not-base64%%%', messageId), await issuer.sign(claims()));
    expect(response.status).toBe(204);
    const doc = await eventually(async () => {
      const snap = await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get();
      return snap.exists ? snap : undefined;
    });
    expect(doc.get('outcome')).toBe('invalid');
    expect(doc.get('reason')).toContain('base64');
  });

  it('should ack (204) and record as invalid a message whose id can never name a resource', async () => {
    const messageId = randomUUID();
    const data = {
      eventId: 'e',
      eventType: 'ENTITLEMENT_CREATION_REQUESTED',
      providerId: PROVIDER,
      entitlement: { id: '..' },
    };
    const response = await post(envelope(data, messageId), await issuer.sign(claims()));
    expect(response.status).toBe(204);
    // An envelope that does not parse is recorded under the Pub/Sub message id.
    const doc = await stack.db.collection('events').doc(`gcp:pubsub:${messageId}`).get();
    expect(doc.get('outcome')).toBe('invalid');
    expect(doc.get('reason')).toContain('entitlement.id is not a Procurement resource id');
  });

  it('should answer 503 (nack) when the message cannot be handled now', async () => {
    const { messages } = await new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async () => randomUUID(),
    }).buy({
      product: PRODUCT,
      plan: 'pro',
    });
    stack.fake.failNext(10, { status: 500 });
    const response = await post(envelope(messages[messages.length - 1]!), await issuer.sign(claims()));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    stack.fake.failNext(0, { status: 500 });
    // The adapter says the call failed for good, once, after its retries (the alert counts it).
    expect(stack.logLines().filter((l) => l['message'] === 'procurement call failed')).toEqual([
      expect.objectContaining({ method: 'entitlements.get', kind: 'transient', httpStatus: 500, attempts: 4 }),
    ]);
  });
});
