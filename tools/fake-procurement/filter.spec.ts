import { describe, expect, it } from '@jest/globals';
import { parseEntitlementFilter, type EntitlementPredicate } from './filter.js';
import type { Entitlement } from './types.js';

function entitlement(overrides: Partial<Entitlement>): Entitlement {
  return {
    name: 'providers/p/entitlements/e1',
    provider: 'p',
    account: 'providers/p/accounts/E-1234-5678-ABCD-EFGH',
    plan: 'pro',
    state: 'ENTITLEMENT_ACTIVE',
    createTime: '2026-11-02T10:15:29.000000Z',
    updateTime: '2026-11-02T10:15:30.000000Z',
    ...overrides,
  };
}

function predicate(filter: string): EntitlementPredicate {
  const result = parseEntitlementFilter(filter);
  if (!result.ok) throw new Error(`filter refused: ${result.error.message}`);
  return result.value;
}

const requested = entitlement({ state: 'ENTITLEMENT_ACTIVATION_REQUESTED' });
const active = entitlement({});
const otherAccount = entitlement({ account: 'providers/p/accounts/E-9999', state: 'ENTITLEMENT_ACTIVATION_REQUESTED' });

describe('parseEntitlementFilter', () => {
  it('should match everything for an empty filter', () => {
    expect(predicate('')(active)).toBe(true);
    expect(parseEntitlementFilter(undefined).ok).toBe(true);
  });

  it('should match states case-insensitively with or without the ENTITLEMENT_ prefix', () => {
    for (const filter of [
      'state=activation_requested',
      'state=ACTIVATION_REQUESTED',
      'state=ENTITLEMENT_ACTIVATION_REQUESTED',
      'state="entitlement_activation_requested"',
    ]) {
      expect(predicate(filter)(requested)).toBe(true);
      expect(predicate(filter)(active)).toBe(false);
    }
    expect(
      predicate('state=ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL')(
        entitlement({ state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' }),
      ),
    ).toBe(true);
  });

  it('should match an account by bare id or full resource name', () => {
    expect(predicate('account=E-1234-5678-ABCD-EFGH')(active)).toBe(true);
    expect(predicate('account="providers/p/accounts/E-1234-5678-ABCD-EFGH"')(active)).toBe(true);
    expect(predicate('account=E-9999')(active)).toBe(false);
  });

  it('should combine terms with an implicit or explicit AND', () => {
    for (const filter of [
      'account=E-1234-5678-ABCD-EFGH state=activation_requested',
      'account=E-1234-5678-ABCD-EFGH AND state=activation_requested',
    ]) {
      expect(predicate(filter)(requested)).toBe(true);
      expect(predicate(filter)(active)).toBe(false);
      expect(predicate(filter)(otherAccount)).toBe(false);
    }
  });

  it('should support OR, NOT, != and parentheses with OR binding tighter than AND', () => {
    const filter = 'state=activation_requested AND account=E-9999 OR account=E-1234-5678-ABCD-EFGH';
    expect(predicate(filter)(requested)).toBe(true);
    expect(predicate(filter)(otherAccount)).toBe(true);
    expect(predicate(filter)(active)).toBe(false);
    expect(predicate('NOT (state=active)')(active)).toBe(false);
    expect(predicate('plan!=basic')(active)).toBe(true);
    expect(predicate('(plan=basic OR plan=pro) state=active')(active)).toBe(true);
  });

  it('should match consumers only by set membership', () => {
    const withConsumer = entitlement({ consumers: [{ project: 'projects/123' }] });
    expect(predicate('consumers.project:"projects/123"')(withConsumer)).toBe(true);
    expect(predicate('consumers.project:"projects/456"')(withConsumer)).toBe(false);
    expect(parseEntitlementFilter('consumers.project=projects/123').ok).toBe(false);
  });

  it('should refuse unknown attributes, unknown states and malformed filters with INVALID_ARGUMENT', () => {
    for (const filter of [
      'colour=red',
      'state=happy',
      'state=',
      'state=active AND',
      '(state=active',
      'account="E-1',
      'services=x',
    ]) {
      const result = parseEntitlementFilter(filter);
      expect(result.ok ? 'accepted' : result.error.status).toBe('INVALID_ARGUMENT');
    }
  });
});
