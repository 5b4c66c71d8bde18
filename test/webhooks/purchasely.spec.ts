import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import type { AppConfig } from '../../src/config/app-config.js';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import { eventDocumentId } from '../../src/infrastructure/firestore/collections.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { memoryLogger, refusalRecords, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';

/**
 * The Purchasely webhook end to end: real HTTP into the real bootstrap(), the real ledger on the
 * Firestore emulator. Payloads start from Purchasely's recorded ACTIVATE sample.
 */
const recordedActivate = JSON.parse(
  readFileSync(new URL('../fixtures/purchasely/activate.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const OLD_SECRET = 'purchasely-old-secret-0123456789';
const NEW_SECRET = 'purchasely-new-secret-0123456789';
const NOW = new Date('2026-11-02T12:00:00.000Z');
const DAY = 86_400_000;

type Payload = Record<string, unknown>;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

interface SendOptions {
  secret?: string;
  /** `x-purchasely-timestamp` (seconds); defaults to the test clock. */
  timestamp?: string;
  /** Replaces the computed signature. */
  signature?: string;
  /** Sent as the body instead of the signed JSON (tampering after signing). */
  tamperedBody?: string;
  headers?: Record<string, string>;
}

describe('POST /webhooks/purchasely', () => {
  const clock = new TestClock(NOW);
  let running: RunningApp;
  let store: EntitlementStore;
  let db: Firestore;
  const logs = memoryLogger('info');

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({ PURCHASELY_SECRETS: `${OLD_SECRET},${NEW_SECRET}` }),
      clock,
      logger: logs.logger,
    });
    store = running.app.get(EntitlementStore);
    db = running.app.get(Firestore);
  });
  afterAll(() => running.close());

  /** A fresh ACTIVATE for PREMIUM (mapped to `demo` in config/products.yaml), 1 s old, renewing in 30 days. */
  function activate(subscriptionId: string, userId: string, overrides: Payload = {}): Payload {
    const created = NOW.getTime() - 1_000;
    const renewal = NOW.getTime() + 30 * DAY;
    return {
      ...recordedActivate,
      event_id: randomUUID(),
      product: 'PREMIUM',
      environment: 'PRODUCTION',
      purchasely_subscription_id: subscriptionId,
      user_id: userId,
      event_created_at_ms: created,
      event_created_at: new Date(created).toISOString(),
      effective_next_renewal_at_ms: renewal,
      effective_next_renewal_at: new Date(renewal).toISOString(),
      next_renewal_at_ms: renewal,
      next_renewal_at: new Date(renewal).toISOString(),
      ...overrides,
    };
  }

  function at(msBeforeNow: number): Payload {
    return {
      event_created_at_ms: NOW.getTime() - msBeforeNow,
      event_created_at: new Date(NOW.getTime() - msBeforeNow).toISOString(),
    };
  }

  async function send(payload: Payload | string, options: SendOptions = {}, url = running.url): Promise<Reply> {
    const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const timestamp = options.timestamp ?? String(Math.floor(clock.now().getTime() / 1000));
    const signature = options.signature ?? hmacSha256Hex(options.secret ?? NEW_SECRET, timestamp + raw);
    const response = await fetch(`${url}/webhooks/purchasely`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-purchasely-timestamp': timestamp,
        'x-purchasely-request-signature': signature,
        ...options.headers,
      },
      body: options.tamperedBody ?? raw,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function eventRecord(key: string) {
    const snap = await db.collection('events').doc(eventDocumentId('purchasely', key)).get();
    return snap.exists ? snap.data() : undefined;
  }

  async function accessIds(subjectKey: string): Promise<string[]> {
    return Object.keys((await store.getAccess(subjectKey))?.entitlements ?? {});
  }

  it('should put the request trace on the ledger log line (Cloud Logging field), not in the record', async () => {
    const payload = activate('subs_traced', 'u-traced');
    const traceId = '105445aa7843bc8bf206b12000100000';
    const reply = await send(payload, { headers: { 'x-cloud-trace-context': `${traceId}/1;o=1` } });
    expect(reply.status).toBe(200);
    const line = logs.lines().find((l) => l.message === 'entitlement change' && l.eventKey === payload.event_id);
    expect(line).toMatchObject({
      severity: 'INFO',
      source: 'purchasely',
      outcome: 'applied',
      entitlementId: 'purchasely:subs_traced',
      'logging.googleapis.com/trace': `projects/${running.config.env.GOOGLE_CLOUD_PROJECT}/traces/${traceId}`,
    });
    expect(line).not.toHaveProperty('trace');
    expect(await eventRecord(payload.event_id as string)).not.toHaveProperty('trace');
  });

  it('should grant on ACTIVATE: entitlement, access summary and event record', async () => {
    const payload = activate('subs_grant', 'u-grant');
    const reply = await send(payload);

    expect(reply).toEqual({
      status: 200,
      body: { outcome: 'applied', eventKey: payload.event_id, entitlementId: 'purchasely:subs_grant' },
    });
    expect(await store.getEntitlement('purchasely:subs_grant')).toMatchObject({
      source: 'purchasely',
      externalId: 'subs_grant',
      subject: { key: 'user:u-grant', userId: 'u-grant' },
      product: 'demo',
      plan: 'monthly',
      providerProduct: 'PREMIUM',
      providerPlan: 'monthly',
      status: 'active',
      active: true,
      validUntil: new Date(NOW.getTime() + 30 * DAY),
      sourceUpdatedAt: new Date(NOW.getTime() - 1_000),
      version: 1,
    });
    const access = await store.getAccess('user:u-grant');
    expect(access?.products).toEqual(['demo']);
    expect(access?.entitlements['purchasely:subs_grant']).toMatchObject({
      source: 'purchasely',
      product: 'demo',
      plan: 'monthly',
    });
    expect(await eventRecord(payload.event_id as string)).toMatchObject({
      outcome: 'applied',
      eventType: 'ACTIVATE',
      raw: JSON.stringify(payload),
      transport: { kind: 'webhook', id: payload.event_id },
    });
  });

  it('should record an upgrade as a pending plan without changing access, and switch the plan on the next ACTIVATE', async () => {
    await send(activate('subs_plan', 'u-plan', at(3_000)));
    const upgrade = activate('subs_plan', 'u-plan', {
      ...at(2_000),
      event_name: 'SUBSCRIPTION_UPGRADED',
      plan: 'yearly',
      previous_plan: 'monthly',
    });
    expect((await send(upgrade)).body.outcome).toBe('applied');

    const pending = await store.getEntitlement('purchasely:subs_plan');
    expect(pending).toMatchObject({
      plan: 'monthly',
      providerPlan: 'monthly',
      pendingPlan: { plan: 'yearly', providerPlan: 'yearly' },
      status: 'pending_plan_change',
      active: true,
      details: expect.objectContaining({ previousPlan: 'monthly' }),
    });
    expect((await store.getAccess('user:u-plan'))?.entitlements['purchasely:subs_plan']?.plan).toBe('monthly');

    expect((await send(activate('subs_plan', 'u-plan', { ...at(1_000), plan: 'yearly' }))).body.outcome).toBe(
      'applied',
    );
    expect(await store.getEntitlement('purchasely:subs_plan')).toMatchObject({
      plan: 'yearly',
      providerPlan: 'yearly',
      pendingPlan: null,
      status: 'active',
      active: true,
      version: 3,
    });
    expect((await store.getAccess('user:u-plan'))?.entitlements['purchasely:subs_plan']?.plan).toBe('yearly');
  });

  it('should revoke on DEACTIVATE and take the entitlement out of the access summary', async () => {
    await send(activate('subs_revoke', 'u-revoke', at(2_000)));
    expect(await accessIds('user:u-revoke')).toEqual(['purchasely:subs_revoke']);

    const reply = await send(
      activate('subs_revoke', 'u-revoke', { ...at(1_000), event_name: 'DEACTIVATE', subscription_status: 'UNPAID' }),
    );
    expect(reply.status).toBe(200);
    expect(reply.body.outcome).toBe('applied');
    expect(await store.getEntitlement('purchasely:subs_revoke')).toMatchObject({
      status: 'expired',
      active: false,
      providerState: 'UNPAID',
      validUntil: new Date(NOW.getTime() - 1_000),
    });
    expect(await accessIds('user:u-revoke')).toEqual([]);
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should answer 200 duplicate to a redelivery and apply it once', async () => {
    const payload = activate('subs_dup', 'u-dup');
    expect((await send(payload)).body.outcome).toBe('applied');
    const again = await send(payload);
    expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate', eventKey: payload.event_id } });

    expect((await store.getEntitlement('purchasely:subs_dup'))?.version).toBe(1);
    const history = await db.collection('entitlements').doc('purchasely:subs_dup').collection('history').get();
    expect(history.size).toBe(1);
  });

  it('should answer 200 stale to an older event arriving after a newer one, leaving the state unchanged', async () => {
    const grant = activate('subs_late', 'u-late', at(5_000));
    const revoke = activate('subs_late', 'u-late', { ...at(1_000), event_name: 'DEACTIVATE' });
    expect((await send(revoke)).body.outcome).toBe('applied');
    const before = await store.getEntitlement('purchasely:subs_late');

    const reply = await send(grant);
    expect(reply).toMatchObject({ status: 200, body: { outcome: 'stale' } });
    expect(await store.getEntitlement('purchasely:subs_late')).toEqual(before);
    expect(before).toMatchObject({ active: false, status: 'expired', version: 1 });
    expect(await accessIds('user:u-late')).toEqual([]);
    expect((await eventRecord(grant.event_id as string))?.outcome).toBe('stale');
  });

  describe('signature', () => {
    it('should answer 401 and apply nothing for a wrong secret, a tampered body or an old timestamp', async () => {
      const payload = activate('subs_forged', 'u-forged');
      const raw = JSON.stringify(payload);
      const old = String(Math.floor(NOW.getTime() / 1000) - 301);
      const attempts: SendOptions[] = [
        { secret: 'someone-elses-secret-0123456789' },
        { tamperedBody: raw.replace('"u-forged"', '"u-forgeD"') },
        { timestamp: old, signature: hmacSha256Hex(NEW_SECRET, old + raw) },
        { headers: { 'x-purchasely-request-signature': '' } },
      ];
      for (const options of attempts) {
        const reply = await send(payload, options);
        expect(reply.status).toBe(401);
        expect(reply.body).toMatchObject({ code: 'unauthenticated', errorId: expect.any(String) });
      }

      expect(await store.getEntitlement('purchasely:subs_forged')).toBeNull();
      expect(await store.getAccess('user:u-forged')).toBeNull();
      expect(await store.getAccess('user:u-forgeD')).toBeNull();
      // Nothing written per forged request, and never under the genuine event's key: counted, then
      // written as one aggregate per reason.
      expect(await eventRecord(`unverified:${payload.event_id as string}`)).toBeUndefined();
      expect(await eventRecord(payload.event_id as string)).toBeUndefined();
      const counted = await Promise.all(
        ['bad_signature', 'stale_timestamp', 'missing_signature'].map((r) =>
          refusalRecords(running.app, 'purchasely', r),
        ),
      );
      expect(counted.map((records) => records[0]?.refusals.count)).toEqual([2, 1, 1]);
      expect(counted[0]![0]).toMatchObject({ outcome: 'invalid', eventType: 'REFUSED', raw: null });

      // The genuine delivery of the same event is not blocked by the forged ones.
      expect((await send(payload)).body.outcome).toBe('applied');
    });

    it('should accept either secret during a rotation', async () => {
      expect((await send(activate('subs_rot_old', 'u-rot'), { secret: OLD_SECRET })).body.outcome).toBe('applied');
      expect((await send(activate('subs_rot_new', 'u-rot'), { secret: NEW_SECRET })).body.outcome).toBe('applied');
      expect((await accessIds('user:u-rot')).sort()).toEqual(['purchasely:subs_rot_new', 'purchasely:subs_rot_old']);
    });

    it('should refuse the deprecated x-purchasely-signature scheme unless it is switched on', async () => {
      const timestamp = String(Math.floor(NOW.getTime() / 1000));
      const deprecated = hmacSha256Hex(NEW_SECRET, NEW_SECRET + timestamp);
      const reply = await send(activate('subs_deprecated', 'u-deprecated'), {
        timestamp,
        headers: { 'x-purchasely-signature': deprecated, 'x-purchasely-request-signature': '' },
      });
      expect(reply.status).toBe(401);
      expect(reply.body.message).toContain('deprecated');
      expect(await store.getEntitlement('purchasely:subs_deprecated')).toBeNull();
    });
  });

  it('should answer 400 naming the field for a signed but schema-invalid body, and record it invalid', async () => {
    const payload = activate('subs_bad', 'u-bad', { event_created_at_ms: 'yesterday' });
    const reply = await send(payload);

    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('event_created_at_ms'),
      details: { fields: [expect.objectContaining({ field: 'event_created_at_ms' })] },
    });
    expect(await eventRecord(payload.event_id as string)).toMatchObject({
      outcome: 'invalid',
      reason: expect.stringContaining('event_created_at_ms'),
      raw: JSON.stringify(payload),
    });
    expect(await store.getEntitlement('purchasely:subs_bad')).toBeNull();
  });

  it('should answer 400 to a signed body that is not JSON (recorded by its hash), 415 to a body of another media type', async () => {
    const garbage = 'event_name=ACTIVATE&user_id=u-garbage';
    const reply = await send(garbage, { headers: { 'content-type': 'text/plain' } });
    expect(reply).toMatchObject({
      status: 400,
      body: { code: 'validation_failed', message: 'Invalid payload: (body): not JSON' },
    });
    expect(await eventRecord(`raw:${createHash('sha256').update(garbage).digest('hex')}`)).toMatchObject({
      outcome: 'invalid',
      eventType: 'UNKNOWN',
      raw: garbage,
    });

    const binary = await send(JSON.stringify(activate('subs_binary', 'u-binary')), {
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(binary).toMatchObject({
      status: 415,
      body: {
        code: 'validation_failed',
        message: expect.stringMatching(/Content-Type application\/octet-stream.*expected application\/json/),
      },
    });
    expect(await store.getEntitlement('purchasely:subs_binary')).toBeNull();
  });

  it('should answer 200 and record as ignored an event that does not drive access', async () => {
    const payload = activate('subs_lifecycle', 'u-lifecycle', {
      event_name: 'RENEWAL_DISABLED',
      subscription_status: 'AUTO_RENEWING_CANCELED',
    });
    const reply = await send(payload);

    expect(reply).toMatchObject({
      status: 200,
      body: { outcome: 'ignored', reason: expect.stringContaining('RENEWAL_DISABLED') },
    });
    expect(await eventRecord(payload.event_id as string)).toMatchObject({
      outcome: 'ignored',
      eventType: 'RENEWAL_DISABLED',
    });
    expect(await store.getEntitlement('purchasely:subs_lifecycle')).toBeNull();
  });

  it('should answer 200 with outcome invalid for a product missing from config/products.yaml, and record it for replay', async () => {
    // Purchasely's recorded sample as is: product PURCHASELY_PLUS is not mapped in config/products.yaml.
    const payload = { ...recordedActivate, ...at(1_000), event_id: randomUUID(), environment: 'PRODUCTION' };
    const reply = await send(payload);

    expect(reply).toEqual({
      status: 200,
      body: {
        outcome: 'invalid',
        eventKey: payload.event_id,
        reason: 'unknown purchasely product "PURCHASELY_PLUS": add it to config/products.yaml',
      },
    });
    expect(await eventRecord(payload.event_id)).toMatchObject({ outcome: 'invalid', raw: JSON.stringify(payload) });
    expect(
      await store.getEntitlement(`purchasely:${recordedActivate.purchasely_subscription_id as string}`),
    ).toBeNull();
  });

  it('should move the entitlement to the new user on SUBSCRIPTION_TRANSFERRED', async () => {
    await send(activate('subs_move', 'u-giver', at(3_000)));
    expect(await accessIds('user:u-giver')).toEqual(['purchasely:subs_move']);

    const transfer = activate('subs_move', 'u-giver', {
      ...at(1_000),
      event_name: 'SUBSCRIPTION_TRANSFERRED',
      transferred_to_user_id: 'u-taker',
    });
    expect((await send(transfer)).body.outcome).toBe('applied');

    expect(await accessIds('user:u-giver')).toEqual([]);
    expect(await accessIds('user:u-taker')).toEqual(['purchasely:subs_move']);
    expect(await store.getEntitlement('purchasely:subs_move')).toMatchObject({
      subject: { key: 'user:u-taker', userId: 'u-taker' },
      active: true,
      details: expect.objectContaining({ transferredFrom: 'user:u-giver' }),
    });
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it.each([
    ['SUBSCRIPTION_TRANSFERRED', 'ON_HOLD'],
    ['SUBSCRIPTION_RECEIVED', 'PAUSED'],
  ])(
    'should take a subscription out of access/ on %s with subscription_status %s (suspended)',
    async (name, status) => {
      const sub = `subs_${status.toLowerCase()}`;
      await send(activate(sub, `u-${sub}-giver`, at(3_000)));
      expect(await accessIds(`user:u-${sub}-giver`)).toEqual([`purchasely:${sub}`]);
      const taker = `u-${sub}-taker`;
      const event =
        name === 'SUBSCRIPTION_TRANSFERRED'
          ? activate(sub, `u-${sub}-giver`, { ...at(1_000), event_name: name, transferred_to_user_id: taker })
          : activate(sub, taker, { ...at(1_000), event_name: name, transferred_from_user_id: `u-${sub}-giver` });
      expect((await send({ ...event, subscription_status: status })).body.outcome).toBe('applied');
      expect(await store.getEntitlement(`purchasely:${sub}`)).toMatchObject({
        status: 'suspended',
        providerState: status,
        active: false,
      });
      expect(await accessIds(`user:u-${sub}-giver`)).toEqual([]);
      expect(await accessIds(`user:${taker}`)).toEqual([]);
      expect(await accessInvariantViolations(db)).toEqual([]);
    },
  );

  it('should keep an anonymous purchase under anon:purchasely:<id> and move it to the user once user_id is known', async () => {
    const anonymous = activate('subs_anon', 'ignored', { ...at(2_000), user_id: null, anonymous_user_id: 'anon-42' });
    expect((await send(anonymous)).body.outcome).toBe('applied');
    expect(await accessIds('anon:purchasely:anon-42')).toEqual(['purchasely:subs_anon']);

    await send(activate('subs_anon', 'u-logged-in', { ...at(1_000), anonymous_user_id: 'anon-42' }));
    expect(await accessIds('anon:purchasely:anon-42')).toEqual([]);
    expect(await accessIds('user:u-logged-in')).toEqual(['purchasely:subs_anon']);
  });

  describe('with sandbox: ignore and deprecated signatures allowed', () => {
    let strict: RunningApp;

    beforeAll(async () => {
      const base = testConfig({ PURCHASELY_SECRETS: NEW_SECRET, PURCHASELY_ALLOW_DEPRECATED_SIGNATURES: 'true' });
      const config: AppConfig = {
        ...base,
        policy: { ...base.policy, webhooks: { ...base.policy.webhooks, purchasely: { sandbox: 'ignore' } } },
      };
      strict = await startApp({ config, clock });
    });
    afterAll(() => strict.close());

    it('should answer 200 and record a SANDBOX event as ignored, applying nothing', async () => {
      const payload = activate('subs_sandbox', 'u-sandbox', { environment: 'SANDBOX' });
      const reply = await send(payload, {}, strict.url);

      expect(reply).toMatchObject({
        status: 200,
        body: { outcome: 'ignored', reason: expect.stringContaining('SANDBOX') },
      });
      const snap = await strict.app
        .get(Firestore)
        .collection('events')
        .doc(eventDocumentId('purchasely', payload.event_id as string))
        .get();
      expect(snap.get('outcome')).toBe('ignored');
      expect(await strict.app.get(EntitlementStore).getEntitlement('purchasely:subs_sandbox')).toBeNull();
      // The same event from production applies.
      expect(
        (await send({ ...payload, event_id: randomUUID(), environment: 'PRODUCTION' }, {}, strict.url)).body.outcome,
      ).toBe('applied');
    });

    it('should accept the deprecated x-purchasely-signature scheme once it is switched on', async () => {
      const timestamp = String(Math.floor(NOW.getTime() / 1000));
      const reply = await send(
        activate('subs_deprecated_on', 'u-deprecated'),
        {
          timestamp,
          headers: {
            'x-purchasely-signature': hmacSha256Hex(NEW_SECRET, NEW_SECRET + timestamp),
            'x-purchasely-request-signature': '',
          },
        },
        strict.url,
      );
      expect(reply).toMatchObject({ status: 200, body: { outcome: 'applied' } });
    });
  });

  it('should answer 503 "not configured" and store nothing when PURCHASELY_SECRETS is not set', async () => {
    const unconfigured = await startApp({ config: testConfig(), clock });
    try {
      const payload = activate('subs_unconfigured', 'u-unconfigured');
      const unsigned = await fetch(`${unconfigured.url}/webhooks/purchasely`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      expect(unsigned.status).toBe(503);
      expect(await unsigned.json()).toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('PURCHASELY_SECRETS'),
      });
      expect((await send(payload, {}, unconfigured.url)).status).toBe(503);

      const events = await unconfigured.app.get(Firestore).collection('events').get();
      expect(events.size).toBe(0);
    } finally {
      await unconfigured.close();
    }
  });
});
