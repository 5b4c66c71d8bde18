import { describe, expect, it } from '@jest/globals';
import {
  age,
  approvalReason,
  figureList,
  href,
  jwtClaims,
  parseRoute,
  planChangeReason,
  searchKind,
  utf8Bytes,
  when,
} from '../../console/src/format.js';

/** The admin console's pure helpers (console/src/format.ts); the pages themselves run in test/console/console.e2e.spec.ts. */
describe('console helpers', () => {
  it('should count a reason in bytes of UTF-8, as the Procurement API does', () => {
    expect(utf8Bytes('abc')).toBe(3);
    expect(utf8Bytes('é'.repeat(129))).toBe(258);
    expect(utf8Bytes('😀')).toBe(4);
    expect(utf8Bytes('')).toBe(0);
  });

  it('should say how long something has waited', () => {
    const now = new Date('2026-11-02T12:00:00Z');
    expect(age('2026-11-02T11:59:30Z', now)).toBe('just now');
    expect(age('2026-11-02T11:48:00Z', now)).toBe('12 min');
    expect(age('2026-11-02T09:55:00Z', now)).toBe('2 h 5 min');
    expect(age('2026-10-30T08:00:00Z', now)).toBe('3 d 4 h');
    expect(age(null, now)).toBe('—');
    expect(age('not a date', now)).toBe('—');
    expect(when('2026-11-02T09:55:31.123Z')).toBe('2026-11-02 09:55 UTC');
    expect(when('garbage')).toBe('garbage');
  });

  it("should give the policy's reason for what waits", () => {
    const e = (approval: string | null, planChangeApproval: string | null = null) => ({
      product: 'demo',
      plan: 'enterprise',
      pendingPlan: { plan: 'pro', providerPlan: 'pro-annual' },
      details: { marketplace: { approval, planChangeApproval } },
    });
    expect(approvalReason(e('awaiting_admin'))).toBe(
      'Manual approval: the policy leaves demo / enterprise to an approver',
    );
    expect(approvalReason(e('awaiting_account'))).toBe("Parked: the account's sign-up is not approved yet");
    expect(approvalReason(e('approval_requested'))).toBe('Approved; waiting for Google to activate it');
    expect(approvalReason(e(null))).toBe('Waiting for approval');
    expect(planChangeReason(e(null, 'awaiting_admin'))).toBe(
      'Manual approval: the policy leaves changes to demo / pro to an approver',
    );
  });

  it('should read a search box entry as an entitlement id, an e-mail, or another id', () => {
    expect(searchKind('gcp:5d6c-1a2e')).toBe('entitlement');
    expect(searchKind(' easycart:order-1 ')).toBe('entitlement');
    expect(searchKind('Ann@Example.com')).toBe('email');
    expect(searchKind('E-12AB-34CD')).toBe('other');
    expect(searchKind('gcp:')).toBe('other');
    expect(searchKind('two words@x.y')).toBe('other');
  });

  it('should route hashes both ways, ids with any character included', () => {
    expect(parseRoute('')).toEqual(['queue']);
    expect(parseRoute('#/')).toEqual(['queue']);
    expect(parseRoute(href('entitlements', 'gcp:a/b?c#d'))).toEqual(['entitlements', 'gcp:a/b?c#d']);
    expect(parseRoute('#/search/%E0%A4%A')).toEqual(['search', '%E0%A4%A']);
  });

  it('should read the claims of a JWT for display and nothing of garbage', () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1900000000, email: 'ops@example.com' })).toString('base64url');
    expect(jwtClaims(`h.${payload}.s`)).toEqual({ exp: 1900000000, email: 'ops@example.com' });
    expect(jwtClaims('nodots')).toBeNull();
    expect(jwtClaims('a.!!!.c')).toBeNull();
    expect(jwtClaims(`a.${Buffer.from('42').toString('base64url')}.c`)).toBeNull();
  });

  it('should list the figures worth showing: top-level counts always, nested ones when not zero', () => {
    expect(figureList({ expired: 0, 'outcomes.applied': 2, 'outcomes.stale': 0, errors: 1 })).toEqual([
      ['expired', 0],
      ['outcomes.applied', 2],
      ['errors', 1],
    ]);
  });
});
