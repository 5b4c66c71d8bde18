import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import { ExpirySweep } from '../../src/lifecycle/expiry-sweep.service.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { TestClock } from '../support/app.js';
import {
  entitlementWhere,
  eventually,
  PRODUCT,
  PROVIDER,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';
import { serviceAccountToken, startTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import {
  activate,
  APPROVER_KEY,
  APPROVER_NAME,
  EASYCART_KEY,
  easyCartDelivery,
  GETCOURSE_TOKEN,
  getCourseCall,
  productAssigned,
  purchaseActive,
  PURCHASELY_SECRET,
  purchaselyDelivery,
} from '../support/webhook-senders.js';

const PUSH_AUDIENCE = 'https://entitlements.example.run.app/marketplace/push';
const PUSH_SA = 'pubsub-push@acme-prod.iam.gserviceaccount.com';
const SCHEDULER_AUDIENCE = 'https://entitlements.example.run.app/lifecycle';
const SCHEDULER_SA = 'lifecycle-scheduler@acme-prod.iam.gserviceaccount.com';
const TRACE_FIELD = 'logging.googleapis.com/trace';
const SPAN_FIELD = 'logging.googleapis.com/spanId';

type Line = Record<string, unknown>;

/**
 * Every path a delivery can take (push, pull, each webhook, the admin API, each Scheduler job), on
 * the real bootstrap() with the log lines it writes: all lines written while one delivery is
 * handled carry its trace, span and event key, whether or not the call that wrote them passed them.
 */
describe('one trace per delivery on every log line', () => {
  let stack: MarketplaceStack;
  let issuer: TestIssuer;
  let push: MarketplaceSimulator;
  let pushTrace: string | undefined;
  const clock = new TestClock();

  const oidc = (aud: string, email: string) => serviceAccountToken(issuer, aud, email);

  /**
   * The lines `work` wrote, but those about Pub/Sub messages (`messageId`): Google's follow-up messages
   * reach the pull consumer meanwhile, each in a trace of its own (the push test keeps them).
   */
  async function linesOf(work: () => Promise<unknown>, keepMessages = false): Promise<Line[]> {
    const before = stack.logLines().length;
    await work();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return stack
      .logLines()
      .slice(before)
      .filter((l) => keepMessages || l['messageId'] === undefined);
  }

  /**
   * The delivery's event key: an ACCOUNT_ACTIVE message that approves parked entitlements applies a change per
   * entitlement under keys derived from its own (`<key>#approve#<id>`).
   */
  const keyOf = (key: unknown) => (typeof key === 'string' ? key.split('#')[0] : key);

  /** Every line shares one trace and span, and (when one is known) the same event key. */
  function expectOneDelivery(lines: Line[], expected: { eventKey?: boolean } = { eventKey: true }): Line[] {
    expect(lines.length).toBeGreaterThan(0);
    const [first] = lines;
    expect(first![TRACE_FIELD]).toMatch(new RegExp(`^projects/${stack.projectId}/traces/[0-9a-f]{32}$`));
    expect(first![SPAN_FIELD]).toMatch(/^[0-9a-f]{16}$/);
    const shape = (l: Line) => ({
      message: l['message'],
      trace: l[TRACE_FIELD],
      span: l[SPAN_FIELD],
      eventKey: keyOf(l['eventKey']),
    });
    const same = { trace: first![TRACE_FIELD], span: first![SPAN_FIELD], eventKey: keyOf(first!['eventKey']) };
    expect(lines.map(shape)).toEqual(lines.map((l) => ({ message: l['message'], ...same })));
    if (expected.eventKey) expect(typeof first!['eventKey']).toBe('string');
    return lines;
  }

  beforeAll(async () => {
    issuer = await startTestIssuer();
    stack = await startMarketplaceStack({
      pull: true,
      env: {
        GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl,
        PUSH_AUDIENCE,
        PUSH_SERVICE_ACCOUNT: PUSH_SA,
        SCHEDULER_AUDIENCE,
        SCHEDULER_SERVICE_ACCOUNT: SCHEDULER_SA,
        GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
        EASYCART_SIGNING_KEYS: EASYCART_KEY,
        PURCHASELY_SECRETS: PURCHASELY_SECRET,
        ADMIN_API_KEYS: `${APPROVER_NAME}:approver:${sha256Hex(APPROVER_KEY)}`,
        CHANGE_EVENTS_TOPIC: 'entitlement-changes',
      },
    });
    const [changes] = await stack.topic.pubsub.createTopic('entitlement-changes');
    void changes;
    push = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        const messageId = randomUUID();
        const response = await fetch(`${stack.app.url}/marketplace/push`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${await oidc(PUSH_AUDIENCE, PUSH_SA)}`,
            ...(pushTrace ? { traceparent: pushTrace } : {}),
          },
          body: JSON.stringify({
            message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId },
            subscription: 'projects/acme/subscriptions/marketplace-push',
          }),
        });
        if (response.status !== 204) throw new Error(`push answered ${response.status}: ${await response.text()}`);
        return messageId;
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await issuer.close();
  });

  it('should give a push delivery one trace, from its traceparent, on every line (the Procurement call’s too)', async () => {
    const { accountId } = await stack.simulator.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const traceId = randomUUID().replace(/-/g, '');
    pushTrace = `00-${traceId}-00f067aa0ba902b7-01`;
    let entitlementId = '';
    const lines = await linesOf(async () => {
      entitlementId = (await push.buy({ accountId, product: PRODUCT, plan: 'pro' })).entitlementId!;
    }, true);
    pushTrace = undefined;
    const mine = expectOneDelivery(
      lines.filter((l) => l[TRACE_FIELD] === `projects/${stack.projectId}/traces/${traceId}`),
    );
    expect(mine[0]).toMatchObject({
      [SPAN_FIELD]: '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      messageId: expect.any(String),
      entitlementId: `gcp:${entitlementId}`,
    });
    expect(mine.map((l) => l['message'])).toContain('procurement call made');
    // No line about that message is outside its trace.
    expect(lines.filter((l) => l['messageId'] === mine[0]!['messageId'])).toHaveLength(mine.length);
  });

  it('should start a trace per pulled message, shared by all of that message’s lines and by no other', async () => {
    const { accountId } = await stack.simulator.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'pro' })).entitlementId!);
    await eventually(async () => {
      const applied = stack
        .logLines()
        .filter((l) => l['message'] === 'entitlement change' && l['outcome'] === 'applied');
      return ids.every((id) => applied.some((l) => l['entitlementId'] === `gcp:${id}`));
    }, 30_000);
    // A message Pub/Sub delivers again is a delivery of its own: grouped by trace, not by message id.
    const messageIds = new Set(
      stack
        .logLines()
        .filter((l) => ids.some((e) => l['entitlementId'] === `gcp:${e}`))
        .map((l) => l['messageId']),
    );
    const byTrace = new Map<unknown, Line[]>();
    for (const line of stack.logLines()) {
      if (!messageIds.has(line['messageId'])) continue;
      expect(line[TRACE_FIELD]).toEqual(expect.any(String));
      byTrace.set(line[TRACE_FIELD], [...(byTrace.get(line[TRACE_FIELD]) ?? []), line]);
    }
    expect(byTrace.size).toBeGreaterThanOrEqual(ids.length);
    for (const [trace, lines] of byTrace) {
      expectOneDelivery(lines);
      expect(new Set(lines.map((l) => l['messageId'])).size).toBe(1);
      expect(stack.logLines().filter((l) => l[TRACE_FIELD] === trace)).toHaveLength(lines.length);
    }
  });

  it('should give each webhook delivery its trace (X-Cloud-Trace-Context accepted) and its event key on every line', async () => {
    const purchasely = await linesOf(() =>
      purchaselyDelivery(stack.app, clock, activate(clock.now(), `sub-${randomUUID()}`, `user-${randomUUID()}`)),
    );
    const easycart = await linesOf(() => easyCartDelivery(stack.app, productAssigned(`${randomUUID()}@example.com`)));
    const getcourse = await linesOf(() =>
      getCourseCall(stack.app, purchaseActive(String(Date.now()), `${randomUUID()}@example.com`)),
    );
    const traces = [purchasely, easycart, getcourse].map((lines) => expectOneDelivery(lines)[0]![TRACE_FIELD]);
    expect(new Set(traces).size).toBe(3);
    expect(purchasely[0]).toMatchObject({ source: 'purchasely' });
    expect(easycart[0]).toMatchObject({ source: 'easycart' });
    expect(getcourse[0]).toMatchObject({ source: 'getcourse' });

    const traceId = 'a'.repeat(30) + '12';
    const traced = await linesOf(async () => {
      const body = JSON.stringify(productAssigned(`${randomUUID()}@example.com`));
      const { hmacSha256Hex } = await import('../../src/common/security/hmac.js');
      const response = await fetch(`${stack.app.url}/webhooks/easycart`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-webhook-signature': hmacSha256Hex(EASYCART_KEY, body),
          'x-cloud-trace-context': `${traceId}/12345;o=1`,
        },
        body,
      });
      expect(response.status).toBe(200);
    });
    expect(expectOneDelivery(traced)[0]).toMatchObject({
      [TRACE_FIELD]: `projects/${stack.projectId}/traces/${traceId}`,
      [SPAN_FIELD]: (12345).toString(16).padStart(16, '0'),
    });
  });

  it('should put a refused request’s line, written by the error filter, in its trace', async () => {
    const traceId = 'b'.repeat(32);
    const lines = await linesOf(async () => {
      const response = await fetch(`${stack.app.url}/webhooks/easycart`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
        body: '{not json',
      });
      expect(response.status).toBe(400);
    });
    expect(expectOneDelivery(lines, { eventKey: false })[0]).toMatchObject({
      message: 'request refused',
      [TRACE_FIELD]: `projects/${stack.projectId}/traces/${traceId}`,
    });
  });

  it('should give an admin call one trace on every line, the Procurement call’s and the ledger’s', async () => {
    const { accountId } = await stack.simulator.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const { entitlementId } = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval');
    const traceId = 'c'.repeat(32);
    const lines = await linesOf(async () => {
      const response = await fetch(`${stack.app.url}/admin/v1/entitlements/gcp:${entitlementId}/approve`, {
        method: 'POST',
        headers: {
          'x-api-key': APPROVER_KEY,
          'content-type': 'application/json',
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
        body: JSON.stringify({ reason: 'contract signed' }),
      });
      expect(response.status).toBe(200);
    });
    const mine = lines.filter((l) => l[TRACE_FIELD] === `projects/${stack.projectId}/traces/${traceId}`);
    // The admin event (and so its key) is made when the decision is recorded, after Google's answer:
    // from there on every line carries it; every line carries the trace and the entitlement.
    const recorded = mine.findIndex((l) => typeof l['eventKey'] === 'string');
    expect(recorded).toBeGreaterThan(0);
    expectOneDelivery(mine.slice(recorded));
    expect(new Set(mine.map((l) => `${String(l[SPAN_FIELD])} ${String(l['entitlementId'])}`))).toEqual(
      new Set([`00f067aa0ba902b7 gcp:${entitlementId}`]),
    );
    expect(mine.map((l) => l['message'])).toContain('procurement call made by admin');
    // Google's follow-up message (ENTITLEMENT_ACTIVE) arrives by pull, in a trace of its own.
    const eventKey = mine[recorded]!['eventKey'];
    expect(lines.filter((l) => l['eventKey'] === eventKey)).toHaveLength(mine.length - recorded);
  });

  it('should give each Scheduler job its request’s trace, job and run id on every line, and a timer run one of its own', async () => {
    const traces = new Set<unknown>();
    for (const job of ['expire', 'expiring', 'reconcile', 'publish-outbox']) {
      const lines = await linesOf(async () => {
        const response = await fetch(`${stack.app.url}/lifecycle/v1/${job}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await oidc(SCHEDULER_AUDIENCE, SCHEDULER_SA)}` },
        });
        expect(response.status).toBe(200);
      });
      const ofRun = lines.filter(
        (l) => typeof l['runId'] === 'string' && String(l['runId']).startsWith(job.split('-')[0]!),
      );
      expect(ofRun.length).toBeGreaterThan(0);
      const trace = ofRun[0]![TRACE_FIELD];
      // The job's lines, and those of the publish pass it runs after it, in the request's trace.
      expect(lines.map((l) => [l['message'], l[TRACE_FIELD]])).toEqual(lines.map((l) => [l['message'], trace]));
      expect(ofRun.every((l) => l['job'] === ofRun[0]!['job'])).toBe(true);
      traces.add(trace);
    }
    expect(traces.size).toBe(4);
    const timer = await linesOf(() => stack.app.app.get(LifecycleJobs).expire());
    const run = timer.filter((l) => l['job'] === 'expire');
    expect(run.length).toBeGreaterThan(0);
    expect(new Set(run.map((l) => l[TRACE_FIELD])).size).toBe(1);
    expect(run[0]![TRACE_FIELD]).toMatch(/^projects\/.+\/traces\/[0-9a-f]{32}$/);
  });

  it('should write one ERROR line with the stack in Error Reporting’s shape for an injected failure', async () => {
    const failure = new Error('injected: sweep store unreachable');
    const spy = jest.spyOn(stack.app.app.get(ExpirySweep), 'run').mockRejectedValueOnce(failure);
    try {
      const lines = await linesOf(async () => {
        const response = await fetch(`${stack.app.url}/lifecycle/v1/expire`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await oidc(SCHEDULER_AUDIENCE, SCHEDULER_SA)}` },
        });
        expect(response.status).toBe(500);
      });
      const errors = lines.filter((l) => l['severity'] === 'ERROR');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        message: 'lifecycle job failed',
        job: 'expire',
        error: { name: 'Error', message: failure.message },
        stack_trace: failure.stack,
        serviceContext: { service: expect.any(String) },
      });
      expect(String(errors[0]!['stack_trace'])).toMatch(/^Error: injected: sweep store unreachable\n\s+at /);
      expect(errors[0]![TRACE_FIELD]).toBe(lines[lines.length - 1]![TRACE_FIELD]);
    } finally {
      spy.mockRestore();
    }
  });
});
