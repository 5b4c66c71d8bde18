import { describe, expect, it } from '@jest/globals';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import { expiringEvent, expiryChange, graceMs, noticeKey, startChange, windowAction } from './lifecycle-events.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-11-01T00:00:00Z');

function record(overrides: Partial<EntitlementRecord> = {}): EntitlementRecord {
  return {
    id: 'purchasely:sub-1',
    source: 'purchasely',
    externalId: 'sub-1',
    subject: { key: 'user:u1', userId: 'u1' },
    product: 'demo',
    plan: 'monthly',
    providerProduct: 'PREMIUM',
    providerPlan: 'monthly',
    pendingPlan: null,
    status: 'active',
    active: true,
    providerState: 'ACTIVATE',
    validFrom: new Date(T0.getTime() - 30 * 24 * HOUR),
    validUntil: T0,
    periodEnd: null,
    sourceUpdatedAt: new Date(T0.getTime() - 30 * 24 * HOUR),
    version: 3,
    createdAt: T0,
    updatedAt: T0,
    lastEvent: { key: 'k', type: 'ACTIVATE', at: T0 },
    details: {},
    erasedAt: null,
    ...overrides,
  };
}

describe('windowAction', () => {
  it('should expire only once validUntil plus the grace has passed', () => {
    const e = record();
    expect(windowAction(e, new Date(T0.getTime() - 1), 0)).toBe('none');
    expect(windowAction(e, T0, 0)).toBe('expire');
    expect(windowAction(e, new Date(T0.getTime() + 23 * HOUR), 24 * HOUR)).toBe('none');
    expect(windowAction(e, new Date(T0.getTime() + 24 * HOUR), 24 * HOUR)).toBe('expire');
  });

  it('should start an inactive entitlement whose validFrom arrived, and not one whose status grants nothing', () => {
    const future = record({ active: false, validFrom: T0, validUntil: null });
    expect(windowAction(future, new Date(T0.getTime() - 1), 0)).toBe('none');
    expect(windowAction(future, T0, 0)).toBe('start');
    expect(windowAction({ ...future, status: 'pending_approval' }, T0, 0)).toBe('none');
    expect(windowAction({ ...future, active: true }, T0, 0)).toBe('none');
  });

  it('should leave erased and final entitlements alone', () => {
    expect(windowAction(record({ subject: null }), new Date(T0.getTime() + HOUR), 0)).toBe('none');
    expect(windowAction(record({ erasedAt: T0 }), new Date(T0.getTime() + HOUR), 0)).toBe('none');
    expect(windowAction(record({ subject: null, erasedAt: T0 }), new Date(T0.getTime() + HOUR), 0)).toBe('none');
    expect(windowAction(record({ status: 'expired', active: false }), new Date(T0.getTime() + HOUR), 0)).toBe('none');
    expect(windowAction(record({ status: 'cancelled' }), new Date(T0.getTime() + HOUR), 0)).toBe('none');
  });

  it('should expire rather than start an entitlement whose whole window is over', () => {
    const missed = record({
      active: false,
      validFrom: new Date(T0.getTime() - 2 * HOUR),
      validUntil: new Date(T0.getTime() - HOUR),
    });
    expect(windowAction(missed, T0, 0)).toBe('expire');
  });
});

describe('lifecycle changes', () => {
  it('should key the expiry by entitlement and period and date it at validUntil plus grace', () => {
    const change = expiryChange(record(), 24 * HOUR);
    expect(change).toMatchObject({
      source: 'purchasely',
      externalId: 'sub-1',
      eventKey: `expire:purchasely:sub-1:${T0.getTime()}`,
      eventType: 'LIFECYCLE_EXPIRED',
      status: 'expired',
      product: null,
      providerState: 'ACTIVATE',
      subject: { key: 'user:u1' },
      actor: { type: 'system', id: 'expiry-sweep' },
    });
    expect(change.sourceTime).toEqual(new Date(T0.getTime() + 24 * HOUR));
    expect(change).not.toHaveProperty('validUntil');
  });

  it('should never date a lifecycle change before the source time already applied', () => {
    const ahead = new Date(T0.getTime() + 48 * HOUR);
    expect(expiryChange(record({ sourceUpdatedAt: ahead }), 0).sourceTime).toEqual(ahead);
    expect(startChange(record({ active: false, validFrom: T0, sourceUpdatedAt: ahead })).sourceTime).toEqual(ahead);
  });

  it('should start with the stored status and a key naming validFrom', () => {
    const change = startChange(record({ active: false, status: 'pending_cancellation', validFrom: T0 }));
    expect(change).toMatchObject({
      eventKey: `start:purchasely:sub-1:${T0.getTime()}`,
      eventType: 'LIFECYCLE_STARTED',
      status: 'pending_cancellation',
      actor: { type: 'system', id: 'start-sweep' },
    });
  });

  it('should read the grace per source in hours, none when absent', () => {
    expect(graceMs({ purchasely: 24 }, 'purchasely')).toBe(24 * HOUR);
    expect(graceMs({ purchasely: 24 }, 'gcp')).toBe(0);
  });
});

describe('expiringEvent', () => {
  it('should name the entitlement and period and say when access ends', () => {
    const now = new Date(T0.getTime() - 2 * 24 * HOUR);
    const event = expiringEvent(record(), 24 * HOUR, now);
    expect(noticeKey(record())).toBe(`purchasely:sub-1:${T0.getTime()}`);
    expect(event).toMatchObject({
      schemaVersion: 1,
      type: 'entitlement.expiring',
      id: `expiring:purchasely:sub-1:${T0.getTime()}`,
      entitlementId: 'purchasely:sub-1',
      entitlementVersion: 3,
      validUntil: T0,
      accessEndsAt: new Date(T0.getTime() + 24 * HOUR),
      occurredAt: now,
      state: { status: 'active', active: true, product: 'demo', plan: 'monthly', subjectKey: 'user:u1' },
    });
  });
});
