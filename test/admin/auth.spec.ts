import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module.js';
import { SystemClock } from '../../src/entitlements/clock.js';
import { memoryLogger } from '../support/app.js';
import { createTestKey } from '../support/test-issuer.js';
import { APPROVER, newApiKey, startAdminStack, VIEWER, VIEWER_DOMAIN, type AdminStack } from './admin-stack.js';
import { FastifyAdapter } from '@nestjs/platform-fastify';

const BURST = 5;
/** Failed authentications a client address may make at once (the other tests here fail fewer from 127.0.0.1). */
const FAILURES = 40;

/** A controller under /admin that forgot `@AdminRoute`: the guard must refuse it, whoever calls. */
@Controller('admin/v1/forgotten')
class ForgottenController {
  @Get()
  open(): { secret: string } {
    return { secret: 'should never be served' };
  }
}

describe('Admin API authentication, roles and rate limit', () => {
  let stack: AdminStack;

  beforeAll(async () => {
    stack = await startAdminStack({
      env: {
        ADMIN_RATE_LIMIT_PER_MINUTE: '6',
        ADMIN_RATE_LIMIT_BURST: String(BURST),
        ADMIN_AUTH_FAILURES_PER_MINUTE: String(FAILURES),
      },
    });
  });
  afterAll(() => stack.close());

  it('should answer 401 without credentials, on reads and actions; another path case is no route (404)', async () => {
    for (const [method, path] of [
      ['GET', '/admin/v1/entitlements'],
      ['GET', '/admin/v1/openapi.json'],
      ['POST', '/admin/v1/entitlements/gcp:x/approve'],
    ] as const) {
      const response = await stack.call(method, path);
      expect({ path, status: response.status, code: response.body.code }).toEqual({
        path,
        status: 401,
        code: 'unauthenticated',
      });
    }
    // Routes match case-sensitively (Fastify): nothing is served under another case, with or without credentials.
    for (const caller of [{}, { apiKey: stack.keys.viewer }]) {
      const response = await stack.call('GET', '/ADMIN/v1/Entitlements', caller);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 404, code: 'not_found' });
    }
  });

  it('should answer 401 for an unknown API key, sent either way', async () => {
    for (const caller of [{ apiKey: newApiKey() }, { bearerKey: newApiKey() }, { apiKey: '' }]) {
      const response = await stack.call('GET', '/admin/v1/me', caller);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'unauthenticated', errorId: expect.any(String) });
    }
  });

  it('should know named keys and listed people, with their roles', async () => {
    const cases: [object, object][] = [
      [{ apiKey: stack.keys.approver }, { kind: 'api-key', id: 'robot-approver', role: 'approver' }],
      [{ bearerKey: stack.keys.viewer }, { kind: 'api-key', id: 'robot-viewer', role: 'viewer' }],
      [{ token: await stack.idToken(APPROVER) }, { kind: 'user', id: APPROVER, role: 'approver' }],
      [{ token: await stack.idToken(VIEWER.toUpperCase()) }, { kind: 'user', id: VIEWER, role: 'viewer' }],
      [
        { token: await stack.idToken(`someone@${VIEWER_DOMAIN}`, { hd: VIEWER_DOMAIN }) },
        { kind: 'user', id: `someone@${VIEWER_DOMAIN}`, role: 'viewer' },
      ],
    ];
    for (const [caller, principal] of cases) {
      const response = await stack.call('GET', '/admin/v1/me', caller);
      expect(response.status).toBe(200);
      expect(response.body).toEqual(principal);
    }
  });

  it('should answer 403 when a viewer approves, and call nothing', async () => {
    const { entitlementId } = await stack.deliver.buy({
      product: 'demo-product.endpoints.demo-entitlements.cloud.goog',
      plan: 'enterprise',
    });
    for (const caller of [{ apiKey: stack.keys.viewer }, { token: await stack.idToken(VIEWER) }]) {
      const response = await stack.call('POST', `/admin/v1/entitlements/gcp:${entitlementId}/approve`, caller);
      expect(response.status).toBe(403);
      expect(response.body).toMatchObject({ code: 'forbidden', details: { requiredRole: 'approver', role: 'viewer' } });
    }
    expect(stack.fake.countCalls('entitlements.approve', entitlementId)).toBe(0);
    expect(stack.fake.countCalls('entitlements.get', entitlementId)).toBe(1); // only the policy's read on delivery
    expect((await stack.db.collection('audit').where('target.id', '==', `gcp:${entitlementId}`).get()).size).toBe(0);
  });

  it('should refuse ID tokens that are not valid for the admin audience, or of people who are not listed', async () => {
    const foreign = await createTestKey(stack.issuer.currentKey.kid);
    const cases: [string, string, number][] = [
      ['wrong audience', await stack.idToken(APPROVER, { aud: 'https://other.example' }), 401],
      ['email not verified', await stack.idToken(APPROVER, { email_verified: false }), 401],
      ['expired', await stack.idToken(APPROVER, { iat: 1_700_000_000, exp: 1_700_003_600 }), 401],
      [
        'forged',
        await stack.issuer.sign(
          { iss: 'https://accounts.google.com', aud: 'x', email: APPROVER, email_verified: true, sub: '1' },
          { key: foreign },
        ),
        401,
      ],
      ['not listed', await stack.idToken('intruder@example.com'), 403],
      // A consumer account can hold a verified address of any domain: the domain rule needs the Workspace `hd`.
      ['domain without hd', await stack.idToken(`someone@${VIEWER_DOMAIN}`), 403],
      ['other hd', await stack.idToken(`someone@${VIEWER_DOMAIN}`, { hd: 'evil.example' }), 403],
    ];
    for (const [name, token, status] of cases) {
      const response = await stack.call('GET', '/admin/v1/me', { token });
      expect({ name, status: response.status }).toEqual({ name, status });
    }
  });

  it('should answer 429 with Retry-After once a caller used up its bucket, without slowing other callers', async () => {
    const limited = { apiKey: stack.keys.limited };
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<AdminStack['call']>> | undefined;
    for (let i = 0; i < BURST + 2; i++) {
      const response = await stack.call('GET', '/admin/v1/me', limited);
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
    }
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200));
    expect(statuses.slice(BURST)).toEqual([429, 429]);
    expect(refused?.body).toMatchObject({ code: 'rate_limited' });
    // 6 per minute: the next token comes within 10 s.
    const retryAfter = Number(refused?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect((await stack.call('GET', '/admin/v1/me', { apiKey: stack.keys.approver })).status).toBe(200);
  });

  it('should answer 429 to a client that keeps failing authentication, and still let valid credentials through', async () => {
    const from = (ip: string, headers: Record<string, string>) =>
      fetch(`${stack.app.url}/admin/v1/me`, { headers: { 'x-forwarded-for': ip, ...headers } });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 300; i++) {
      // What the client writes left of the address Cloud Run appends changes nothing.
      const response = await from(`10.0.${i % 250}.1, 203.0.113.7`, { 'x-api-key': newApiKey() });
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
    }
    expect(statuses.slice(0, FAILURES)).toEqual(Array(FAILURES).fill(401));
    // The bucket refills at FAILURES per minute (real time here): a slow machine lets a few more 401s through.
    const later = statuses.slice(FAILURES);
    expect(later.filter((s) => s !== 429 && s !== 401)).toEqual([]);
    expect(later.filter((s) => s === 429).length).toBeGreaterThanOrEqual(later.length - 10);
    expect(await refused!.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Wrong ID tokens and no credentials at all count the same.
    expect((await from('203.0.113.7', { authorization: 'Bearer a.b.c' })).status).toBe(429);
    expect((await from('203.0.113.7', {})).status).toBe(429);
    // A valid key from the same address passes; another address is not slowed.
    expect((await from('203.0.113.7', { 'x-api-key': stack.keys.viewer })).status).toBe(200);
    expect((await from('198.51.100.9', { 'x-api-key': newApiKey() })).status).toBe(401);
  });

  it('should answer 400 to admin path ids and cursors Firestore cannot hold, never 503', async () => {
    // A caller of its own per request: the per-caller bucket is small in this suite.
    let n = 0;
    const viewer = async () => ({
      token: await stack.idToken(`ids-${n++}@${VIEWER_DOMAIN}`, { hd: VIEWER_DOMAIN }),
    });
    for (const path of [
      '/admin/v1/events/__name__',
      '/admin/v1/entitlements/__name__',
      '/admin/v1/accounts/__key__',
      `/admin/v1/events/${'é'.repeat(800)}`,
      `/admin/v1/audit?cursor=${Buffer.from('__name__').toString('base64url')}`,
    ]) {
      const response = await stack.call('GET', path, await viewer());
      expect({ path: path.slice(0, 40), status: response.status, code: response.body.code }).toEqual({
        path: path.slice(0, 40),
        status: 400,
        code: 'validation_failed',
      });
    }
    expect((await stack.call('GET', '/admin/v1/events/easycart:never-recorded', await viewer())).status).toBe(404);
  });
});

describe('Admin API deny-by-default', () => {
  let app: INestApplication;
  let url: string;
  let stack: AdminStack;

  beforeAll(async () => {
    stack = await startAdminStack();
    // The same app module with one more controller under /admin that declares no role.
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppModule.register({ config: stack.app.config, logger: memoryLogger().logger, clock: new SystemClock() }),
      ],
      controllers: [ForgottenController],
    }).compile();
    app = moduleRef.createNestApplication(new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app.close();
    await stack.close();
  });

  it('should refuse a route under /admin that declares no role, even to an approver, and list it without a role', async () => {
    const response = await fetch(`${url}/admin/v1/forgotten`, { headers: { 'x-api-key': stack.keys.approver } });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'forbidden' });
    const document = await fetch(`${url}/admin/v1/openapi.json`, { headers: { 'x-api-key': stack.keys.approver } });
    const paths = ((await document.json()) as { paths: Record<string, Record<string, { 'x-required-role': unknown }>> })
      .paths;
    expect(paths['/admin/v1/forgotten']?.get?.['x-required-role']).toBeNull();
  });

  it('should leave routes outside /admin to their own rules', async () => {
    const health = await fetch(`${url}/health/live`);
    expect(health.ok).toBe(true);
  });
});
