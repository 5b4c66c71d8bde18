import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
// @ts-expect-error plain ESM helper without types
import { startFirestoreEmulator } from '../../scripts/emulators.mjs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { eventDocumentId } from '../../src/infrastructure/firestore/collections.js';
import { TransactionRunner } from '../../src/infrastructure/firestore/transaction-runner.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { UsageStore } from '../../src/usage/usage-store.js';
import { entitlementWhere, PRODUCT } from '../support/marketplace.js';
import { GETCOURSE_TOKEN, getCourseCall, getCourseRefusedKey, purchaseActive } from '../support/webhook-senders.js';
import { startAdminStack, type AdminResponse, type AdminStack, type Caller } from './admin-stack.js';

type Emulator = { host: string; port: number; stop(): Promise<void> };
type Method = 'GET' | 'POST';
type ResponseObject = { $ref?: string; content?: Record<string, { schema: { $ref?: string } }> };
type Document = {
  paths: Record<
    string,
    Record<string, { operationId: string; 'x-required-role': string; responses: Record<string, ResponseObject> }>
  >;
  components: {
    schemas: Record<string, unknown>;
    responses: Record<string, ResponseObject & { headers?: Record<string, unknown> }>;
  };
};

/** `$ref: '#/components/schemas/X'` → `#/$defs/X`, so that the components compile as one schema resource. */
function rehome(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rehome);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string'
        ? value.replace(/^#\/components\/schemas\//, '#/$defs/')
        : rehome(value),
    ]),
  );
}

/**
 * Every documented operation, driven through the real bootstrap() to each status code the served
 * /admin/v1/openapi.json documents for it, its real body validated (ajv, JSON Schema 2020-12, formats)
 * against the schema documented for that status. The schemas are the served ones, unchanged: their
 * objects say `additionalProperties: false`, so a field the document does not name fails here.
 * The service answering a status the operation does not document fails; so does a documented
 * (operation, status) pair this suite never observed.
 *
 * 200, 400, 404 and 409 come from the main stack. 401, 403, 429 and 503 come from a second one booted
 * on a Firestore that refuses every connection, its Procurement API failing too (503), with a rate
 * limit low enough to exhaust (429); 401/403/429 are answered before anything is read.
 */
describe('Admin API responses match the OpenAPI document (real bootstrap, emulators)', () => {
  const sharedHost = process.env.FIRESTORE_EMULATOR_HOST;
  let emulator: Emulator | undefined;
  let stack: AdminStack;
  let down: AdminStack;
  let document: Document;
  let approver: Caller;
  let viewer: Caller;
  const validators = new Map<string, ValidateFunction>();
  const observed = new Set<string>();

  beforeAll(async () => {
    stack = await startAdminStack({
      env: {
        GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
        ADMIN_RATE_LIMIT_PER_MINUTE: '100000',
        ADMIN_RATE_LIMIT_BURST: '10000',
      },
    });
    // A Firestore emulator of this suite's own for the second stack, stopped once it has booted (so stopping it
    // cannot disturb other suites), and started again on the same port before that stack closes.
    emulator = (await startFirestoreEmulator()) as Emulator;
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
    try {
      down = await startAdminStack({
        env: {
          ADMIN_RATE_LIMIT_PER_MINUTE: '1',
          ADMIN_RATE_LIMIT_BURST: '60',
          ADMIN_AUTH_FAILURES_PER_MINUTE: '10000',
        },
      });
    } finally {
      process.env.FIRESTORE_EMULATOR_HOST = sharedHost;
    }
    await emulator.stop();
    approver = { apiKey: stack.keys.approver };
    viewer = { apiKey: stack.keys.viewer };
    const served = await stack.call('GET', '/admin/v1/openapi.json', viewer);
    expect(served.status).toBe(200);
    document = served.body as Document;
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'components', $defs: rehome(document.components.schemas) });
    for (const name of Object.keys(document.components.schemas)) {
      validators.set(name, ajv.getSchema(`components#/$defs/${name}`)!);
    }
  }, 120_000);
  afterAll(async () => {
    // Firestore back first, and every read the second stack left retrying against it settled (the client retries
    // with backoff for up to a minute after the caller got its 503): closing it earlier would terminate the client
    // under those retries, and each would fail as "The client has already been terminated".
    if (emulator) emulator = (await startFirestoreEmulator({ port: emulator.port })) as Emulator;
    await down?.app.app.get(TransactionRunner).drain(150_000);
    await down?.close();
    await stack?.close();
    await emulator?.stop();
  }, 240_000);

  /** The schema name the document gives for (operation, status), or undefined when it does not list the status. */
  function documented(
    method: Method,
    template: string,
    status: number,
  ): { schema: string; headers: string[] } | undefined {
    const operation = document.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${template} is not in the document`);
    let response = operation.responses[String(status)];
    if (!response) return undefined;
    let headers: string[] = [];
    if (response.$ref) {
      const shared = document.components.responses[response.$ref.replace('#/components/responses/', '')]!;
      headers = Object.keys(shared.headers ?? {});
      response = shared;
    }
    const ref = response.content?.['application/json']?.schema.$ref ?? '';
    return { schema: ref.replace('#/components/schemas/', ''), headers };
  }

  /**
   * Calls `path` (an instance of `template`) and checks the answer against the document: its status is
   * one the operation lists, and its body (and documented headers) match what the document says for it.
   */
  async function check(
    on: AdminStack,
    method: Method,
    template: string,
    path: string,
    caller: Caller,
    body?: unknown,
  ): Promise<AdminResponse> {
    const response = await on.call(method, path, caller, body);
    const where = `${method} ${template} → ${response.status}`;
    const expected = documented(method, template, response.status);
    expect({ where, documented: expected !== undefined, body: expected ? undefined : response.body }).toEqual({
      where,
      documented: true,
      body: undefined,
    });
    observed.add(`${method.toLowerCase()} ${template} ${response.status}`);
    const validate = validators.get(expected!.schema);
    expect({ where, schema: expected!.schema, known: validate !== undefined }).toEqual({
      where,
      schema: expected!.schema,
      known: true,
    });
    validate!(response.body);
    expect({ where, errors: validate!.errors ?? null }).toEqual({ where, errors: null });
    for (const header of expected!.headers) {
      expect({ where, header, value: response.headers.get(header) }).toEqual({
        where,
        header,
        value: expect.stringMatching(/^\d+$/),
      });
    }
    return response;
  }

  /** `check` that also insists on one status. */
  async function expectStatus(
    status: number,
    on: AdminStack,
    method: Method,
    template: string,
    path: string,
    caller: Caller,
    body?: unknown,
  ): Promise<AdminResponse> {
    const response = await check(on, method, template, path, caller, body);
    expect({ where: `${method} ${path}`, status: response.status }).toEqual({ where: `${method} ${path}`, status });
    return response;
  }

  async function approvedAccount(): Promise<string> {
    const { accountId } = await stack.deliver.signUpAccount();
    const approved = await expectStatus(
      200,
      stack,
      'POST',
      '/admin/v1/accounts/{accountId}/approve',
      `/admin/v1/accounts/${accountId}/approve`,
      approver,
      { reason: 'known customer' },
    );
    expect(approved.body.approvedNow).toBe(true);
    return accountId!;
  }

  const ENTITLEMENT = '/admin/v1/entitlements/{id}';
  const ACCOUNT = '/admin/v1/accounts/{accountId}';
  const EVENT = '/admin/v1/events/{eventId}';
  const USAGE = '/admin/v1/usage/{entitlementId}';
  /** A path id Firestore cannot hold (a reserved `__…__` id): refused with 400 before anything is read. */
  const BAD_ID = '__reserved__';

  it('should answer the Marketplace decisions (200, 400, 404, 409) as documented', async () => {
    const accountId = await approvedAccount();
    await expectStatus(409, stack, 'POST', `${ACCOUNT}/approve`, `/admin/v1/accounts/${accountId}/approve`, approver);
    await expectStatus(
      404,
      stack,
      'POST',
      `${ACCOUNT}/approve`,
      '/admin/v1/accounts/no-such-account/approve',
      approver,
    );
    await expectStatus(400, stack, 'POST', `${ACCOUNT}/approve`, `/admin/v1/accounts/${accountId}/approve`, approver, {
      reason: 'x'.repeat(257),
    });

    const other = (await stack.deliver.signUpAccount()).accountId!;
    const reject = `/admin/v1/accounts/${other}/reject`;
    await expectStatus(400, stack, 'POST', `${ACCOUNT}/reject`, reject, approver, {});
    await expectStatus(200, stack, 'POST', `${ACCOUNT}/reject`, reject, approver, { reason: 'no such customer' });
    await expectStatus(409, stack, 'POST', `${ACCOUNT}/reject`, reject, approver, { reason: 'again' });
    await expectStatus(404, stack, 'POST', `${ACCOUNT}/reject`, '/admin/v1/accounts/no-such-account/reject', approver, {
      reason: 'x',
    });

    // Activation: an enterprise purchase waits for an admin.
    const { entitlementId: toApprove } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    await entitlementWhere(stack.store, toApprove!, (e) => e.status === 'pending_approval');
    const approve = `/admin/v1/entitlements/gcp:${toApprove}/approve`;
    await expectStatus(400, stack, 'POST', `${ENTITLEMENT}/approve`, approve, approver, { unexpected: true });
    await expectStatus(200, stack, 'POST', `${ENTITLEMENT}/approve`, approve, approver, { reason: 'contract signed' });
    await expectStatus(409, stack, 'POST', `${ENTITLEMENT}/approve`, approve, approver);
    await expectStatus(
      404,
      stack,
      'POST',
      `${ENTITLEMENT}/approve`,
      '/admin/v1/entitlements/gcp:nothing/approve',
      approver,
    );

    const { entitlementId: toReject } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    await entitlementWhere(stack.store, toReject!, (e) => e.status === 'pending_approval');
    const reject2 = `/admin/v1/entitlements/gcp:${toReject}/reject`;
    await expectStatus(400, stack, 'POST', `${ENTITLEMENT}/reject`, reject2, approver, {});
    await expectStatus(200, stack, 'POST', `${ENTITLEMENT}/reject`, reject2, approver, { reason: 'no contract' });
    await expectStatus(409, stack, 'POST', `${ENTITLEMENT}/reject`, reject2, approver, { reason: 'again' });
    await expectStatus(
      404,
      stack,
      'POST',
      `${ENTITLEMENT}/reject`,
      '/admin/v1/entitlements/gcp:nothing/reject',
      approver,
      {
        reason: 'x',
      },
    );

    // Plan changes: pro is approved by policy; a change to enterprise waits for an admin.
    const planChange = async (plan: string) => {
      const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan });
      await stack.deliver.activate(entitlementId!);
      await stack.deliver.changePlan(entitlementId!, 'enterprise');
      await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_plan_change');
      return `gcp:${entitlementId}`;
    };
    const changing = await planChange('pro');
    const approvePlan = `/admin/v1/entitlements/${changing}/plan-change/approve`;
    await expectStatus(400, stack, 'POST', `${ENTITLEMENT}/plan-change/approve`, approvePlan, approver, {});
    await expectStatus(409, stack, 'POST', `${ENTITLEMENT}/plan-change/approve`, approvePlan, approver, {
      plan: 'basic',
    });
    await expectStatus(200, stack, 'POST', `${ENTITLEMENT}/plan-change/approve`, approvePlan, approver, {
      plan: 'enterprise',
    });
    await expectStatus(
      404,
      stack,
      'POST',
      `${ENTITLEMENT}/plan-change/approve`,
      '/admin/v1/entitlements/gcp:nothing/plan-change/approve',
      approver,
      { plan: 'enterprise' },
    );
    // The Procurement API cannot answer the re-read: 503, retry later.
    stack.fake.failNext(4, { status: 503 }); // every attempt of the client's own backoff
    await expectStatus(503, stack, 'POST', `${ENTITLEMENT}/plan-change/approve`, approvePlan, approver, {
      plan: 'enterprise',
    });
    const rejecting = await planChange('basic');
    const rejectPlan = `/admin/v1/entitlements/${rejecting}/plan-change/reject`;
    await expectStatus(400, stack, 'POST', `${ENTITLEMENT}/plan-change/reject`, rejectPlan, approver, { plan: 'x' });
    await expectStatus(200, stack, 'POST', `${ENTITLEMENT}/plan-change/reject`, rejectPlan, approver, {
      plan: 'enterprise',
      reason: 'needs a contract',
    });
    await expectStatus(409, stack, 'POST', `${ENTITLEMENT}/plan-change/reject`, rejectPlan, approver, {
      plan: 'enterprise',
      reason: 'again',
    });
    stack.fake.failNext(4, { status: 503 });
    await expectStatus(503, stack, 'POST', `${ENTITLEMENT}/plan-change/reject`, rejectPlan, approver, {
      plan: 'enterprise',
      reason: 'again',
    });
    await expectStatus(
      404,
      stack,
      'POST',
      `${ENTITLEMENT}/plan-change/reject`,
      '/admin/v1/entitlements/gcp:nothing/plan-change/reject',
      approver,
      { plan: 'enterprise', reason: 'x' },
    );

    // Reads of what the decisions left.
    await expectStatus(200, stack, 'GET', ENTITLEMENT, `/admin/v1/entitlements/gcp:${toApprove}`, viewer);
    await expectStatus(404, stack, 'GET', ENTITLEMENT, '/admin/v1/entitlements/gcp:nothing', viewer);
    await expectStatus(400, stack, 'GET', ENTITLEMENT, `/admin/v1/entitlements/${BAD_ID}`, viewer);
    await expectStatus(200, stack, 'GET', `${ENTITLEMENT}/events`, `/admin/v1/entitlements/${changing}/events`, viewer);
    await expectStatus(400, stack, 'GET', `${ENTITLEMENT}/events`, `/admin/v1/entitlements/${BAD_ID}/events`, viewer);
    await expectStatus(200, stack, 'GET', ACCOUNT, `/admin/v1/accounts/${accountId}`, viewer);
    await expectStatus(404, stack, 'GET', ACCOUNT, '/admin/v1/accounts/no-such-account', viewer);
    await expectStatus(400, stack, 'GET', ACCOUNT, `/admin/v1/accounts/${BAD_ID}`, viewer);

    // A test account reset: refused unless marked as one, then done.
    const reset = `/admin/v1/accounts/${accountId}/reset`;
    await expectStatus(400, stack, 'POST', `${ACCOUNT}/reset`, reset, approver, { testAccount: true });
    await expectStatus(409, stack, 'POST', `${ACCOUNT}/reset`, reset, approver, { reason: 'test again' });
    await expectStatus(200, stack, 'POST', `${ACCOUNT}/reset`, reset, approver, {
      reason: 'test again',
      testAccount: true,
    });
    await expectStatus(404, stack, 'POST', `${ACCOUNT}/reset`, '/admin/v1/accounts/no-such-account/reset', approver, {
      reason: 'x',
      testAccount: true,
    });
  });

  it('should answer replays, resolutions and erasures (200, 400, 404, 409) as documented', async () => {
    // A Marketplace message the service cannot read: recorded invalid, its raw payload kept.
    const messageId = `malformed-${Date.now()}`;
    await stack.events.handle({
      data: Buffer.from(JSON.stringify({ eventId: messageId, eventType: 'ENTITLEMENT_CREATION_REQUESTED' })),
      messageId,
      transport: 'pubsub-push',
    });
    const invalid = await expectStatus(
      200,
      stack,
      'GET',
      '/admin/v1/events',
      '/admin/v1/events?outcome=invalid&source=gcp&pageSize=100',
      viewer,
    );
    const malformed = (invalid.body.items as { id: string; eventType: string }[]).find((e) => e.id.includes(messageId));
    expect(malformed).toBeDefined();
    const replay = `/admin/v1/events/${encodeURIComponent(malformed!.id)}/replay`;
    await expectStatus(200, stack, 'POST', `${EVENT}/replay`, replay, approver);
    await expectStatus(404, stack, 'POST', `${EVENT}/replay`, '/admin/v1/events/gcp:nothing/replay', approver);
    await expectStatus(400, stack, 'POST', `${EVENT}/replay`, `/admin/v1/events/${BAD_ID}/replay`, approver);
    const applied = await expectStatus(
      200,
      stack,
      'GET',
      '/admin/v1/events',
      '/admin/v1/events?outcome=applied&source=gcp',
      viewer,
    );
    const done = (applied.body.items as { id: string }[])[0]!;
    await expectStatus(
      409,
      stack,
      'POST',
      `${EVENT}/replay`,
      `/admin/v1/events/${encodeURIComponent(done.id)}/replay`,
      approver,
    );
    await expectStatus(400, stack, 'GET', '/admin/v1/events', '/admin/v1/events?outcome=maybe', viewer);

    // A GetCourse callback refused for an unfilled end of access, resolved by an approver.
    const purchaseId = `p-${Date.now()}`;
    const email = `student-${purchaseId}@example.ru`;
    const call = purchaseActive(purchaseId, email, { finish_at: '{object.finish_at}' });
    expect((await getCourseCall(stack.app, call)).status).toBe(400);
    const eventId = eventDocumentId('getcourse', getCourseRefusedKey(call));
    const event = `/admin/v1/events/${encodeURIComponent(eventId)}`;
    expect((await expectStatus(200, stack, 'GET', EVENT, event, viewer)).body.raw).toEqual(expect.any(String));
    await expectStatus(404, stack, 'GET', EVENT, '/admin/v1/events/gcp:nothing', viewer);
    await expectStatus(400, stack, 'GET', EVENT, `/admin/v1/events/${BAD_ID}`, viewer);
    const resolve = `${event}/resolve`;
    await expectStatus(400, stack, 'POST', `${EVENT}/resolve`, resolve, approver, {
      validUntil: 'tomorrow',
      reason: 'x',
    });
    await expectStatus(200, stack, 'POST', `${EVENT}/resolve`, resolve, approver, {
      validUntil: '2027-01-31T21:00:00Z',
      reason: 'school confirmed: paid until February',
    });
    await expectStatus(409, stack, 'POST', `${EVENT}/resolve`, resolve, approver, {
      validUntil: 'open-ended',
      reason: 'twice',
    });
    await expectStatus(404, stack, 'POST', `${EVENT}/resolve`, '/admin/v1/events/gcp:nothing/resolve', approver, {
      validUntil: 'open-ended',
      reason: 'x',
    });

    // The student asks to be forgotten.
    await expectStatus(400, stack, 'POST', '/admin/v1/erasures', '/admin/v1/erasures', approver, {
      reason: 'no one named',
    });
    await expectStatus(409, stack, 'POST', '/admin/v1/erasures', '/admin/v1/erasures', approver, {
      subjectKey: 'email:legacy@example.com',
      reason: 'ticket 42',
    });
    const erased = await expectStatus(200, stack, 'POST', '/admin/v1/erasures', '/admin/v1/erasures', approver, {
      email,
      reason: 'ticket 43',
    });
    expect(erased.body.entitlements).toHaveLength(1);
  });

  it('should answer the lists, counts, runs, usage and the caller (200, 400, 404) as documented', async () => {
    const jobs = stack.app.app.get(LifecycleJobs);
    await jobs.expire();
    await jobs.reportUsage().catch(() => undefined); // recorded whatever came of it
    const usageOf = `gcp:usage-${Date.now()}`;
    await stack.app.app.get(UsageStore).openUsage(usageOf, new Date());

    // Each list: a page, and a query it refuses.
    const lists: [path: string, query: string, refused: string][] = [
      ['/admin/v1/entitlements', 'pageSize=100', 'pageSize=0'],
      ['/admin/v1/approvals', 'scope=all', 'scope=none'],
      ['/admin/v1/plan-changes', 'scope=all', 'scope=none'],
      ['/admin/v1/accounts', 'pageSize=100', 'signup=MAYBE'],
      ['/admin/v1/audit', 'pageSize=100', 'pageSize=1000'],
      ['/admin/v1/runs', 'pageSize=100', 'job=publish'],
      ['/admin/v1/event-counts', 'hours=1', 'hours=0'],
    ];
    for (const [path, query, refused] of lists) {
      await expectStatus(200, stack, 'GET', path, `${path}?${query}`, viewer);
      await expectStatus(400, stack, 'GET', path, `${path}?${refused}`, viewer);
    }
    await expectStatus(200, stack, 'GET', '/admin/v1/approvals', '/admin/v1/approvals', viewer);
    await expectStatus(200, stack, 'GET', '/admin/v1/plan-changes', '/admin/v1/plan-changes', viewer);
    await expectStatus(200, stack, 'GET', '/admin/v1/accounts', '/admin/v1/accounts?signup=PENDING', viewer);

    const reporter = await expectStatus(
      200,
      stack,
      'GET',
      '/admin/v1/usage/reporter',
      '/admin/v1/usage/reporter',
      viewer,
    );
    expect(reporter.body.lastRun).toMatchObject({ job: 'usage' });
    await expectStatus(200, stack, 'GET', USAGE, `/admin/v1/usage/${usageOf}`, viewer);
    await expectStatus(404, stack, 'GET', USAGE, '/admin/v1/usage/gcp:nothing', viewer);
    await expectStatus(400, stack, 'GET', USAGE, `/admin/v1/usage/${usageOf}?pageSize=0`, viewer);

    await expectStatus(200, stack, 'GET', '/admin/v1/me', '/admin/v1/me', viewer);
    await expectStatus(200, stack, 'GET', '/admin/v1/openapi.json', '/admin/v1/openapi.json', viewer);
  });

  /** One valid request per operation (path, caller role, body), for the stack whose Firestore is down. */
  function requests(): { method: Method; template: string; path: string; body?: unknown; role: string }[] {
    const bodies: Record<string, unknown> = {
      approve: {},
      reject: { reason: 'x' },
      'plan-change/approve': { plan: 'enterprise' },
      'plan-change/reject': { plan: 'enterprise', reason: 'x' },
      reset: { reason: 'x', testAccount: true },
      replay: undefined,
      resolve: { validUntil: 'open-ended', reason: 'x' },
    };
    const queries: Record<string, string> = { '/admin/v1/events': '?outcome=invalid' };
    return Object.entries(document.paths).flatMap(([template, operations]) =>
      Object.entries(operations).map(([method, operation]) => {
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) =>
          name === 'accountId' ? 'acc-down' : 'gcp:down',
        );
        const action = Object.keys(bodies).find((suffix) => template.endsWith(`/${suffix}`));
        const body =
          template === '/admin/v1/erasures'
            ? { email: 'someone@example.com', reason: 'x' }
            : action
              ? bodies[action]
              : undefined;
        return {
          method: method.toUpperCase() as Method,
          template,
          path: `${path}${queries[template] ?? ''}`,
          body: method === 'post' ? (body ?? {}) : undefined,
          role: operation['x-required-role'],
        };
      }),
    );
  }

  it('should answer 401, 403, 429 and 503 as documented, on every operation', async () => {
    const served = await down.call('GET', '/admin/v1/openapi.json', { apiKey: down.keys.viewer });
    expect(served.body).toEqual(document);
    const stranger = { token: await down.idToken('stranger@example.org') };
    const downViewer = { apiKey: down.keys.viewer };
    const downApprover = { apiKey: down.keys.approver };
    const all = requests();
    for (const r of all) {
      await expectStatus(401, down, r.method, r.template, r.path, {}, r.body);
      // A listed viewer lacks the approver role; a verified person nobody listed has no role at all.
      await expectStatus(
        403,
        down,
        r.method,
        r.template,
        r.path,
        r.role === 'approver' ? downViewer : stranger,
        r.body,
      );
    }
    // The `limited` key spends its burst, then every operation is refused before anything is read.
    const limited = { apiKey: down.keys.limited };
    for (let i = 0; i < 100 && (await down.call('GET', '/admin/v1/me', limited)).status !== 429; i++);
    for (const r of all) await expectStatus(429, down, r.method, r.template, r.path, limited, r.body);

    // Firestore refuses every connection and the Procurement API answers 503: every operation that
    // reads either answers 503; the others (the caller, this document) still answer.
    down.fake.failNext(10_000, { status: 503 });
    await Promise.all(all.map((r) => check(down, r.method, r.template, r.path, downApprover, r.body)));
  }, 120_000);

  it('should have observed every documented (operation, status) pair', () => {
    const documentedPairs = Object.entries(document.paths)
      .flatMap(([template, operations]) =>
        Object.entries(operations).flatMap(([method, operation]) =>
          Object.keys(operation.responses).map((status) => `${method} ${template} ${status}`),
        ),
      )
      .sort();
    expect([...observed].sort()).toEqual(documentedPairs);
  });
});
