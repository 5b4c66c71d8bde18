import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { APPROVER, startAdminStack, type AdminStack, type Caller } from '../admin/admin-stack.js';
import { TestClock } from '../support/app.js';
import { serviceAccountToken } from '../support/test-issuer.js';
import { entitlementWhere, PRODUCT } from '../support/marketplace.js';

const AUDIENCE = 'https://entitlements.example.run.app/lifecycle';
const SCHEDULER_SA = 'entitlements-scheduler@acme-prod.iam.gserviceaccount.com';
const HOUR = 3_600_000;

/**
 * The hourly decision check on the real bootstrap(), through Cloud Scheduler's authenticated trigger:
 * a purchase and a plan change left to an admin are reported as "decision overdue" once they waited
 * longer than config/policy.yaml's `decideWithinHours` (24 h), every run while they wait, and no more
 * once decided.
 */
describe('Decision check (POST /lifecycle/v1/check-decisions)', () => {
  const clock = new TestClock(new Date());
  let stack: AdminStack;
  let approver: Caller;

  beforeAll(async () => {
    stack = await startAdminStack({
      clock,
      env: { SCHEDULER_AUDIENCE: AUDIENCE, SCHEDULER_SERVICE_ACCOUNT: SCHEDULER_SA },
    });
    approver = { token: await stack.idToken(APPROVER) };
  });
  afterAll(() => stack.close());

  async function check(): Promise<{ status: number; body: Record<string, unknown> }> {
    const token = await serviceAccountToken(stack.issuer, AUDIENCE, SCHEDULER_SA);
    const response = await fetch(`${stack.app.url}/lifecycle/v1/check-decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const overdueLines = () => stack.logLines().filter((l) => l['message'] === 'decision overdue');

  async function approvedAccount(): Promise<string> {
    const { accountId } = await stack.deliver.signUpAccount();
    expect((await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, approver)).status).toBe(200);
    return accountId!;
  }

  it('should report a decision only once it waited longer than the limit, on every run, until it is decided', async () => {
    const accountId = await approvedAccount();
    // config/policy.yaml: demo/enterprise is left to a person, for purchases and plan changes.
    const { entitlementId: parked } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    const waiting = await entitlementWhere(stack.store, parked!, (e) => e.status === 'pending_approval');
    const parkedAt = clock.now();
    expect(waiting.awaiting).toEqual({ decision: 'entitlement', since: parkedAt });

    // A plan change to enterprise on an active pro entitlement, 2 hours later.
    const { entitlementId: changing } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'pro' });
    await stack.deliver.activate(changing!);
    await entitlementWhere(stack.store, changing!, (e) => e.active);
    clock.advance(2 * HOUR);
    const changeAt = clock.now();
    await stack.deliver.changePlan(changing!, 'enterprise');
    const pendingChange = await entitlementWhere(stack.store, changing!, (e) => e.status === 'pending_plan_change');
    expect(pendingChange.awaiting).toEqual({ decision: 'planChange', since: changeAt });

    // 23 h after the purchase was parked: within the limit for both.
    clock.set(new Date(parkedAt.getTime() + 23 * HOUR));
    const early = await check();
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ limitHours: 24, checked: 2, overdue: 0, decisions: [], complete: true });
    expect(overdueLines()).toEqual([]);

    // 25 h: the purchase is overdue (25 h), the plan change is not (23 h).
    clock.set(new Date(parkedAt.getTime() + 25 * HOUR));
    const late = await check();
    expect(late.body).toMatchObject({
      overdue: 1,
      decisions: [
        {
          entitlementId: `gcp:${parked}`,
          decision: 'entitlement',
          product: 'demo',
          plan: 'enterprise',
          waitingHours: 25,
        },
      ],
    });
    expect(overdueLines()).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        entitlementId: `gcp:${parked}`,
        source: 'gcp',
        decision: 'entitlement',
        product: 'demo',
        plan: 'enterprise',
        waitingSince: parkedAt.toISOString(),
        waitingHours: 25,
        limitHours: 24,
        runId: expect.stringMatching(/^decisions-/),
      }),
    ]);

    // 27 h: both are overdue, oldest first, and the purchase is reported again (the alert stays open).
    clock.set(new Date(parkedAt.getTime() + 27 * HOUR));
    const both = await check();
    expect(both.body).toMatchObject({
      overdue: 2,
      decisions: [
        { entitlementId: `gcp:${parked}`, decision: 'entitlement', waitingHours: 27 },
        { entitlementId: `gcp:${changing}`, decision: 'planChange', plan: 'enterprise', waitingHours: 25 },
      ],
    });
    expect(overdueLines()).toHaveLength(3);

    // An admin decides both: nothing is overdue any more.
    expect(
      (await stack.call('POST', `/admin/v1/entitlements/gcp:${parked}/reject`, approver, { reason: 'not for us' }))
        .status,
    ).toBe(200);
    expect(
      (
        await stack.call('POST', `/admin/v1/entitlements/gcp:${changing}/plan-change/approve`, approver, {
          plan: 'enterprise',
        })
      ).status,
    ).toBe(200);
    const decidedEntitlement = await entitlementWhere(stack.store, parked!, (e) => e.status !== 'pending_approval');
    expect(decidedEntitlement.awaiting ?? null).toBeNull();
    await entitlementWhere(stack.store, changing!, (e) => e.awaiting?.decision !== 'planChange');
    clock.advance(HOUR);
    const after = await check();
    expect(after.body).toMatchObject({ overdue: 0, decisions: [] });
    expect(overdueLines()).toHaveLength(3);

    // Every run is recorded for the console's "Lifecycle runs" page.
    const runs = await stack.call('GET', '/admin/v1/runs?job=decisions', approver);
    expect(runs.status).toBe(200);
    const items = runs.body['items'] as { job: string; ok: boolean; figures: Record<string, number> }[];
    expect(items.map((r) => [r.job, r.ok, r.figures['overdue']])).toEqual([
      ['decisions', true, 0],
      ['decisions', true, 2],
      ['decisions', true, 1],
      ['decisions', true, 0],
    ]);
  });
});
