import { describe, expect, it } from '@jest/globals';
import { change } from '../../test/support/changes.js';
import { expectAccess } from '../../test/support/access-rules.js';
import { STATUSES } from './entitlement.js';
import { accessKey, planApply, type AccessSummary } from './ledger-plan.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');

function plan(overrides: Parameters<typeof change>[0]) {
  const c = change({ subject: { key: 'user:u1' }, validFrom: null, ...overrides });
  const p = planApply({
    change: c,
    priorEvent: null,
    existing: null,
    linkedSubjectKey: null,
    accessByKey: new Map<string, AccessSummary | null>(),
    now: NOW,
  });
  if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
  return p;
}

describe('planApply: what reaches the access summary', () => {
  it.each(STATUSES.map((s) => [s]))('should list an entitlement under %s exactly when the rule grants access', (s) => {
    const status = s as (typeof STATUSES)[number];
    const p = plan({ status });
    const want = expectAccess({ status, validFrom: null, validUntil: null }, NOW);
    const summary = p.access.get('user:u1')!;
    expect(Object.keys(summary.entitlements)).toEqual(want ? [accessKey('purchasely:sub-1')] : []);
    expect(summary.products).toEqual(want ? ['demo'] : []);
    expect(p.entitlement.active).toBe(want);
  });

  it('should leave access at the instant validUntil is reached, and keep it one millisecond before', () => {
    expect(plan({ validUntil: NOW }).access.get('user:u1')!.entitlements).toEqual({});
    expect(plan({ validUntil: new Date(NOW.getTime() + 1) }).access.get('user:u1')!.products).toEqual(['demo']);
  });

  it('should drop an entitlement from access when an active one becomes suspended', () => {
    const first = plan({ status: 'active' });
    const suspended = planApply({
      change: change({ subject: { key: 'user:u1' }, status: 'suspended', sourceTime: new Date(NOW.getTime() - 1) }),
      priorEvent: null,
      existing: first.entitlement,
      linkedSubjectKey: null,
      accessByKey: new Map([['user:u1', first.access.get('user:u1')!]]),
      now: NOW,
    });
    expect(suspended).toMatchObject({ outcome: 'applied', accessChanged: true });
    if (suspended.outcome !== 'applied') return;
    expect(suspended.access.get('user:u1')).toMatchObject({ entitlements: {}, products: [] });
  });
});

describe('planApply: the expiring notice still due (pendingNoticeFor)', () => {
  const until = new Date(NOW.getTime() + 5 * 86_400_000);
  const next = (existing: ReturnType<typeof plan>['entitlement'], overrides: Parameters<typeof change>[0]) => {
    const p = planApply({
      change: change({ subject: { key: 'user:u1' }, validFrom: null, sourceTime: NOW, ...overrides }),
      priorEvent: null,
      existing,
      linkedSubjectKey: null,
      accessByKey: new Map<string, AccessSummary | null>(),
      now: NOW,
    });
    if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
    return p.entitlement;
  };

  it('should mark a new end, keep a sent notice sent while the end stays, and mark a moved end again', () => {
    const first = plan({ validUntil: until }).entitlement;
    expect(first.pendingNoticeFor).toEqual(until);
    expect(plan({ validUntil: null }).entitlement.pendingNoticeFor).toBeNull();

    const sent = { ...first, pendingNoticeFor: null };
    expect(next(sent, { eventType: 'UPDATED', validUntil: until }).pendingNoticeFor).toBeNull();
    const renewed = new Date(until.getTime() + 30 * 86_400_000);
    expect(next(sent, { eventType: 'RENEWED', validUntil: renewed }).pendingNoticeFor).toEqual(renewed);
    // Moved back to an end whose notice went out already: marked, and the job finds that notice (no second one).
    expect(next({ ...sent, validUntil: renewed }, { validUntil: until }).pendingNoticeFor).toEqual(until);
  });

  it('should mark a stored document written before the field existed, and clear it on erasure', () => {
    const { pendingNoticeFor: _, ...legacy } = plan({ validUntil: until }).entitlement;
    expect(next(legacy, { validUntil: until }).pendingNoticeFor).toEqual(until);
    expect(next(legacy, { validUntil: until, erase: true }).pendingNoticeFor).toBeNull();
  });
});
