import { createHash, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import type { AppConfig } from '../../src/config/app-config.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import type { EntitlementRecord } from '../../src/entitlements/ledger-plan.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { refusalRecords, startApp, testConfig, TestClock, emailKey, type RunningApp } from '../support/app.js';

const TOKEN = 'getcourse-path-token-abcdefghijklmnop';
const NOW = new Date('2026-11-20T12:00:00Z');

/** The filled-in Call URL of the recorded sample, as fields. */
function sampleFields(): Record<string, string> {
  const line = readFileSync(new URL('../fixtures/getcourse/purchase_active.http', import.meta.url), 'utf8');
  return Object.fromEntries(new URLSearchParams(line.trim().split(' ')[1]!.split('?')[1]!));
}

/** A purchase of its own for each test (GetCourse purchase ids are numbers). */
function purchase(overrides: Record<string, string> = {}): Record<string, string> {
  const id = String(randomInt(10_000_000, 99_999_999));
  return { ...sampleFields(), purchase_id: id, email: `student-${id}@example.ru`, ...overrides };
}

/** The sample's product (2741902) and a second product of a two-product offer, for these tests. */
function withProducts(config: AppConfig): AppConfig {
  const sources = config.products.sources;
  return {
    ...config,
    products: {
      sources: {
        ...sources,
        getcourse: { ...sources.getcourse, '2741902': { product: 'course' }, club: { product: 'club' } },
      },
    },
  };
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

const reply = async (res: Response): Promise<Reply> => ({
  status: res.status,
  body: (await res.json()) as Record<string, unknown>,
});
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('GetCourse callbacks over HTTP', () => {
  let app: RunningApp;
  let store: EntitlementStore;
  let db: Firestore;

  beforeAll(async () => {
    app = await startApp({
      config: withProducts(testConfig({ GETCOURSE_PATH_TOKEN: TOKEN })),
      clock: new TestClock(NOW),
    });
    store = app.app.get(EntitlementStore);
    db = app.app.get(Firestore);
  });
  afterAll(() => app.close());

  const get = async (fields: Record<string, string>, token: string | null = TOKEN) =>
    reply(
      await fetch(`${app.url}/webhooks/getcourse${token === null ? '' : `/${token}`}?${new URLSearchParams(fields)}`),
    );
  const postForm = async (fields: Record<string, string>) =>
    reply(
      await fetch(`${app.url}/webhooks/getcourse/${TOKEN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  const postJson = async (query: Record<string, string>, body: Record<string, string>) =>
    reply(
      await fetch(`${app.url}/webhooks/getcourse/${TOKEN}?${new URLSearchParams(query)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );

  async function entitlementsOf(purchaseId: string): Promise<EntitlementRecord[]> {
    const snap = await db.collection('entitlements').where('details.getcourse.purchaseId', '==', purchaseId).get();
    return snap.docs.map((d) => fromFirestore<EntitlementRecord>(d.data())).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async function onlyEntitlementOf(purchaseId: string): Promise<EntitlementRecord> {
    const found = await entitlementsOf(purchaseId);
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  it('should grant a GET callback until finish_at, read as Moscow time, and record it applied', async () => {
    const fields = purchase();
    const res = await get(fields);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'applied', results: [{ outcome: 'applied' }] });

    const e = await onlyEntitlementOf(fields.purchase_id!);
    expect(e).toMatchObject({
      id: `getcourse:${fields.purchase_id}:2741902`,
      status: 'active',
      active: true,
      product: 'course',
      providerProduct: '2741902',
      providerState: 'active',
      subject: { key: emailKey(fields.email!) },
      validFrom: new Date('2026-11-02T07:00:00Z'),
      validUntil: new Date('2026-12-02T07:00:00Z'),
      details: { getcourse: { purchaseId: fields.purchase_id, userId: '190442871' } },
    });
    const access = await store.getAccess(emailKey(fields.email!));
    expect(access?.entitlements[e.id]).toMatchObject({
      product: 'course',
      validUntil: new Date('2026-12-02T07:00:00Z'),
    });
    expect(await store.getEventOutcome('getcourse', res.body.eventKey as string)).toBe('applied');
  });

  it('should grant the same way from a POSTed form and from a POSTed JSON body with the tag in the query', async () => {
    const form = purchase();
    expect((await postForm(form)).body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(form.purchase_id!)).toMatchObject({ active: true, product: 'course' });

    const { event, ...rest } = purchase();
    const json = await postJson({ event: event! }, rest);
    expect(json.status).toBe(200);
    expect(json.body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(rest.purchase_id!)).toMatchObject({
      active: true,
      validUntil: new Date('2026-12-02T07:00:00Z'),
    });
  });

  it('should extend the same entitlement when the purchase comes back with a later finish_at (renewal)', async () => {
    const fields = purchase();
    await get(fields);
    const renewed = await get({ ...fields, finish_at: '2027-01-02 10:00:00' });
    expect(renewed.body.outcome).toBe('applied');

    const e = await onlyEntitlementOf(fields.purchase_id!);
    expect(e).toMatchObject({ active: true, version: 2, validUntil: new Date('2027-01-02T07:00:00Z') });
    const access = await store.getAccess(emailKey(fields.email!));
    expect(Object.keys(access?.entitlements ?? {})).toEqual([e.id]);
    expect(access?.entitlements[e.id]?.validUntil).toEqual(new Date('2027-01-02T07:00:00Z'));
  });

  it('should skip the earlier report arriving after the renewal as stale, and a repeated callback as duplicate', async () => {
    const fields = purchase();
    const renewal = { ...fields, finish_at: '2027-01-02 10:00:00' };
    expect((await get(renewal)).body.outcome).toBe('applied');
    const late = await get(fields);
    expect(late.status).toBe(200);
    expect(late.body.outcome).toBe('stale');
    expect((await get(renewal)).body.outcome).toBe('duplicate');
    expect(await onlyEntitlementOf(fields.purchase_id!)).toMatchObject({
      version: 1,
      validUntil: new Date('2027-01-02T07:00:00Z'),
    });
  });

  it('should revoke a finished purchase, never re-grant on an old callback, and re-open on a renewal', async () => {
    const fields = purchase();
    await get(fields);
    const finished = await get({ ...fields, event: 'purchase_finished', status: 'finished' });
    expect(finished.body.outcome).toBe('applied');
    const revoked = await onlyEntitlementOf(fields.purchase_id!);
    expect(revoked).toMatchObject({ status: 'expired', active: false, providerState: 'finished' });
    expect((await store.getAccess(emailKey(fields.email!)))?.entitlements[revoked.id]).toBeUndefined();

    // The active report of the period that just ended, delivered again late (e.g. a process re-run).
    expect((await get({ ...fields, status: 'Active' })).body.outcome).toBe('stale');
    expect((await onlyEntitlementOf(fields.purchase_id!)).active).toBe(false);

    expect((await get({ ...fields, finish_at: '2027-01-02 10:00:00' })).body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(fields.purchase_id!)).toMatchObject({ status: 'active', active: true });
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should revoke a cancelled purchase at once, even with an end date still ahead', async () => {
    const fields = purchase();
    await get(fields);
    expect((await get({ ...fields, event: 'purchase_cancelled', status: 'cancelled' })).body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(fields.purchase_id!)).toMatchObject({
      status: 'cancelled',
      active: false,
      validUntil: NOW,
    });
  });

  it('should give one entitlement per product of a multi-product offer', async () => {
    const { product: _, ...fields } = purchase();
    const res = await get({ ...fields, products: '2741902,club' });
    expect(res.body).toMatchObject({ outcome: 'applied', results: [{ outcome: 'applied' }, { outcome: 'applied' }] });

    const [course, club] = await entitlementsOf(fields.purchase_id!); // sorted by id: digits first
    expect(club).toMatchObject({ id: `getcourse:${fields.purchase_id}:club`, product: 'club', active: true });
    expect(course).toMatchObject({ id: `getcourse:${fields.purchase_id}:2741902`, product: 'course', active: true });
    const access = await store.getAccess(emailKey(fields.email!));
    expect(access?.products).toEqual(['club', 'course']);
    expect(await store.getEventOutcome('getcourse', `${res.body.eventKey as string}#${fields.purchase_id}:club`)).toBe(
      'applied',
    );

    // The renewal of the offer extends both, still two entitlements.
    await get({ ...fields, products: '2741902,club', finish_at: '2027-01-02 10:00:00' });
    const renewed = await entitlementsOf(fields.purchase_id!);
    expect(renewed.map((e) => [e.version, e.validUntil])).toEqual([
      [2, new Date('2027-01-02T07:00:00Z')],
      [2, new Date('2027-01-02T07:00:00Z')],
    ]);
  });

  it('should refuse a wrong or missing token with 401, storing nothing but the refusal', async () => {
    const fields = purchase();
    const wrong = await get(fields, `${TOKEN.slice(0, -1)}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'unauthenticated' });
    expect((await get(fields, null)).status).toBe(401);
    const post = await fetch(`${app.url}/webhooks/getcourse`, { method: 'POST', body: new URLSearchParams(fields) });
    expect(post.status).toBe(401);
    expect(await entitlementsOf(fields.purchase_id!)).toEqual([]);
    expect(await store.getEventOutcome('getcourse', `unverified:${sha256(JSON.stringify(fields))}`)).toBeNull();
    expect((await refusalRecords(app.app, 'getcourse', 'bad_token'))[0]?.refusals.count).toBe(1);
    expect((await refusalRecords(app.app, 'getcourse', 'missing_token'))[0]?.refusals.count).toBe(2);
  });

  it('should answer an unfilled placeholder with a 400 naming the field, recorded, nothing applied', async () => {
    const fields = purchase({ email: '{object.user.email}' });
    const res = await get(fields);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed' });
    expect(res.body.message).toContain('email: GetCourse sent {object.user.email} unfilled');
    expect(await entitlementsOf(fields.purchase_id!)).toEqual([]);
    expect(await store.getEventOutcome('getcourse', `malformed:${sha256(JSON.stringify(fields))}`)).toBe('invalid');

    const badDate = await get(purchase({ finish_at: '02/12/2026' }));
    expect(badDate.status).toBe(400);
    expect(badDate.body.message).toContain('finish_at: must be a date');
  });

  it('should record unknown tags and order_paid as ignored and answer 200', async () => {
    const unknown = await get({ event: 'lesson_completed', user_id: '190442871' });
    expect(unknown.status).toBe(200);
    expect(unknown.body.outcome).toBe('ignored');
    expect(await store.getEventOutcome('getcourse', unknown.body.eventKey as string)).toBe('ignored');
    const paid = await postForm({ event: 'order_paid', order_id: '777', email: 'a@example.ru' });
    expect(paid.body.outcome).toBe('ignored');
  });

  it('should record a valid callback for an unmapped product as invalid and say so in a 200', async () => {
    const fields = purchase({ product: '999999' });
    const res = await get(fields);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      outcome: 'invalid',
      results: [{ outcome: 'invalid', reason: expect.stringContaining('config/products.yaml') }],
    });
    expect(await entitlementsOf(fields.purchase_id!)).toEqual([]);
    expect(await store.getEventOutcome('getcourse', res.body.eventKey as string)).toBe('invalid');
  });

  it('should map a product code typed into the template through the shipped config/products.yaml', async () => {
    const fields = purchase({ product: 'demo-course' });
    expect((await get(fields)).body.outcome).toBe('applied');
    expect(await onlyEntitlementOf(fields.purchase_id!)).toMatchObject({
      product: 'demo',
      providerProduct: 'demo-course',
    });
  });
});

describe('GetCourse callbacks over HTTP (school in another time zone)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    const base = withProducts(testConfig({ GETCOURSE_PATH_TOKEN: TOKEN }));
    // What the config wiring will provide once GETCOURSE_TIMEZONE is in the env schema.
    const config = { ...base, env: { ...base.env, GETCOURSE_TIMEZONE: 'Asia/Yekaterinburg' } };
    app = await startApp({ config, clock: new TestClock(NOW) });
  });
  afterAll(() => app.close());

  it('should read finish_at in the configured zone', async () => {
    const fields = purchase();
    const res = await reply(await fetch(`${app.url}/webhooks/getcourse/${TOKEN}?${new URLSearchParams(fields)}`));
    expect(res.body.outcome).toBe('applied');
    const e = await app.app.get(EntitlementStore).getEntitlement(`getcourse:${fields.purchase_id}:2741902`);
    expect(e?.validUntil).toEqual(new Date('2026-12-02T05:00:00Z'));
  });
});

describe('GetCourse callbacks over HTTP (not configured)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ config: withProducts(testConfig()), clock: new TestClock(NOW) });
  });
  afterAll(() => app.close());

  it('should refuse every callback when no path token is configured', async () => {
    const fields = purchase();
    const res = await fetch(`${app.url}/webhooks/getcourse/${TOKEN}?${new URLSearchParams(fields)}`);
    expect(res.status).toBe(404);
    expect((await app.app.get(Firestore).collection('entitlements').get()).size).toBe(0);
  });
});
