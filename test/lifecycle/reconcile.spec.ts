import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { statusOf } from '../../src/marketplace/entitlement-state.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { MarketplaceStore } from '../../src/marketplace/marketplace-store.js';
import type { ReconcileReport } from '../../src/lifecycle/reconciliation/reconciliation.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { accessOf, PRODUCT, PROVIDER, startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';
import { serviceAccountToken, startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const AUDIENCE = 'https://entitlements.example.run.app/lifecycle';
const SCHEDULER_SA = 'scheduler@acme-prod.iam.gserviceaccount.com';

describe('Marketplace reconciliation against the fake Procurement API', () => {
  let stack: MarketplaceStack;
  let issuer: TestIssuer;
  let events: MarketplaceEvents;
  let simulator: MarketplaceSimulator;
  /** Off: Google's messages are lost, as when a notification never arrives. */
  let deliver = true;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    stack = await startMarketplaceStack({
      pull: false,
      env: {
        SCHEDULER_AUDIENCE: AUDIENCE,
        SCHEDULER_SERVICE_ACCOUNT: SCHEDULER_SA,
        GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl,
      },
    });
    events = stack.app.app.get(MarketplaceEvents);
    simulator = new MarketplaceSimulator({
      procurementUrl: stack.fake.url,
      providerId: PROVIDER,
      publish: async (data) => {
        const messageId = randomUUID();
        if (deliver)
          await events.handle({ data: Buffer.from(JSON.stringify(data)), messageId, transport: 'pubsub-push' });
        return messageId;
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await issuer.close();
  });

  async function reconcile(): Promise<ReconcileReport> {
    const token = await serviceAccountToken(issuer, AUDIENCE, SCHEDULER_SA);
    const response = await fetch(`${stack.app.url}/lifecycle/v1/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as ReconcileReport;
  }

  async function activeEntitlement(accountId: string, plan = 'pro'): Promise<string> {
    const { entitlementId } = await simulator.buy({ accountId, product: PRODUCT, plan });
    await simulator.activate(entitlementId!);
    return entitlementId!;
  }

  it('should restore agreement with Google in one run, approve what policy allows, and find nothing on a second run', async () => {
    const { accountId: a } = await simulator.signUpAccount();
    await events.approveAccount(a!, {
      source: 'gcp',
      eventKey: `approve-${a}`,
      eventType: 'ACCOUNT_APPROVE_REQUESTED',
      transport: { kind: 'admin' },
    });
    const [altered, deleted, replanned, gone, cancelled, planChange, untouched] = [
      await activeEntitlement(a!),
      await activeEntitlement(a!),
      await activeEntitlement(a!),
      await activeEntitlement(a!),
      await activeEntitlement(a!),
      await activeEntitlement(a!),
      await activeEntitlement(a!),
    ];
    const { entitlementId: manual } = await simulator.buy({ accountId: a, product: PRODUCT, plan: 'enterprise' });
    // A second customer buys before signing up with us: the purchase is parked on the account.
    const { accountId: b } = await simulator.signUpAccount();
    const { entitlementId: parked } = await simulator.buy({ accountId: b, product: PRODUCT, plan: 'basic' });
    expect((await stack.store.getEntitlement(`gcp:${parked}`))?.details.marketplace).toMatchObject({
      approval: 'awaiting_account',
    });
    expect(await reconcile()).toMatchObject({ drift: [], fixed: 0, approved: 0, errors: [] });

    // Drift: documents changed by hand, Google's state changed with its messages lost.
    await stack.db.collection('entitlements').doc(`gcp:${altered}`).update({ status: 'cancelled', active: false });
    await stack.db.collection('entitlements').doc(`gcp:${deleted}`).delete();
    stack.fake.state.setEntitlement(PROVIDER, replanned!, { plan: 'basic' });
    stack.fake.state.deleteEntitlement(PROVIDER, gone!);
    stack.fake.state.setEntitlement(PROVIDER, cancelled!, {
      state: 'ENTITLEMENT_CANCELLED',
      cancellationReason: 'user-cancelled',
    });
    deliver = false;
    await simulator.changePlan(planChange!, 'basic');
    await simulator.approveAccount(b!); // the seller's sign-up page approved it; no message is published
    deliver = true;

    const first = await reconcile();
    expect(first.errors).toEqual([]);
    const byId = Object.fromEntries(first.drift.map((d) => [d.id, d]));
    expect(Object.keys(byId).sort()).toEqual([altered, deleted, replanned, gone, cancelled, planChange, b].sort());
    expect(byId[altered!]).toMatchObject({
      kind: 'entitlement',
      outcome: 'applied',
      fixed: true,
      differences: ['status: ours cancelled, Google ENTITLEMENT_ACTIVE'],
    });
    expect(byId[deleted!]).toMatchObject({ outcome: 'applied', fixed: true, differences: ['missing in Firestore'] });
    expect(byId[replanned!]?.differences).toEqual([
      expect.stringMatching(/^plan: ours pro, Google basic/),
      expect.stringMatching(/^updateTime/),
    ]);
    expect(byId[gone!]).toMatchObject({
      outcome: 'applied',
      fixed: true,
      differences: ['gone: ours active, Google 404 NOT_FOUND'],
    });
    expect(byId[cancelled!]?.differences[0]).toBe('status: ours active, Google ENTITLEMENT_CANCELLED');
    expect(byId[b!]).toMatchObject({
      kind: 'account',
      outcome: 'applied',
      fixed: true,
      differences: ['signup: ours PENDING, Google APPROVED'],
    });
    expect(first).toMatchObject({ fixed: 7, approved: 2 });
    // Two accounts and nine entitlements: seven listed by Google, the cancelled and the gone one read one by one.
    expect(first.checked).toBe(2 + 9);

    // Agreement: every stored entitlement says what Google says.
    for (const id of [altered, deleted, replanned, cancelled, planChange, untouched, manual, parked]) {
      const google = stack.fake.state.inspectEntitlement(PROVIDER, id!);
      if (!google.ok) throw new Error(`fake has no ${id}`);
      const stored = await stack.store.getEntitlement(`gcp:${id}`);
      expect([id, stored?.status, stored?.providerPlan]).toEqual([
        id,
        statusOf(google.value.entitlement.state),
        google.value.entitlement.plan,
      ]);
    }
    expect(await stack.store.getEntitlement(`gcp:${gone}`)).toMatchObject({
      status: 'cancelled',
      active: false,
      providerState: 'NOT_FOUND',
    });
    expect(await stack.store.getEntitlement(`gcp:${replanned}`)).toMatchObject({ plan: 'basic', active: true });
    expect((await stack.store.getEntitlement(`gcp:${parked}`))?.details.marketplace).toMatchObject({
      approval: 'approval_requested',
    });
    expect((await stack.app.app.get(MarketplaceStore).getAccount(b!))?.signup.state).toBe('APPROVED');
    expect(Object.keys((await accessOf(stack.store, a!))?.entitlements ?? {}).sort()).toEqual(
      [altered, deleted, replanned, planChange, untouched].map((id) => `gcp:${id}`).sort(),
    );
    expect(await accessInvariantViolations(stack.db)).toEqual([]);

    // Approvals were made once each, and only where policy allows (enterprise is manual).
    expect(stack.fake.countCalls('entitlements.approve', parked)).toBe(1);
    expect(stack.fake.countCalls('entitlements.approvePlanChange', planChange)).toBe(1);
    expect(stack.fake.countCalls('entitlements.approve', manual)).toBe(0);
    expect(stack.fake.state.inspectEntitlement(PROVIDER, planChange!)).toMatchObject({
      ok: true,
      value: { entitlement: { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE' } },
    });

    // The heals are recorded in the event ledger as reconciliation events.
    const recorded = await stack.db.collection('events').where('entitlementId', '==', `gcp:${altered}`).get();
    const heal = recorded.docs.find((d) => String(d.get('eventKey')).startsWith(`reconcile-${first.runId}-`));
    expect(heal?.get('outcome')).toBe('applied');
    expect(heal?.get('transport')).toMatchObject({ kind: 'scheduler' });

    const second = await reconcile();
    expect(second).toMatchObject({ drift: [], fixed: 0, approved: 0, errors: [] });
    // Ended ones are final on both sides and no longer read.
    expect(second.checked).toBe(2 + 7);
    expect(stack.fake.countCalls('entitlements.approve', parked)).toBe(1);
    expect(stack.fake.countCalls('entitlements.approvePlanChange', planChange)).toBe(1);
  });
});
