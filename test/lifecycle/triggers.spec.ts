import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/config/app-config.js';
import { testConfig } from '../support/app.js';
import { change } from '../support/changes.js';
import { eventually } from '../support/marketplace.js';
import { createTestKey, startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { DAY, startLifecycleApp, T0, type LifecycleApp } from './support.js';

const AUDIENCE = 'https://entitlements.example.run.app/lifecycle';
const SCHEDULER_SA = 'lifecycle-scheduler@acme-prod.iam.gserviceaccount.com';
const ENDPOINTS = ['expire', 'expiring', 'reconcile', 'check-decisions', 'publish-outbox'] as const;

describe('Lifecycle triggers for Cloud Scheduler (OIDC)', () => {
  let issuer: TestIssuer;
  let app: LifecycleApp;

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'https://accounts.google.com',
      aud: AUDIENCE,
      email: SCHEDULER_SA,
      email_verified: true,
      sub: '1234567890',
      iat: now,
      exp: now + 3600,
      ...overrides,
    };
  };

  const post = (target: LifecycleApp, endpoint: string, token?: string) =>
    fetch(`${target.running.url}/lifecycle/v1/${endpoint}`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  beforeAll(async () => {
    issuer = await startTestIssuer();
    app = await startLifecycleApp({
      env: {
        SCHEDULER_AUDIENCE: AUDIENCE,
        SCHEDULER_SERVICE_ACCOUNT: SCHEDULER_SA,
        GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl,
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await issuer.close();
  });

  it('should refuse every trigger without a valid scheduler token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refusals: [string, string | undefined, number][] = [
      ['no token', undefined, 401],
      ['not a JWT', 'not-a-token', 401],
      ['another audience', await issuer.sign(claims({ aud: 'https://elsewhere.example' })), 401],
      ['another issuer', await issuer.sign(claims({ iss: 'https://evil.example' })), 401],
      ['expired', await issuer.sign(claims({ iat: now - 7200, exp: now - 3600 })), 401],
      ['email not verified', await issuer.sign(claims({ email_verified: false })), 401],
      [
        'signed by a key Google does not publish',
        await issuer.sign(claims(), { key: await createTestKey(issuer.currentKey.kid) }),
        401,
      ],
      [
        'another service account',
        await issuer.sign(claims({ email: 'someone@acme-prod.iam.gserviceaccount.com' })),
        403,
      ],
    ];
    for (const endpoint of ENDPOINTS) {
      for (const [what, token, status] of refusals) {
        const response = await post(app, endpoint, token);
        expect([endpoint, what, response.status]).toEqual([endpoint, what, status]);
        expect(await response.json()).toMatchObject({ code: status === 401 ? 'unauthenticated' : 'forbidden' });
      }
    }
  });

  it('should run each job for the scheduler and answer its report', async () => {
    await app.apply(
      change({
        externalId: 'trig',
        subject: { key: 'user:trig' },
        sourceTime: T0,
        validUntil: new Date(T0.getTime() + DAY),
      }),
    );
    app.clock.set(new Date(T0.getTime() + 3 * DAY));
    const token = await issuer.sign(claims());

    const expire = await post(app, 'expire', token);
    expect(expire.status).toBe(200);
    expect(await expire.json()).toMatchObject({
      runId: expect.stringMatching(/^expire-/),
      expired: 1,
      started: 0,
      errors: [],
      publish: { topic: null },
    });
    expect(await app.store.getEntitlement('purchasely:trig')).toMatchObject({ status: 'expired', active: false });

    const expiring = await post(app, 'expiring', token);
    expect(await expiring.json()).toMatchObject({
      runId: expect.stringMatching(/^expiring-/),
      emitted: 0,
      leadDays: 3,
    });
    const reconcile = await post(app, 'reconcile', token);
    expect(await reconcile.json()).toMatchObject({ drift: [], skipped: 'MARKETPLACE_PROVIDER_ID is not configured' });
    const decisions = await post(app, 'check-decisions', token);
    expect(await decisions.json()).toMatchObject({
      runId: expect.stringMatching(/^decisions-/),
      limitHours: 24,
      checked: 0,
      overdue: 0,
      complete: true,
    });
    const publish = await post(app, 'publish-outbox', token);
    expect(publish.status).toBe(200);
    expect(await publish.json()).toMatchObject({ runId: expect.stringMatching(/^publish-/), published: 0 });
  });

  it('should not expose the triggers when the scheduler is not configured', async () => {
    const bare = await startLifecycleApp();
    try {
      for (const endpoint of ENDPOINTS)
        expect((await post(bare, endpoint, await issuer.sign(claims()))).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('should refuse a scheduler audience without its service account at start-up', () => {
    expect(() => testConfig({ SCHEDULER_AUDIENCE: AUDIENCE })).toThrow(ConfigError);
    expect(() => testConfig({ SCHEDULER_AUDIENCE: AUDIENCE })).toThrow(/SCHEDULER_SERVICE_ACCOUNT/);
  });
});

describe('Lifecycle timer (local run)', () => {
  it('should expire due entitlements by itself when LIFECYCLE_TIMER_SECONDS is set, and stop with the app', async () => {
    const app = await startLifecycleApp({ env: { LIFECYCLE_TIMER_SECONDS: '1' } });
    try {
      await app.apply(
        change({
          externalId: 'timed',
          subject: { key: 'user:timed' },
          sourceTime: T0,
          validUntil: new Date(T0.getTime() + DAY),
        }),
      );
      app.clock.set(new Date(T0.getTime() + 3 * DAY));
      const ended = await eventually(async () => {
        const e = await app.store.getEntitlement('purchasely:timed');
        return e?.status === 'expired' ? e : undefined;
      }, 15_000);
      expect(ended.lastEvent.type).toBe('LIFECYCLE_EXPIRED');
      expect(app.logLines().some((l) => l.message === 'lifecycle timer on')).toBe(true);
    } finally {
      const closing = Date.now();
      await app.close();
      expect(Date.now() - closing).toBeLessThan(10_000);
    }
  });

  it('should stay off by default', async () => {
    const app = await startLifecycleApp();
    try {
      await app.apply(
        change({
          externalId: 'idle',
          subject: { key: 'user:idle' },
          sourceTime: T0,
          validUntil: new Date(T0.getTime() + DAY),
        }),
      );
      app.clock.set(new Date(T0.getTime() + 3 * DAY));
      await new Promise((r) => setTimeout(r, 2_500));
      expect((await app.store.getEntitlement('purchasely:idle'))?.active).toBe(true);
      expect(app.logLines().some((l) => l.message === 'lifecycle timer on')).toBe(false);
    } finally {
      await app.close();
    }
  });
});
