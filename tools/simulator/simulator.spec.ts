import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { cloudcommerceprocurement, type cloudcommerceprocurement_v1 } from '@googleapis/cloudcommerceprocurement';
import { OAuth2Client } from 'google-auth-library';
import { startFakeProcurement, type FakeProcurement } from '../fake-procurement/server.js';
import { MarketplaceSimulator, SimulatorError, type SimulationResult } from './simulator.js';

const P = 'demo-provider';
const PRODUCT = 'acme-saas.endpoints.acme-public.cloud.goog';

function eventTypes(result: SimulationResult): string[] {
  return result.messages.map((m) => m.eventType);
}

describe('MarketplaceSimulator against an in-process fake', () => {
  let fake: FakeProcurement;
  let api: cloudcommerceprocurement_v1.Cloudcommerceprocurement;
  let published: object[];
  let simulator: MarketplaceSimulator;

  beforeAll(async () => {
    fake = await startFakeProcurement({ providerIds: [P] });
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: 'test' });
    api = cloudcommerceprocurement({ version: 'v1', rootUrl: `${fake.url}/`, auth });
  });

  afterAll(async () => {
    await fake.close();
  });

  beforeEach(() => {
    fake.reset();
    published = [];
    simulator = new MarketplaceSimulator({
      procurementUrl: fake.url,
      providerId: P,
      publish: (data) => {
        published.push(data);
        return Promise.resolve(String(published.length));
      },
    });
  });

  const entitlementName = (id: string): string => `providers/${P}/entitlements/${id}`;

  it('should run buy → approve → activate → change plan → cancel → delete, publishing what Google would', async () => {
    const bought = await simulator.buy({ product: PRODUCT, plan: 'pro', offerDuration: 'P1M' });
    const id = bought.entitlementId ?? '';
    expect(eventTypes(bought)).toEqual(['ACCOUNT_ACTIVE', 'ENTITLEMENT_CREATION_REQUESTED']);
    expect(bought.messageIds).toEqual(['1', '2']);

    // The service's side, through the real generated client.
    await api.providers.accounts.approve({
      name: `providers/${P}/accounts/${bought.accountId}`,
      requestBody: { approvalName: 'signup' },
    });
    await api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} });

    const activated = await simulator.activate(id);
    expect(activated.entitlement?.state).toBe('ENTITLEMENT_ACTIVE');
    expect(eventTypes(activated)).toEqual(['ENTITLEMENT_ACTIVE']);

    const requested = await simulator.changePlan(id, 'enterprise');
    expect(eventTypes(requested)).toEqual(['ENTITLEMENT_PLAN_CHANGE_REQUESTED']);
    const { data: pending } = await api.providers.entitlements.get({ name: entitlementName(id) });
    await api.providers.entitlements.approvePlanChange({
      name: entitlementName(id),
      requestBody: { pendingPlanName: pending.newPendingPlan ?? '' },
    });

    const changed = await simulator.completePlanChange(id);
    expect(changed.entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'enterprise' });
    expect(eventTypes(changed)).toEqual(['ENTITLEMENT_PLAN_CHANGED']);

    expect(eventTypes(await simulator.cancel(id))).toEqual(['ENTITLEMENT_PENDING_CANCELLATION']);
    expect(eventTypes(await simulator.endPeriod(id))).toEqual(['ENTITLEMENT_CANCELLED']);
    expect(eventTypes(await simulator.deleteEntitlement(id))).toEqual(['ENTITLEMENT_DELETED']);

    await expect(api.providers.entitlements.get({ name: entitlementName(id) })).rejects.toMatchObject({ status: 404 });
    expect(published.map((m) => (m as { eventType: string }).eventType)).toEqual([
      'ACCOUNT_ACTIVE',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_ACTIVE',
      'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
      'ENTITLEMENT_PLAN_CHANGED',
      'ENTITLEMENT_PENDING_CANCELLATION',
      'ENTITLEMENT_CANCELLED',
      'ENTITLEMENT_DELETED',
    ]);
  });

  it('should publish messages that point at the resource the API then returns', async () => {
    const bought = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    const message = bought.messages[1] as { providerId: string; entitlement: { id: string; updateTime: string } };

    const { data } = await api.providers.entitlements.get({ name: entitlementName(message.entitlement.id) });

    expect(message.providerId).toBe(P);
    expect(data.updateTime).toBe(message.entitlement.updateTime);
    expect(data.orderId).not.toBe(message.entitlement.id);
  });

  it('should refuse to activate an entitlement the provider has not approved, publishing nothing', async () => {
    const { entitlementId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    published = [];

    const error = await simulator.activate(entitlementId ?? '').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SimulatorError);
    expect(error).toMatchObject({
      httpStatus: 400,
      status: 'FAILED_PRECONDITION',
      message: expect.stringContaining('not been approved'),
    });
    expect(published).toEqual([]);
  });

  it('should reuse an existing account and sign up a named new one', async () => {
    const { accountId } = await simulator.signUpAccount({ accountId: 'E-AAAA-BBBB-CCCC-DDDD' });

    const again = await simulator.buy({ accountId: accountId ?? '', product: PRODUCT, plan: 'basic' });
    const fresh = await simulator.buy({ accountId: 'E-NEW', product: PRODUCT, plan: 'basic' });

    expect(eventTypes(again)).toEqual(['ENTITLEMENT_CREATION_REQUESTED']);
    expect(again.accountId).toBe('E-AAAA-BBBB-CCCC-DDDD');
    expect(eventTypes(fresh)).toEqual(['ACCOUNT_ACTIVE', 'ENTITLEMENT_CREATION_REQUESTED']);
    expect(fresh.accountId).toBe('E-NEW');
  });

  it('should announce an offer accepted with a future start', async () => {
    const bought = await simulator.buy({ product: PRODUCT, plan: 'pro', futureStart: '2027-01-01T00:00:00Z' });

    expect(eventTypes(bought)).toEqual([
      'ACCOUNT_ACTIVE',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_OFFER_ACCEPTED',
    ]);
    expect(bought.messages[2]).toMatchObject({ entitlement: { newOfferStartTime: '2027-01-01T00:00:00Z' } });
  });

  it('should cancel now, revert a pending cancellation, renew and end offers', async () => {
    const { entitlementId, accountId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    const id = entitlementId ?? '';
    await simulator.approveAccount(accountId ?? '');
    await api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} });
    await simulator.activate(id);

    expect(eventTypes(await simulator.renew(id))).toEqual(['ENTITLEMENT_RENEWED']);
    await simulator.cancel(id);
    expect(eventTypes(await simulator.revertCancellation(id))).toEqual(['ENTITLEMENT_CANCELLATION_REVERTED']);
    expect(eventTypes(await simulator.offerEnded(id))).toEqual(['ENTITLEMENT_OFFER_ENDED']);
    const cancelled = await simulator.cancel(id, { atPeriodEnd: false });

    expect(eventTypes(cancelled)).toEqual(['ENTITLEMENT_CANCELLED']);
    expect(cancelled.entitlement).toMatchObject({
      state: 'ENTITLEMENT_CANCELLED',
      cancellationReason: 'user-cancelled',
    });
  });

  it('should withdraw a plan change', async () => {
    const { entitlementId, accountId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });
    const id = entitlementId ?? '';
    await simulator.approveAccount(accountId ?? '');
    await api.providers.entitlements.approve({ name: entitlementName(id), requestBody: {} });
    await simulator.activate(id);
    await simulator.changePlan(id, 'basic');

    const withdrawn = await simulator.cancelPlanChange(id);

    expect(eventTypes(withdrawn)).toEqual(['ENTITLEMENT_PLAN_CHANGE_CANCELLED']);
    expect(withdrawn.entitlement).toMatchObject({ state: 'ENTITLEMENT_ACTIVE', plan: 'pro' });
  });

  it('should cancel the entitlements of a deleted account before ACCOUNT_DELETED', async () => {
    const { accountId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });

    const deleted = await simulator.deleteAccount(accountId ?? '');

    expect(eventTypes(deleted)).toEqual(['ENTITLEMENT_CANCELLED', 'ACCOUNT_DELETED']);
    expect(deleted.accountId).toBe(accountId);
    await expect(api.providers.accounts.get({ name: `providers/${P}/accounts/${accountId}` })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('should refuse to delete an entitlement that is not cancelled', async () => {
    const { entitlementId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });

    await expect(simulator.deleteEntitlement(entitlementId ?? '')).rejects.toMatchObject({
      status: 'FAILED_PRECONDITION',
    });
  });

  it('should list what the fake holds, with the approval flag', async () => {
    const { entitlementId } = await simulator.buy({ product: PRODUCT, plan: 'pro' });

    const [listed] = await simulator.listEntitlements();

    expect(listed).toMatchObject({ entitlement: { name: entitlementName(entitlementId ?? '') }, approved: false });
    expect(await simulator.listAccounts()).toHaveLength(1);
  });

  it('should report an unknown provider as PERMISSION_DENIED', async () => {
    const stranger = new MarketplaceSimulator({
      procurementUrl: `${fake.url}/`,
      providerId: 'stranger',
      publish: () => Promise.resolve('x'),
    });

    await expect(stranger.signUpAccount()).rejects.toMatchObject({ httpStatus: 403, status: 'PERMISSION_DENIED' });
  });
});
