import { describe, expect, it } from '@jest/globals';
import type { EntitlementRecord } from '../../entitlements/ledger-plan.js';
import type { AccountRecord } from '../../marketplace/marketplace-store.js';
import type { Entitlement } from '../../marketplace/procurement/procurement.client.js';
import {
  accountDifferences,
  awaitingProviderApproval,
  compareTimestamps,
  entitlementDifferences,
  eventTypeForState,
  goneChange,
} from './drift.js';

const NOW = new Date('2026-11-10T00:00:00Z');
const UPDATED = '2026-11-01T10:00:00.123456Z';

const google = (overrides: Partial<Entitlement> = {}): Entitlement => ({
  name: 'providers/p/entitlements/e1',
  account: 'providers/p/accounts/A-1',
  state: 'ENTITLEMENT_ACTIVE',
  plan: 'pro',
  updateTime: UPDATED,
  ...overrides,
});

const stored = (overrides: Partial<EntitlementRecord> = {}): EntitlementRecord => ({
  id: 'gcp:e1',
  source: 'gcp',
  externalId: 'e1',
  subject: { key: 'gcp-account:A-1', accountId: 'A-1' },
  product: 'demo',
  plan: 'pro',
  providerProduct: 'demo-product',
  providerPlan: 'pro',
  pendingPlan: null,
  status: 'active',
  active: true,
  providerState: 'ENTITLEMENT_ACTIVE',
  validFrom: null,
  validUntil: null,
  periodEnd: null,
  sourceUpdatedAt: new Date(UPDATED),
  version: 2,
  createdAt: NOW,
  updatedAt: NOW,
  lastEvent: { key: 'k', type: 'ENTITLEMENT_ACTIVE', at: NOW },
  details: { marketplace: { accountId: 'A-1', updateTime: UPDATED } },
  erasedAt: null,
  ...overrides,
});

describe('entitlementDifferences', () => {
  it('should find nothing when status, plan and updateTime agree', () => {
    expect(entitlementDifferences(google(), stored(), NOW)).toEqual([]);
  });

  it('should name a missing document, another status, another plan and a newer Google updateTime', () => {
    expect(entitlementDifferences(google(), null, NOW)).toEqual(['missing in Firestore']);
    expect(entitlementDifferences(google(), stored({ status: 'cancelled' }), NOW)).toEqual([
      'status: ours cancelled, Google ENTITLEMENT_ACTIVE',
    ]);
    expect(entitlementDifferences(google({ plan: 'basic' }), stored(), NOW)).toEqual(['plan: ours pro, Google basic']);
    // One microsecond later than ours: a Date would not see it.
    expect(entitlementDifferences(google({ updateTime: '2026-11-01T10:00:00.123457Z' }), stored(), NOW)).toEqual([
      `updateTime: ours ${UPDATED}, Google 2026-11-01T10:00:00.123457Z`,
    ]);
  });

  it('should not ask to bring back an erased entitlement', () => {
    expect(
      entitlementDifferences(google(), stored({ erasedAt: NOW, subject: null, status: 'cancelled' }), NOW),
    ).toEqual([]);
  });

  it('should accept an expiry by the sweep while Google still shows pending cancellation, but not before the window ended', () => {
    const ended = stored({ status: 'expired', active: false, validUntil: new Date('2026-11-05T00:00:00Z') });
    expect(entitlementDifferences(google({ state: 'ENTITLEMENT_PENDING_CANCELLATION' }), ended, NOW)).toEqual([]);
    const early = stored({ status: 'expired', active: false, validUntil: new Date('2026-11-20T00:00:00Z') });
    expect(entitlementDifferences(google({ state: 'ENTITLEMENT_PENDING_CANCELLATION' }), early, NOW)).toHaveLength(1);
  });
});

describe('reconciliation helpers', () => {
  it('should name the event matching each state, approvals included', () => {
    expect(eventTypeForState('ENTITLEMENT_ACTIVATION_REQUESTED')).toBe('ENTITLEMENT_CREATION_REQUESTED');
    expect(eventTypeForState('ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL')).toBe('ENTITLEMENT_PLAN_CHANGE_REQUESTED');
    expect(eventTypeForState('ENTITLEMENT_CANCELLED')).toBe('ENTITLEMENT_CANCELLED');
    expect(eventTypeForState('ENTITLEMENT_PENDING_CANCELLATION')).toBe('ENTITLEMENT_PENDING_CANCELLATION');
    expect(eventTypeForState('SOMETHING_NEW')).toBe('ENTITLEMENT_ACTIVE');
  });

  it('should tell an activation still waiting for approval from one approved (newOfferStartTime set)', () => {
    expect(awaitingProviderApproval(google({ state: 'ENTITLEMENT_ACTIVATION_REQUESTED' }))).toBe('activation');
    expect(
      awaitingProviderApproval(google({ state: 'ENTITLEMENT_ACTIVATION_REQUESTED', newOfferStartTime: UPDATED })),
    ).toBeNull();
    expect(awaitingProviderApproval(google({ state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' }))).toBe('planChange');
    expect(awaitingProviderApproval(null)).toBeNull();
  });

  it('should end a live entitlement Google no longer has: rejected before it started, cancelled after', () => {
    expect(goneChange(stored(), 'k')).toMatchObject({
      status: 'cancelled',
      providerState: 'NOT_FOUND',
      sourceTime: new Date(UPDATED),
      product: null,
    });
    expect(goneChange(stored({ status: 'pending_approval', active: false }), 'k').status).toBe('rejected');
  });

  it('should compare accounts by presence and sign-up state', () => {
    const account = { name: 'providers/p/accounts/A-1', approvals: [{ name: 'signup', state: 'APPROVED' }] };
    const ours = { signup: { state: 'PENDING', updateTime: null } } as unknown as AccountRecord;
    expect(accountDifferences(account, null)).toEqual(['missing in Firestore']);
    expect(accountDifferences(account, ours)).toEqual(['signup: ours PENDING, Google APPROVED']);
    expect(accountDifferences(account, { ...ours, signup: { state: 'APPROVED', updateTime: null } })).toEqual([]);
  });

  it('should compare RFC 3339 timestamps to the microsecond', () => {
    expect(compareTimestamps('2026-11-01T10:00:00.1Z', '2026-11-01T10:00:00.099999Z')).toBe(1);
    expect(compareTimestamps('2026-11-01T10:00:00Z', '2026-11-01T10:00:00.000000Z')).toBe(0);
    expect(compareTimestamps('2026-11-01T10:00:00Z', '2026-11-01T10:00:01Z')).toBe(-1);
  });
});
