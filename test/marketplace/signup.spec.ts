import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { TransientError } from '../../src/common/errors/app-error.js';
import { ConfigError, loadConfig } from '../../src/config/app-config.js';
import { Clock } from '../../src/entitlements/clock.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import type { AccountRecord } from '../../src/marketplace/marketplace-store.js';
import {
  GOOGLE_SIGNUP_ISSUER,
  LINK_TOKEN_PARAM,
  SIGNUP_TOKEN_FIELD,
} from '../../src/marketplace/signup/signup.settings.js';
import { startFakeProcurement, type FakeProcurement } from '../../tools/fake-procurement/server.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { memoryLogger, startApp, testConfig, type RunningApp } from '../support/app.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { accessOf, entitlementWhere, PRODUCT, PROVIDER } from '../support/marketplace.js';
import { createTestKey, startTestIssuer, type TestIssuer, type TestKey } from '../support/test-issuer.js';

/** Google puts the product's domain (the listing's service name) in `aud`. */
const AUDIENCE = PRODUCT;
const REDIRECT = 'https://app.example.com/marketplace/welcome?from=gcp';
const LINK_SECRET = 'test-link-secret-0123456789abcdef-0123456789';
const API_KEY = 'test-link-api-key-0123456789abcdef-0123456789';
const LINK_AUDIENCE = 'https://entitlements.example.run.app/marketplace/link';
const LINK_SA = 'product-backend@acme-prod.iam.gserviceaccount.com';

/** Real time plus an offset, so a test can step past the link token's expiry. */
class OffsetClock extends Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

interface SignupStack {
  fake: FakeProcurement;
  app: RunningApp;
  simulator: MarketplaceSimulator;
  store: EntitlementStore;
  db: Firestore;
  clock: OffsetClock;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * The service (real bootstrap, Firestore emulator) against the fake Procurement API, with the test issuer as
 * Google's keys: its x509 URL for sign-up tokens, its JWKS for the product backend's ID tokens. Every message the
 * simulator publishes is handed to the service as a push delivery.
 */
async function startSignupStack(issuer: TestIssuer, options: { configDir?: string } = {}): Promise<SignupStack> {
  const fake = await startFakeProcurement({ providerIds: [PROVIDER] });
  const clock = new OffsetClock();
  const { logger, lines } = memoryLogger('info');
  const config = testConfig({
    MARKETPLACE_PROVIDER_ID: PROVIDER,
    PROCUREMENT_ROOT_URL: fake.url,
    PROCUREMENT_STATIC_TOKEN: 'test-token',
    GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl,
    MARKETPLACE_SIGNUP_AUDIENCE: AUDIENCE,
    MARKETPLACE_SIGNUP_KEYS_URL: issuer.x509Url,
    MARKETPLACE_SIGNUP_REDIRECT_URL: REDIRECT,
    MARKETPLACE_LINK_SECRET: LINK_SECRET,
    LINK_API_KEYS: API_KEY,
    LINK_AUDIENCE,
    LINK_ALLOWED_CALLERS: LINK_SA,
    ...(options.configDir ? { CONFIG_DIR: options.configDir } : {}),
  });
  const app = await startApp({ config, clock, logger });
  const events = app.app.get(MarketplaceEvents);
  const deliver = async (data: object) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await events.handle({
          data: Buffer.from(JSON.stringify(data)),
          messageId: randomUUID(),
          transport: 'pubsub-push',
        });
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= 5) throw error;
      }
    }
  };
  const simulator = new MarketplaceSimulator({
    procurementUrl: fake.url,
    providerId: PROVIDER,
    publish: async (data) => {
      await deliver(data);
      return randomUUID();
    },
  });
  fake.setPublisher(deliver);
  return {
    fake,
    app,
    simulator,
    store: app.app.get(EntitlementStore),
    db: app.app.get(Firestore),
    clock,
    logLines: lines,
    async close() {
      await app.close();
      await fake.close();
    },
  };
}

/** Claims as Google sends them: exp = iat + 5 minutes; a `jti`, so two tokens of one second differ. */
function googleClaims(accountId: string | undefined, overrides: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    jti: randomUUID(),
    iss: GOOGLE_SIGNUP_ISSUER,
    aud: AUDIENCE,
    sub: accountId,
    iat,
    exp: iat + 300,
    google: { user_identity: `gaia-${accountId}`, roles: ['account_admin'] },
    ...overrides,
  };
}

function postSignup(stack: SignupStack, token: string | undefined): Promise<Response> {
  const form = new URLSearchParams(token === undefined ? {} : { [SIGNUP_TOKEN_FIELD]: token });
  return fetch(`${stack.app.url}/marketplace/signup`, { method: 'POST', body: form, redirect: 'manual' });
}

function postLink(stack: SignupStack, body: object, credential?: string): Promise<Response> {
  return fetch(`${stack.app.url}/marketplace/link`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Signs up through the endpoint and returns the link token from the redirect. */
async function signUp(stack: SignupStack, issuer: TestIssuer, accountId: string, google?: object): Promise<string> {
  const response = await postSignup(stack, await issuer.sign(googleClaims(accountId, google ? { google } : {})));
  expect(response.status).toBe(303);
  const linkToken = new URL(response.headers.get('location') ?? '').searchParams.get(LINK_TOKEN_PARAM);
  expect(linkToken).toBeTruthy();
  return linkToken!;
}

async function accountDoc(stack: SignupStack, accountId: string): Promise<AccountRecord | null> {
  const snap = await stack.db.collection('accounts').doc(accountId).get();
  return snap.exists ? fromFirestore<AccountRecord>(snap.data()) : null;
}

async function count(stack: SignupStack, collection: string): Promise<number> {
  return (await stack.db.collection(collection).count().get()).data().count;
}

describe('Marketplace sign-up and link (POST /marketplace/signup, POST /marketplace/link)', () => {
  let issuer: TestIssuer;
  let stack: SignupStack;
  let foreign: TestKey;

  beforeAll(async () => {
    [issuer, foreign] = await Promise.all([startTestIssuer(), createTestKey()]);
    stack = await startSignupStack(issuer);
  });
  afterAll(async () => {
    await stack?.close();
    await issuer?.close();
  });

  const idToken = (claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return issuer.sign({
      iss: 'https://accounts.google.com',
      aud: LINK_AUDIENCE,
      email: LINK_SA,
      email_verified: true,
      sub: '1122334455',
      iat: now,
      exp: now + 3600,
      ...claims,
    });
  };

  it('should record a verified token, redirect with a link token, then on link approve the account and its parked entitlement once and list it for the user', async () => {
    const { simulator, fake, store } = stack;
    const { accountId, entitlementId, entitlement } = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    const parked = await entitlementWhere(store, id, (e) => e.status === 'pending_approval');
    expect(parked.details).toMatchObject({ marketplace: { approval: 'awaiting_account' } });

    const google = { user_identity: 'gaia-4711', roles: ['account_admin'], orders: [{ id: entitlement!.orderId }] };
    const token = await issuer.sign(googleClaims(accountId, { google }));
    const response = await postSignup(stack, token);
    expect(response.status).toBe(303);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example.com/marketplace/welcome');
    expect(location.searchParams.get('from')).toBe('gcp');
    const linkToken = location.searchParams.get(LINK_TOKEN_PARAM)!;
    expect(linkToken).toMatch(/^[\w-]+\.[\w-]+$/);

    const recorded = await accountDoc(stack, accountId!);
    expect(recorded).toMatchObject({
      accountId,
      provider: PROVIDER,
      signup: { state: 'PENDING' },
      google: {
        user_identity: 'gaia-4711',
        roles: ['account_admin'],
        orders: [entitlement!.orderId],
        raw: JSON.stringify(google),
      },
    });
    expect(recorded?.google?.receivedAt).toBeInstanceOf(Date);
    expect(recorded?.linkedUserId).toBeUndefined();
    expect(fake.countCalls('accounts.approve', accountId)).toBe(0);
    expect(fake.countCalls('entitlements.approve', id)).toBe(0);

    const linked = await postLink(stack, { linkToken, userId: 'user-42' }, API_KEY);
    expect(linked.status).toBe(200);
    expect(await linked.json()).toEqual({
      accountId,
      userId: 'user-42',
      subjectKey: 'user:user-42',
      accountApprovedNow: true,
      entitlementsApproved: 1,
      entitlementsMoved: 0,
      orderIds: [],
    });
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);
    expect(await accountDoc(stack, accountId!)).toMatchObject({
      signup: { state: 'APPROVED' },
      linkedUserId: 'user-42',
      linkedSubjectKey: 'user:user-42',
      linkedBy: 'api-key:1',
    });

    await simulator.activate(id);
    const active = await entitlementWhere(store, id, (e) => e.active);
    expect(active.subject).toMatchObject({ key: 'user:user-42', accountId });
    expect((await store.getAccess('user:user-42'))?.entitlements[`gcp:${id}`]).toMatchObject({
      source: 'gcp',
      product: 'demo',
      plan: 'pro',
      status: 'active',
    });
    expect((await accessOf(store, accountId!))?.entitlements[`gcp:${id}`]).toBeUndefined();

    // The same link token again: refused, nothing called.
    const reused = await postLink(stack, { linkToken, userId: 'user-42' }, API_KEY);
    expect(reused.status).toBe(409);
    expect(await reused.json()).toMatchObject({ code: 'conflict', details: { reason: 'reused' } });
    // The browser posts the same Google token again (back button, a replay): refused, no new link token.
    const linkTokens = await count(stack, 'linkTokens');
    const again = await postSignup(stack, token);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'conflict', details: { reason: 'token_reused' } });
    expect(await count(stack, 'linkTokens')).toBe(linkTokens);
    // Google's next token (the buyer opens the product from the Marketplace again): a new link token, and
    // linking again approves nothing twice.
    const second = await signUp(stack, issuer, accountId!, google);
    expect(second).not.toBe(linkToken);
    const relinked = await postLink(stack, { linkToken: second, userId: 'user-42' }, API_KEY);
    expect(relinked.status).toBe(200);
    expect(await relinked.json()).toMatchObject({
      accountApprovedNow: false,
      entitlementsApproved: 0,
      entitlementsMoved: 0,
    });
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should move entitlements already active under the account to the user on link, and later events land there too', async () => {
    const { simulator, fake, store } = stack;
    const { accountId } = await simulator.signUpAccount();
    await stack.app.app.get(MarketplaceEvents).approveAccount(accountId!, {
      source: 'gcp',
      eventKey: `admin-approve-${accountId}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await simulator.activate(id);
    await entitlementWhere(store, id, (e) => e.active && e.subject?.key === `gcp-account:${accountId}`);
    expect(Object.keys((await accessOf(store, accountId!))?.entitlements ?? {})).toEqual([`gcp:${id}`]);

    const linkToken = await signUp(stack, issuer, accountId!);
    const linked = await postLink(stack, { linkToken, userId: 'user-77' }, await idToken());
    expect(linked.status).toBe(200);
    expect(await linked.json()).toMatchObject({
      subjectKey: 'user:user-77',
      accountApprovedNow: false,
      entitlementsMoved: 1,
    });
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);

    const moved = await store.getEntitlement(`gcp:${id}`);
    expect(moved).toMatchObject({
      active: true,
      status: 'active',
      plan: 'pro',
      subject: { key: 'user:user-77', userId: 'user-77', accountId },
    });
    expect(Object.keys((await store.getAccess('user:user-77'))?.entitlements ?? {})).toEqual([`gcp:${id}`]);
    expect((await accessOf(store, accountId!))?.entitlements).toEqual({});
    const history = await stack.db.collection('entitlements').doc(`gcp:${id}`).collection('history').get();
    expect(history.docs.map((d) => d.data()).filter((h) => h.eventType === 'ACCOUNT_LINKED')).toEqual([
      expect.objectContaining({ subjectMoved: true, actor: { type: 'system', id: 'signup-link' } }),
    ]);
    expect(await accountDoc(stack, accountId!)).toMatchObject({ linkedUserId: 'user-77', linkedBy: `sa:${LINK_SA}` });

    await simulator.changePlan(id, 'basic');
    await simulator.completePlanChange(id);
    await entitlementWhere(store, id, (e) => e.plan === 'basic' && e.subject?.key === 'user:user-77');
    expect((await store.getAccess('user:user-77'))?.entitlements[`gcp:${id}`]?.plan).toBe('basic');
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should take a sign-up token once, refusing replays (even racing ones) with a page a person can read', async () => {
    const { accountId } = await stack.simulator.signUpAccount();
    const token = await issuer.sign(googleClaims(accountId));
    const answers = await Promise.all([postSignup(stack, token), postSignup(stack, token), postSignup(stack, token)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 409, 409]);
    const [issued] = (await stack.db.collection('linkTokens').where('accountId', '==', accountId).get()).docs;
    expect(issued).toBeDefined();
    expect(
      (await stack.db.collection('linkTokens').where('accountId', '==', accountId).count().get()).data().count,
    ).toBe(1);
    const used = await stack.db.collection('signupTokens').where('accountId', '==', accountId).get();
    expect(used.docs.map((d) => d.data())).toEqual([
      expect.objectContaining({ accountId, jti: expect.any(String), expireAt: expect.anything() }),
    ]);

    // The buyer's browser asks for HTML: it gets a page saying what happened and what to do, not JSON.
    const page = await fetch(`${stack.app.url}/marketplace/signup`, {
      method: 'POST',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      body: new URLSearchParams({ [SIGNUP_TOKEN_FIELD]: token }),
      redirect: 'manual',
    });
    expect(page.status).toBe(409);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('location')).toBeNull();
    const html = await page.text();
    expect(html).toContain('This sign-up link was used already');
    expect(html).toContain('Google Cloud Marketplace');
    // A bad token gets a page too; its text is escaped, never markup.
    const bad = await fetch(`${stack.app.url}/marketplace/signup`, {
      method: 'POST',
      headers: { accept: 'text/html' },
      body: new URLSearchParams({ [SIGNUP_TOKEN_FIELD]: 'not.a.token' }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('This sign-up link is not valid');
  });

  it('should link several orders of one account to different users, and the rest of the account to one', async () => {
    const { simulator, store, fake } = stack;
    const { accountId } = await simulator.signUpAccount();
    const first = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    const second = await simulator.buy({ accountId, product: PRODUCT, plan: 'basic' });
    const [orderA, orderB] = [first.entitlement!.orderId!, second.entitlement!.orderId!];

    // Team A's admin signs up from order A's purchase; the product links that order to its user.
    const tokenA = await signUp(stack, issuer, accountId!, { user_identity: 'gaia-a', orders: [orderA] });
    const linkedA = await postLink(stack, { linkToken: tokenA, userId: 'team-a', orderIds: [orderA] }, API_KEY);
    expect(linkedA.status).toBe(200);
    expect(await linkedA.json()).toMatchObject({
      orderIds: [orderA],
      accountApprovedNow: true,
      entitlementsApproved: 2,
    });
    // Team B signs up from order B's purchase: a second user on the same account.
    const tokenB = await signUp(stack, issuer, accountId!, { user_identity: 'gaia-b', orders: [{ orderId: orderB }] });
    const refusedOrder = await postLink(stack, { linkToken: tokenB, userId: 'team-b', orderIds: [orderA] }, API_KEY);
    expect(refusedOrder.status).toBe(400);
    expect(await refusedOrder.json()).toMatchObject({ details: { reason: 'order_not_in_signup' } });
    const tokenB2 = await signUp(stack, issuer, accountId!, { orders: [orderB] });
    const linkedB = await postLink(stack, { linkToken: tokenB2, userId: 'team-b', orderIds: [orderB] }, API_KEY);
    expect(linkedB.status).toBe(200);
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);

    await simulator.activate(first.entitlementId!);
    await simulator.activate(second.entitlementId!);
    await entitlementWhere(store, first.entitlementId!, (e) => e.active && e.subject?.key === 'user:team-a');
    await entitlementWhere(store, second.entitlementId!, (e) => e.active && e.subject?.key === 'user:team-b');
    expect(Object.keys((await store.getAccess('user:team-a'))?.entitlements ?? {})).toEqual([
      `gcp:${first.entitlementId}`,
    ]);
    expect(Object.keys((await store.getAccess('user:team-b'))?.entitlements ?? {})).toEqual([
      `gcp:${second.entitlementId}`,
    ]);

    // An order is one user's: another user cannot take it with a token naming it.
    const tokenSteal = await signUp(stack, issuer, accountId!, { orders: [orderA] });
    const stolen = await postLink(stack, { linkToken: tokenSteal, userId: 'team-c', orderIds: [orderA] }, API_KEY);
    expect(stolen.status).toBe(409);
    expect(await stolen.json()).toMatchObject({ details: { reason: 'order_linked_to_other_user' } });

    // A link without orders (today's behaviour) takes the rest of the account: a later order lands there,
    // the orders linked on their own stay with their users.
    const wide = await postLink(
      stack,
      { linkToken: await signUp(stack, issuer, accountId!), userId: 'team-a' },
      API_KEY,
    );
    expect(await wide.json()).toMatchObject({ orderIds: [], entitlementsMoved: 0 });
    const third = await simulator.buy({ accountId, product: PRODUCT, plan: 'pro' });
    await simulator.activate(third.entitlementId!);
    await entitlementWhere(store, third.entitlementId!, (e) => e.active && e.subject?.key === 'user:team-a');
    expect((await store.getEntitlement(`gcp:${second.entitlementId}`))?.subject?.key).toBe('user:team-b');
    expect(await accountDoc(stack, accountId!)).toMatchObject({
      linkedUserId: 'team-a',
      orderLinks: {
        [orderA]: { userId: 'team-a', subjectKey: 'user:team-a' },
        [orderB]: { userId: 'team-b', subjectKey: 'user:team-b' },
      },
    });
    expect(await accessInvariantViolations(stack.db)).toEqual([]);
  });

  it('should refuse each bad sign-up token with 401 and store nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, (accountId: string) => Promise<string>, string][] = [
      ['bad signature', (a) => issuer.sign(googleClaims(a), { key: foreign, kid: issuer.currentKey.kid }), 'signature'],
      ['unknown kid', (a) => issuer.sign(googleClaims(a), { key: foreign }), 'kid'],
      ['wrong iss (the key server itself)', (a) => issuer.sign(googleClaims(a, { iss: issuer.x509Url })), 'iss'],
      ['wrong aud', (a) => issuer.sign(googleClaims(a, { aud: 'other-product.example.com' })), 'aud'],
      ['expired', (a) => issuer.sign(googleClaims(a, { iat: now - 400, exp: now - 100 })), 'exp'],
      ['issued too long ago', (a) => issuer.sign(googleClaims(a, { iat: now - 3600, exp: now + 300 })), 'iat'],
      ['missing sub', () => issuer.sign(googleClaims(undefined)), 'claim:sub'],
      ['empty sub', () => issuer.sign(googleClaims('')), 'claim:sub'],
      ['sub that is no account id', () => issuer.sign(googleClaims('../../accounts/x')), 'claim:sub'],
      ['alg none', (a) => issuer.sign(googleClaims(a), { alg: 'none' }), 'alg'],
      ['alg HS256 with the public key as secret', (a) => issuer.sign(googleClaims(a), { alg: 'HS256' }), 'alg'],
    ];
    const before = { accounts: await count(stack, 'accounts'), linkTokens: await count(stack, 'linkTokens') };
    for (const [name, token, reason] of cases) {
      const accountId = `E-REFUSED-${randomUUID()}`;
      const logsBefore = stack.logLines().length;
      const response = await postSignup(stack, await token(accountId));
      expect({ name, status: response.status, location: response.headers.get('location') }).toEqual({
        name,
        status: 401,
        location: null,
      });
      expect(await response.json()).toMatchObject({
        code: 'unauthenticated',
        message: 'Invalid Marketplace sign-up token',
      });
      const refused = stack
        .logLines()
        .slice(logsBefore)
        .find((l) => l.message === 'marketplace sign-up refused');
      expect({ name, reason: refused?.reason }).toEqual({ name, reason });
      expect(await accountDoc(stack, accountId)).toBeNull();
    }
    const missing = await postSignup(stack, undefined);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining(SIGNUP_TOKEN_FIELD),
    });
    expect({ accounts: await count(stack, 'accounts'), linkTokens: await count(stack, 'linkTokens') }).toEqual(before);
    // The keys came from the configured URL (the token's iss was never fetched).
    expect(issuer.fetchCount).toBeGreaterThan(0);
  });

  it('should refuse link calls without valid credentials and bad, expired, reused or foreign link tokens, storing nothing', async () => {
    const { simulator, fake } = stack;
    const { accountId } = await simulator.signUpAccount();
    const linkToken = await signUp(stack, issuer, accountId!);
    const [issued] = (await stack.db.collection('linkTokens').where('accountId', '==', accountId).get()).docs;
    const tokenDoc = async () => (await issued!.ref.get()).data();
    const untouched = async () => {
      expect(await accountDoc(stack, accountId!)).not.toHaveProperty('linkedUserId');
      expect((await tokenDoc())?.consumedAt).toBeNull();
      expect(fake.countCalls('accounts.approve', accountId)).toBe(0);
    };
    const body = { linkToken, userId: 'user-99' };

    const refusals: [string, string | undefined, number][] = [
      ['no credentials', undefined, 401],
      ['a wrong API key', `${API_KEY}x`, 401],
      ['a Google ID token for another audience', await idToken({ aud: 'https://elsewhere.example' }), 401],
      [
        'a forged Google ID token',
        await issuer.sign(
          { iss: 'https://accounts.google.com', aud: LINK_AUDIENCE, email: LINK_SA, email_verified: true, sub: '1' },
          { key: foreign, kid: issuer.currentKey.kid },
        ),
        401,
      ],
      [
        'a Google ID token of another service account',
        await idToken({ email: 'intruder@evil.iam.gserviceaccount.com' }),
        403,
      ],
    ];
    for (const [name, credential, status] of refusals) {
      const response = await postLink(stack, body, credential);
      expect({ name, status: response.status }).toEqual({ name, status });
    }
    await untouched();

    const tampered = `${linkToken.slice(0, -2)}${linkToken.at(-2) === 'A' ? 'B' : 'A'}${linkToken.at(-1)}`;
    const bad = await postLink(stack, { linkToken: tampered, userId: 'user-99' }, API_KEY);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'validation_failed', details: { reason: 'invalid' } });
    const badUser = await postLink(stack, { linkToken, userId: 'has spaces' }, API_KEY);
    expect(badUser.status).toBe(400);
    await untouched();

    stack.clock.offsetMs = 16 * 60_000;
    try {
      const expired = await postLink(stack, body, API_KEY);
      expect(expired.status).toBe(400);
      expect(await expired.json()).toMatchObject({ code: 'validation_failed', details: { reason: 'expired' } });
    } finally {
      stack.clock.offsetMs = 0;
    }
    await untouched();

    expect((await postLink(stack, body, API_KEY)).status).toBe(200);
    const consumed = await tokenDoc();
    expect(consumed).toMatchObject({ userId: 'user-99', linkedBy: 'api-key:1' });
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);

    const reused = await postLink(stack, { linkToken, userId: 'someone-else' }, API_KEY);
    expect(reused.status).toBe(409);
    // A fresh token cannot move the account to another user either.
    const other = await postLink(
      stack,
      { linkToken: await signUp(stack, issuer, accountId!), userId: 'someone-else' },
      API_KEY,
    );
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ details: { reason: 'linked_to_other_user' } });
    expect(await accountDoc(stack, accountId!)).toMatchObject({
      linkedUserId: 'user-99',
      linkedSubjectKey: 'user:user-99',
    });
    expect(await tokenDoc()).toEqual(consumed);
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
  });
});

describe('Marketplace sign-up with approveOnVerifiedToken', () => {
  let issuer: TestIssuer;
  let stack: SignupStack;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signup-config-'));
    copyFileSync(join('config', 'products.yaml'), join(dir, 'products.yaml'));
    const policy = parseYaml(readFileSync(join('config', 'policy.yaml'), 'utf8')) as {
      marketplace: { signup: object };
    };
    policy.marketplace.signup = { approveOnVerifiedToken: true };
    writeFileSync(join(dir, 'policy.yaml'), stringifyYaml(policy));
    issuer = await startTestIssuer();
    stack = await startSignupStack(issuer, { configDir: dir });
  });
  afterAll(async () => {
    await stack?.close();
    await issuer?.close();
  });

  it('should approve the account and its parked entitlement when the verified token arrives, still redirect, and never approve twice', async () => {
    const { simulator, fake, store } = stack;
    const { accountId, entitlementId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    const id = entitlementId!;
    await entitlementWhere(store, id, (e) => e.status === 'pending_approval');

    const token = await issuer.sign(googleClaims(accountId));
    const response = await postSignup(stack, token);
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location') ?? '').searchParams.get(LINK_TOKEN_PARAM)).toBeTruthy();
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);
    expect(await accountDoc(stack, accountId!)).toMatchObject({
      signup: { state: 'APPROVED' },
      google: { user_identity: `gaia-${accountId}` },
    });

    // The same token again is refused; Google's next token is taken, and approves nothing twice.
    expect((await postSignup(stack, token)).status).toBe(409);
    expect((await postSignup(stack, await issuer.sign(googleClaims(accountId)))).status).toBe(303);
    const linkToken = await signUp(stack, issuer, accountId!);
    const linked = await postLink(stack, { linkToken, userId: 'user-5' }, API_KEY);
    expect(await linked.json()).toMatchObject({ accountApprovedNow: false, entitlementsApproved: 0 });
    expect(fake.countCalls('accounts.approve', accountId)).toBe(1);
    expect(fake.countCalls('entitlements.approve', id)).toBe(1);

    await simulator.activate(id);
    await entitlementWhere(store, id, (e) => e.active && e.subject?.key === 'user:user-5');
    expect(Object.keys((await store.getAccess('user:user-5'))?.entitlements ?? {})).toEqual([`gcp:${id}`]);
  });
});

describe('Marketplace sign-up configuration', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ GOOGLE_CLOUD_PROJECT: 'signup-config-test', CONFIG_DIR: 'config', ...env });
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems;
    }
  };

  it('should name every setting the sign-up needs, and refuse an issuer override in production', () => {
    expect(problemsOf({ MARKETPLACE_SIGNUP_AUDIENCE: AUDIENCE })).toEqual([
      'MARKETPLACE_PROVIDER_ID: required when MARKETPLACE_SIGNUP_AUDIENCE is set',
      'MARKETPLACE_SIGNUP_REDIRECT_URL: required when MARKETPLACE_SIGNUP_AUDIENCE is set',
      'MARKETPLACE_LINK_SECRET: required when MARKETPLACE_SIGNUP_AUDIENCE is set',
    ]);
    expect(problemsOf({ MARKETPLACE_SIGNUP_ISSUER: 'http://127.0.0.1:9/issuer' })).toEqual([
      expect.stringMatching(/^MARKETPLACE_SIGNUP_ISSUER: only for a local sandbox/),
    ]);
    expect(problemsOf({ MARKETPLACE_SIGNUP_ISSUER: 'http://127.0.0.1:9/issuer', NODE_ENV: 'development' })).toEqual([]);
    expect(
      problemsOf({ MARKETPLACE_LINK_SECRET: 'too-short', LINK_API_KEYS: 'short-key', LINK_AUDIENCE: 'x' }),
    ).toEqual([
      'MARKETPLACE_LINK_SECRET: must be at least 32 characters',
      expect.stringMatching(/^LINK_API_KEYS\.0: each key must be at least 32 characters/),
      expect.stringMatching(/^LINK_AUDIENCE, LINK_ALLOWED_CALLERS: set both/),
    ]);
  });

  it('should answer 404 on both endpoints when sign-up is not configured, storing nothing', async () => {
    const app = await startApp({ config: testConfig() });
    try {
      const signup = await fetch(`${app.url}/marketplace/signup`, {
        method: 'POST',
        body: new URLSearchParams({ [SIGNUP_TOKEN_FIELD]: 'a.b.c' }),
        redirect: 'manual',
      });
      expect(signup.status).toBe(404);
      expect(await signup.json()).toMatchObject({
        code: 'not_found',
        message: expect.stringContaining('MARKETPLACE_SIGNUP_AUDIENCE'),
      });
      const link = await fetch(`${app.url}/marketplace/link`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ linkToken: 'x.y', userId: 'u' }),
      });
      expect(link.status).toBe(404);
      const db = app.app.get(Firestore);
      expect((await db.collection('accounts').count().get()).data().count).toBe(0);
      expect((await db.collection('linkTokens').count().get()).data().count).toBe(0);
    } finally {
      await app.close();
    }
  });
});
