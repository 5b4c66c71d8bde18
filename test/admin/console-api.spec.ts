import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pickEncoding } from '../../src/admin/console/console-route.js';
import { ConfigError, loadConfig } from '../../src/config/app-config.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { entitlementWhere, PRODUCT } from '../support/marketplace.js';
import { GETCOURSE_TOKEN, getCourseCall, purchaseActive } from '../support/webhook-senders.js';
import { startAdminStack, type AdminStack, type Caller } from './admin-stack.js';

const LOCAL_APPROVER_KEY = 'local-approver-key-0123456789abcdef';
const LOCAL_VIEWER_KEY = 'local-viewer-key-0123456789abcdefgh';
const LOCAL_KEYS = `local-approver:approver:${LOCAL_APPROVER_KEY},local-viewer:viewer:${LOCAL_VIEWER_KEY}`;

/**
 * What the admin console stands on, over real HTTP through the real bootstrap() on the emulators: the page and its
 * headers, the local-only sign-in, and the reads its pages make (sign-ups, search, an entitlement's events, event
 * counts, lifecycle runs). The browser itself is driven in test/console/console.e2e.spec.ts.
 */
describe('Admin console: the page, its sign-in and the reads it makes', () => {
  let stack: AdminStack;
  const approver: Caller = { apiKey: LOCAL_APPROVER_KEY };
  const viewer: Caller = { apiKey: LOCAL_VIEWER_KEY };

  beforeAll(async () => {
    stack = await startAdminStack({ env: { ADMIN_LOCAL_KEYS: LOCAL_KEYS, GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN } });
  });
  afterAll(() => stack.close());

  async function get(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${stack.app.url}${path}`, { headers, redirect: 'manual' });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  }

  describe('the local-only sign-in (ADMIN_LOCAL_KEYS)', () => {
    const base = { GOOGLE_CLOUD_PROJECT: 'demo-entitlements', CONFIG_DIR: 'config', ADMIN_LOCAL_KEYS: LOCAL_KEYS };

    it('should be refused by the production configuration, naming the setting', () => {
      expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base })).toThrow(/ADMIN_LOCAL_KEYS: only for a local sandbox/);
      expect(loadConfig({ ...base, NODE_ENV: 'development' }).env.ADMIN_LOCAL_KEYS).toHaveLength(2);
    });

    it('should refuse malformed entries without echoing the key', () => {
      const error = (() => {
        try {
          loadConfig({ ...base, NODE_ENV: 'development', ADMIN_LOCAL_KEYS: 'ops:approver:short-secret' });
        } catch (e) {
          return e as ConfigError;
        }
      })();
      expect(error?.message).toContain('ADMIN_LOCAL_KEYS');
      expect(error?.message).not.toContain('short-secret');
    });

    it('should sign in as the named key with its role, and an unknown key not at all', async () => {
      expect((await stack.call('GET', '/admin/v1/me', approver)).body).toEqual({
        kind: 'api-key',
        id: 'local-approver',
        role: 'approver',
      });
      expect((await stack.call('GET', '/admin/v1/me', viewer)).body).toMatchObject({ role: 'viewer' });
      expect((await stack.call('GET', '/admin/v1/me', { apiKey: `${LOCAL_VIEWER_KEY}x` })).status).toBe(401);
      const refused = await stack.call('POST', '/admin/v1/entitlements/gcp:nothing/approve', viewer, {});
      expect(refused.status).toBe(403);
    });
  });

  describe('the page at /admin/console/', () => {
    it('should serve the built page under a strict CSP, with its assets and no inline script', async () => {
      const { response, body } = await get('/admin/console/');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      // ADMIN_AUDIENCE here is a Cloud Run URL, not an OAuth client id: no Google origin is allowed.
      expect(csp).not.toContain('accounts.google.com');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const html = body.toString('utf8');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\sstyle=|\son\w+=/);
      const script = /<script type="module" src="(assets\/app-[\w-]+\.js)">/.exec(html)?.[1];
      const style = /<link rel="stylesheet" href="(assets\/app-[\w-]+\.css)"/.exec(html)?.[1];
      for (const asset of [script, style]) {
        const served = await get(`/admin/console/${asset}`);
        expect({ asset, status: served.response.status }).toEqual({ asset, status: 200 });
        expect(served.response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        expect(served.response.headers.get('content-security-policy')).toBe(csp);
      }
    });

    it('should send the compressed copy a browser accepts, and the plain file otherwise', async () => {
      const html = (await get('/admin/console/')).body.toString('utf8');
      const script = /src="(assets\/[^"]+\.js)"/.exec(html)![1]!;
      const plain = await get(`/admin/console/${script}`, { 'accept-encoding': 'identity' });
      expect(plain.response.headers.get('content-encoding')).toBeNull();
      const gzip = await get(`/admin/console/${script}`, { 'accept-encoding': 'gzip' });
      expect(gzip.response.headers.get('content-encoding')).toBe('gzip');
      expect(gzip.response.headers.get('vary')).toBe('accept-encoding');
      // fetch decodes what it asked for: the same bytes arrive, so the copy was valid gzip of this very file.
      expect(gzip.body.equals(plain.body)).toBe(true);
      expect(pickEncoding('gzip, deflate, br', new Set(['br', 'gzip']))).toBe('br');
      expect(pickEncoding('br;q=0, gzip', new Set(['br', 'gzip']))).toBe('gzip');
      expect(pickEncoding('*', new Set(['gzip']))).toBe('gzip');
      expect(pickEncoding('', new Set(['br', 'gzip']))).toBe('identity');
    });

    it('should tell the page which sign-in to offer, redirect the bare path, and 404 what is not there', async () => {
      const config = await get('/admin/console/config.json');
      expect(JSON.parse(config.body.toString())).toEqual({
        googleClientId: null,
        localSignIn: true,
        maxReasonBytes: 256,
      });
      expect(config.response.headers.get('cache-control')).toBe('no-store');
      const bare = await get('/admin/console');
      expect(bare.response.status).toBe(308);
      expect(bare.response.headers.get('location')).toBe('/admin/console/');
      expect((await get('/admin/console/assets/nothing.js')).response.status).toBe(404);
      expect((await get('/admin/console/../../package.json')).response.status).toBe(404);
      expect((await get('/admin/console/%2e%2e/%2e%2e/package.json')).response.status).toBe(404);
    });
  });

  describe('the reads behind the pages', () => {
    it('should list pending sign-ups only, without the sign-up token data', async () => {
      const { accountId: pending } = await stack.deliver.signUpAccount();
      const { accountId: approved } = await stack.deliver.signUpAccount();
      expect((await stack.call('POST', `/admin/v1/accounts/${approved}/approve`, approver)).status).toBe(200);
      await stack.deliver.buy({ accountId: pending, product: PRODUCT, plan: 'pro' });
      const listed = await stack.call('GET', '/admin/v1/accounts?signup=PENDING', viewer);
      expect(listed.status).toBe(200);
      const ids = listed.body.items.map((a: { accountId: string }) => a.accountId);
      expect(ids).toContain(pending);
      expect(ids).not.toContain(approved);
      const row = listed.body.items.find((a: { accountId: string }) => a.accountId === pending);
      expect(row).toMatchObject({ signup: { state: 'PENDING' }, state: expect.any(String) });
      expect(row).not.toHaveProperty('google');
      expect((await stack.call('GET', '/admin/v1/accounts?signup=MAYBE', viewer)).status).toBe(400);
    });

    it("should find entitlements by the subject's e-mail (any case) and user id, and list an entitlement's events", async () => {
      const email = `Reader.${Date.now()}@Example.com`;
      const purchase = `p-${Date.now()}`;
      expect((await getCourseCall(stack.app, purchaseActive(purchase, email))).status).toBe(200);
      const byEmail = await stack.call('GET', `/admin/v1/entitlements?email=${encodeURIComponent(email)}`, viewer);
      expect(byEmail.status).toBe(200);
      expect(byEmail.body.items).toHaveLength(1);
      const found = byEmail.body.items[0] as { id: string; subject: { email: string } };
      expect(found.subject.email).toBe(email.toLowerCase());
      expect((await stack.call('GET', '/admin/v1/entitlements?email=nobody%40example.com', viewer)).body.items).toEqual(
        [],
      );

      const events = await stack.call('GET', `/admin/v1/entitlements/${encodeURIComponent(found.id)}/events`, viewer);
      expect(events.status).toBe(200);
      expect(events.body.items).toEqual([
        expect.objectContaining({ source: 'getcourse', outcome: 'applied', entitlementId: found.id }),
      ]);
      expect(events.body.items[0]).not.toHaveProperty('raw');

      const { accountId } = await stack.deliver.signUpAccount();
      await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver);
      const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
      await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval' || e.active);
      const gcpEvents = await stack.call('GET', `/admin/v1/entitlements/gcp:${entitlementId}/events`, viewer);
      expect(gcpEvents.body.items.map((e: { eventType: string }) => e.eventType)).toContain(
        'ENTITLEMENT_CREATION_REQUESTED',
      );
      // Nobody links Marketplace accounts in this suite: a user id finds nothing, and is still a valid query.
      expect((await stack.call('GET', '/admin/v1/entitlements?user=190442871', viewer)).body.items).toEqual([]);
    });

    it('should count the events of the last hours per source and outcome, zeros included', async () => {
      const before = await stack.call('GET', '/admin/v1/event-counts', viewer);
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ hours: 24, total: expect.any(Number) });
      expect(before.body.counts).toHaveLength(4 * 6);
      const applied = (body: typeof before.body, source: string) =>
        (body.counts as { source: string; outcome: string; count: number }[]).find(
          (c) => c.source === source && c.outcome === 'applied',
        )!.count;
      expect(
        (await getCourseCall(stack.app, purchaseActive(`c-${Date.now()}`, `count-${Date.now()}@example.com`))).status,
      ).toBe(200);
      const after = await stack.call('GET', '/admin/v1/event-counts?hours=1', viewer);
      expect(applied(after.body, 'getcourse')).toBeGreaterThanOrEqual(1);
      const sum = (after.body.counts as { count: number }[]).reduce((s, c) => s + c.count, 0);
      expect(after.body.total).toBe(sum);
      expect((await stack.call('GET', '/admin/v1/event-counts?hours=0', viewer)).status).toBe(400);
      expect((await stack.call('GET', '/admin/v1/event-counts?hours=169', viewer)).status).toBe(400);
    });

    it('should record each lifecycle run with its figures, newest first, failed runs included', async () => {
      const jobs = stack.app.app.get(LifecycleJobs);
      const expire = await jobs.expire();
      const reconcile = await jobs.reconcile();
      stack.fake.failNext(1, { method: 'accounts.list', status: 403 });
      await expect(jobs.reconcile()).rejects.toThrow();

      const runs = await stack.call('GET', '/admin/v1/runs', viewer);
      expect(runs.status).toBe(200);
      const [failed, second, first] = runs.body.items as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(first).toMatchObject({
        runId: expire.runId,
        job: 'expire',
        ok: true,
        figures: { expired: expire.expired, started: expire.started, errors: 0 },
      });
      expect(second).toMatchObject({
        runId: reconcile.runId,
        job: 'reconcile',
        ok: true,
        figures: { checked: reconcile.checked, drift: reconcile.drift.length, fixed: reconcile.fixed },
        report: { runId: reconcile.runId, errors: [] },
      });
      expect(failed).toMatchObject({ job: 'reconcile', ok: false, error: expect.any(String), report: null });
      expect(new Date(failed!.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(second!.startedAt).getTime());

      const onlyExpire = await stack.call('GET', '/admin/v1/runs?job=expire', viewer);
      expect(onlyExpire.body.items.map((r: { runId: string }) => r.runId)).toEqual([expire.runId]);
      const paged = await stack.call('GET', '/admin/v1/runs?pageSize=1', viewer);
      expect(paged.body.items).toHaveLength(1);
      const next = await stack.call('GET', `/admin/v1/runs?pageSize=1&cursor=${paged.body.nextCursor}`, viewer);
      expect(next.body.items[0].runId).toBe(second!.runId);
      expect((await stack.call('GET', '/admin/v1/runs?job=publish', viewer)).status).toBe(400);
    });
  });
});
