import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { cloudcommerceprocurement, type cloudcommerceprocurement_v1 } from '@googleapis/cloudcommerceprocurement';
import { OAuth2Client } from 'google-auth-library';
import type { Result } from './errors.js';
import { startFakeProcurement, type FakeProcurement } from './server.js';

const P = 'acme-saas-public';
const PRODUCT = 'acme-saas.endpoints.acme-public.cloud.goog';

const failedPrecondition = JSON.parse(
  readFileSync(new URL('./fixtures/error-failed-precondition.json', import.meta.url), 'utf8'),
) as unknown;

function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`set-up refused: ${result.error.message}`);
  return result.value;
}

/** What the generated client throws: a GaxiosError carrying the HTTP status and Google's body. */
interface ClientError {
  status?: number;
  response?: { status: number; data: unknown };
}

async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    return error as ClientError;
  }
  throw new Error('expected the call to fail');
}

describe('fake Procurement API server, driven by the generated client', () => {
  let fake: FakeProcurement;
  let api: cloudcommerceprocurement_v1.Cloudcommerceprocurement;
  let accountId: string;

  beforeAll(async () => {
    fake = await startFakeProcurement({ providerIds: [P, 'second-provider'] });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: 'test' });
    api = cloudcommerceprocurement({ version: 'v1', rootUrl: `${fake.url}/`, auth });
  });

  afterAll(async () => {
    await fake.close();
  });

  beforeEach(() => {
    fake.reset();
    accountId =
      must(fake.state.createAccount(P, { accountId: 'E-1A2B-3C4D-5E6F' }))
        .account?.name.split('/')
        .at(-1) ?? '';
  });

  function buy(plan = 'pro'): string {
    const outcome = must(fake.state.createEntitlement(P, { accountId, product: PRODUCT, plan, offerDuration: 'P1M' }));
    return outcome.entitlement?.name.split('/').at(-1) ?? '';
  }

  const entitlementName = (id: string): string => `providers/${P}/entitlements/${id}`;
  const accountName = (id: string): string => `providers/${P}/accounts/${id}`;

  it('should expose its URL without a trailing slash', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`);
  });

  describe('entitlements', () => {
    it('should get an entitlement as the real API returns it', async () => {
      const id = buy();

      const { data } = await api.providers.entitlements.get({ name: entitlementName(id) });
      const raw = await fetch(`${fake.url}/v1/${entitlementName(id)}`, { headers: { authorization: 'Bearer test' } });

      expect(data).toMatchObject({
        name: entitlementName(id),
        account: accountName(accountId),
        provider: P,
        plan: 'pro',
        state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
      });
      expect(raw.headers.get('content-type')).toBe('application/json; charset=UTF-8');
      expect(await raw.json()).toEqual(data);
    });

    it("should answer 404 NOT_FOUND in Google's error shape for an unknown entitlement", async () => {
      const error = await rejection(api.providers.entitlements.get({ name: entitlementName('missing') }));

      expect(error.status).toBe(404);
      expect(error.response?.data).toEqual({
        error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' },
      });
    });

    it('should answer 403 PERMISSION_DENIED for a provider it was not created for', async () => {
      const error = await rejection(api.providers.entitlements.get({ name: 'providers/intruder/entitlements/e1' }));

      expect(error.response?.data).toEqual({
        error: { code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' },
      });
    });

    it('should refuse approve with 400 FAILED_PRECONDITION until the account signup is approved', async () => {
      const id = buy();

      const error = await rejection(api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} }));
      expect(error.status).toBe(400);
      expect(error.response?.data).toEqual(failedPrecondition);

      await api.providers.accounts.approve({ name: accountName(accountId), requestBody: { approvalName: 'signup' } });
      const { data } = await api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} });
      expect(data).toEqual({});
      expect(fake.state.inspectEntitlement(P, id)).toMatchObject({ ok: true, value: { approved: true } });
    });

    it('should remove a rejected entitlement', async () => {
      const id = buy();

      await api.providers.entitlements.reject({ name: entitlementName(id), requestBody: { reason: 'not eligible' } });

      expect((await rejection(api.providers.entitlements.get({ name: entitlementName(id) }))).status).toBe(404);
    });

    it('should approve and reject plan changes only for the pending plan', async () => {
      const id = buy();
      fake.state.approveAccount(P, accountId);
      fake.state.approveEntitlement(P, id);
      fake.state.activateEntitlement(P, id);
      fake.state.requestPlanChange(P, id, { plan: 'enterprise' });

      const missing = await rejection(
        api.providers.entitlements.approvePlanChange({ name: entitlementName(id), requestBody: {} }),
      );
      expect(missing.response?.data).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      const stale = await rejection(
        api.providers.entitlements.approvePlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName: 'basic' },
        }),
      );
      expect(stale.response?.data).toEqual(failedPrecondition);

      await api.providers.entitlements.approvePlanChange({
        name: entitlementName(id),
        requestBody: { pendingPlanName: 'enterprise' },
      });
      const { data } = await api.providers.entitlements.get({ name: entitlementName(id) });
      expect(data).toMatchObject({ state: 'ENTITLEMENT_PENDING_PLAN_CHANGE', newPendingPlan: 'enterprise' });

      const tooLate = await rejection(
        api.providers.entitlements.rejectPlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName: 'enterprise' },
        }),
      );
      expect(tooLate.response?.data).toEqual(failedPrecondition);
    });

    it('should hand the messages Google publishes for provider calls to the publisher, after answering', async () => {
      const published: { eventType: string; entitlement?: { id: string } }[] = [];
      fake.setPublisher(async (message) => {
        published.push(message as (typeof published)[number]);
      });
      try {
        const id = buy();
        fake.state.approveAccount(P, accountId);
        fake.state.approveEntitlement(P, id);
        fake.state.activateEntitlement(P, id);
        fake.state.requestPlanChange(P, id, { plan: 'enterprise', takesEffect: 'now' });

        await api.providers.entitlements.approvePlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName: 'enterprise' },
        });
        await fake.idle();
        expect(published).toEqual([
          expect.objectContaining({
            eventType: 'ENTITLEMENT_PLAN_CHANGED',
            entitlement: expect.objectContaining({ id }),
          }),
        ]);
        expect((await api.providers.entitlements.get({ name: entitlementName(id) })).data).toMatchObject({
          state: 'ENTITLEMENT_ACTIVE',
          plan: 'enterprise',
        });

        fake.state.requestPlanChange(P, id, { plan: 'basic' });
        await api.providers.entitlements.rejectPlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlanName: 'basic', reason: 'not sold any more' },
        });
        await fake.idle();
        expect(published.map((m) => m.eventType)).toEqual([
          'ENTITLEMENT_PLAN_CHANGED',
          'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
        ]);
      } finally {
        fake.setPublisher(null);
      }
    });

    it('should keep those messages for another process to take when no publisher is set', async () => {
      const id = buy();
      fake.state.approveAccount(P, accountId);
      fake.state.approveEntitlement(P, id);
      fake.state.activateEntitlement(P, id);
      fake.state.requestPlanChange(P, id, { plan: 'enterprise' });
      await api.providers.entitlements.rejectPlanChange({
        name: entitlementName(id),
        requestBody: { pendingPlanName: 'enterprise' },
      });

      const take = async () =>
        (
          (await (await fetch(`${fake.url}/__control/messages:take`, { method: 'POST' })).json()) as {
            messages: { eventType: string }[];
          }
        ).messages.map((m) => m.eventType);
      expect(await take()).toEqual(['ENTITLEMENT_PLAN_CHANGE_CANCELLED']);
      expect(await take()).toEqual([]);
    });

    it('should answer accounts.get with the old account for the configured stale reads', async () => {
      await fetch(`${fake.url}/__control/consistency`, {
        method: 'POST',
        body: JSON.stringify({ staleAccountReads: 1 }),
      });
      await api.providers.accounts.approve({ name: accountName(accountId), requestBody: { approvalName: 'signup' } });

      const read = async () =>
        (await api.providers.accounts.get({ name: accountName(accountId) })).data.approvals?.[0]?.state;
      expect(await read()).toBe('PENDING');
      expect(await read()).toBe('APPROVED');
    });

    it('should patch messageToUser with an update mask', async () => {
      const id = buy();

      const { data } = await api.providers.entitlements.patch({
        name: entitlementName(id),
        updateMask: 'messageToUser',
        requestBody: { messageToUser: 'Provisioning, about 5 minutes' },
      });

      expect(data.messageToUser).toBe('Provisioning, about 5 minutes');
      expect(fake.calls.at(-1)).toMatchObject({
        method: 'entitlements.patch',
        httpMethod: 'PATCH',
        query: { updateMask: 'messageToUser' },
      });
    });

    it('should answer suspend with 501 UNIMPLEMENTED', async () => {
      const id = buy();

      const error = await rejection(
        api.providers.entitlements.suspend({ name: entitlementName(id), requestBody: { reason: 'abuse' } }),
      );

      expect(error.response?.data).toMatchObject({ error: { code: 501, status: 'UNIMPLEMENTED' } });
    });

    it("should refuse an unknown request field as Google's front end does", async () => {
      const id = buy();

      const error = await rejection(
        api.providers.entitlements.approvePlanChange({
          name: entitlementName(id),
          requestBody: { pendingPlan: 'x' } as cloudcommerceprocurement_v1.Schema$ApproveEntitlementPlanChangeRequest,
        }),
      );

      expect(error.response?.data).toEqual({
        error: {
          code: 400,
          message: 'Invalid JSON payload received. Unknown name "pendingPlan": Cannot find field.',
          status: 'INVALID_ARGUMENT',
        },
      });
    });
  });

  describe('listing', () => {
    it('should filter with the forms the service uses and page with an opaque token', async () => {
      const ids = [buy(), buy(), buy()];
      const filter = `account=${accountId} state=activation_requested`;

      const first = await api.providers.entitlements.list({ parent: `providers/${P}`, filter, pageSize: 2 });
      const second = await api.providers.entitlements.list({
        parent: `providers/${P}`,
        filter,
        pageSize: 2,
        pageToken: first.data.nextPageToken ?? '',
      });

      expect(first.data.entitlements?.map((e) => e.name)).toEqual(ids.slice(0, 2).map(entitlementName));
      expect(second.data.entitlements?.map((e) => e.name)).toEqual([entitlementName(ids[2] ?? '')]);
      expect(second.data.nextPageToken).toBeUndefined();
      expect(fake.calls[0]?.query).toEqual({ filter, pageSize: '2' });
    });

    it('should accept the ENTITLEMENT_ prefix and quoted full account names', async () => {
      buy();

      const { data } = await api.providers.entitlements.list({
        parent: `providers/${P}`,
        filter: `state=ENTITLEMENT_ACTIVATION_REQUESTED AND account="${accountName(accountId)}"`,
      });

      expect(data.entitlements).toHaveLength(1);
    });

    it('should answer {} when nothing matches and 400 INVALID_ARGUMENT for an unsupported filter', async () => {
      buy();

      expect(
        (await api.providers.entitlements.list({ parent: `providers/${P}`, filter: 'state=active' })).data,
      ).toEqual({});
      const error = await rejection(
        api.providers.entitlements.list({ parent: `providers/${P}`, filter: 'colour=red' }),
      );
      expect(error.response?.data).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    });

    it('should list accounts with paging', async () => {
      for (let i = 0; i < 3; i += 1) fake.state.createAccount(P);

      const first = await api.providers.accounts.list({ parent: `providers/${P}`, pageSize: 3 });
      const second = await api.providers.accounts.list({
        parent: `providers/${P}`,
        pageSize: 3,
        pageToken: first.data.nextPageToken ?? '',
      });

      expect(first.data.accounts).toHaveLength(3);
      expect(second.data.accounts).toHaveLength(1);
    });
  });

  describe('accounts', () => {
    it('should approve signup by default, refuse a second approval and reset back to pending', async () => {
      await api.providers.accounts.approve({ name: accountName(accountId), requestBody: {} });
      expect((await api.providers.accounts.get({ name: accountName(accountId) })).data.approvals?.[0]?.state).toBe(
        'APPROVED',
      );

      const again = await rejection(
        api.providers.accounts.approve({ name: accountName(accountId), requestBody: { approvalName: 'signup' } }),
      );
      expect(again.response?.data).toEqual(failedPrecondition);

      await api.providers.accounts.reset({ name: accountName(accountId), requestBody: {} });
      expect((await api.providers.accounts.get({ name: accountName(accountId) })).data.approvals?.[0]?.state).toBe(
        'PENDING',
      );
    });

    it('should refuse an unknown approval name with INVALID_ARGUMENT', async () => {
      const error = await rejection(
        api.providers.accounts.reject({ name: accountName(accountId), requestBody: { approvalName: 'kyc' } }),
      );

      expect(error.response?.data).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    });
  });

  describe('authentication', () => {
    it('should answer 401 UNAUTHENTICATED without a bearer token', async () => {
      const response = await fetch(`${fake.url}/v1/providers/${P}/entitlements`);

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      expect(await response.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    });

    it('should answer 401 for a malformed authorization header', async () => {
      const response = await fetch(`${fake.url}/v1/providers/${P}/entitlements`, {
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
      });

      expect(response.status).toBe(401);
    });
  });

  describe('observability and faults', () => {
    it('should record calls and count them per method and resource', async () => {
      const id = buy();
      await rejection(api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} }));
      await api.providers.entitlements.get({ name: entitlementName(id) });

      expect(fake.calls[0]).toEqual({
        method: 'entitlements.approve',
        httpMethod: 'POST',
        path: `/v1/providers/${P}/entitlements/${id}:approve`,
        query: {},
        name: entitlementName(id),
        body: {},
        status: 400,
      });
      expect(fake.countCalls('entitlements.approve')).toBe(1);
      expect(fake.countCalls('entitlements.approve', id)).toBe(1);
      expect(fake.countCalls('entitlements.approve', entitlementName('other'))).toBe(0);
      expect(fake.countCalls('entitlements.get', entitlementName(id))).toBe(1);
    });

    it("should fail the next calls with an injected status and Google's body", async () => {
      const id = buy();
      fake.failNext(1, { status: 503, method: 'entitlements.approve' });

      const error = await rejection(api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} }));

      expect(error.response?.data).toEqual({
        error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' },
      });
      expect(
        (await rejection(api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} }))).status,
      ).toBe(400);
    });

    it('should let the generated client retry an idempotent GET through an injected 429', async () => {
      // googleapis-common retries GET (not POST) on 429 and 5xx by default, three times with backoff.
      const id = buy();
      fake.failNext(1, { status: 429 });

      const { data } = await api.providers.entitlements.get({ name: entitlementName(id) });

      expect(data.name).toBe(entitlementName(id));
      expect(fake.calls.map((c) => c.status)).toEqual([429, 200]);
    });

    it('should delay responses by the configured latency', async () => {
      const id = buy();
      fake.setLatency(150);
      const started = performance.now();

      await api.providers.entitlements.get({ name: entitlementName(id) });

      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    });
  });

  describe('control API', () => {
    it('should not be reachable below /v1/', async () => {
      const response = await fetch(`${fake.url}/v1/__control/reset`, {
        method: 'POST',
        headers: { authorization: 'Bearer test' },
      });

      expect(response.status).toBe(404);
      expect(fake.state.allAccounts(P)).toHaveLength(1);
    });

    it('should perform a purchase and return the messages Google would publish', async () => {
      const response = await fetch(`${fake.url}/__control/providers/${P}/entitlements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId, product: PRODUCT, plan: 'pro' }),
      });
      const outcome = (await response.json()) as { entitlement: { name: string }; messages: { eventType: string }[] };

      expect(response.status).toBe(200);
      expect(outcome.messages.map((m) => m.eventType)).toEqual(['ENTITLEMENT_CREATION_REQUESTED']);
      expect((await api.providers.entitlements.get({ name: outcome.entitlement.name })).data.state).toBe(
        'ENTITLEMENT_ACTIVATION_REQUESTED',
      );
    });

    it("should refuse activation of an unapproved entitlement in Google's error shape", async () => {
      const id = buy();

      const response = await fetch(`${fake.url}/__control/providers/${P}/entitlements/${id}:activate`, {
        method: 'POST',
      });

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { code: 400, status: 'FAILED_PRECONDITION', message: expect.stringContaining('not been approved') },
      });
    });

    it('should let another process drift an entitlement, null removing a field', async () => {
      const id = buy();

      const response = await fetch(`${fake.url}/__control/providers/${P}/entitlements/${id}`, {
        method: 'PATCH',
        body: JSON.stringify({ plan: 'legacy', offerDuration: null }),
      });

      expect(response.status).toBe(200);
      const { data } = await api.providers.entitlements.get({ name: entitlementName(id) });
      expect(data.plan).toBe('legacy');
      expect(data).not.toHaveProperty('offerDuration');
    });

    it('should inject faults and expose calls for another process', async () => {
      await fetch(`${fake.url}/__control/faults`, {
        method: 'POST',
        body: JSON.stringify({ count: 1, status: 500, method: 'accounts.get' }),
      });

      const error = await rejection(api.providers.accounts.get({ name: accountName(accountId) }, { retry: false }));
      const calls = (await (await fetch(`${fake.url}/__control/calls`)).json()) as {
        calls: { method: string; status: number }[];
      };

      expect(error.status).toBe(500);
      expect(calls.calls).toEqual([expect.objectContaining({ method: 'accounts.get', status: 500 })]);
    });
  });
});
