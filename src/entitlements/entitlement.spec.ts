import { describe, expect, it } from '@jest/globals';
import { GRANTS_ACCESS, expectAccess } from '../../test/support/access-rules.js';
import { isActive, STATUSES, type EntitlementStatus } from './entitlement.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('isActive', () => {
  it('should grant access for exactly the statuses of the rule table, every status decided', () => {
    expect([...STATUSES].sort()).toEqual(Object.keys(GRANTS_ACCESS).sort());
    const got = Object.fromEntries(
      STATUSES.map((status) => [status, isActive({ status, validFrom: null, validUntil: null }, NOW)]),
    );
    expect(got).toEqual(GRANTS_ACCESS);
  });

  it.each(STATUSES.map((s) => [s]))('should never grant access under %s when the window is closed', (status) => {
    const s = status as EntitlementStatus;
    expect(isActive({ status: s, validFrom: at(1), validUntil: null }, NOW)).toBe(false);
    expect(isActive({ status: s, validFrom: null, validUntil: NOW }, NOW)).toBe(false);
    expect(isActive({ status: s, validFrom: at(-1), validUntil: at(1) }, NOW)).toBe(GRANTS_ACCESS[s]);
  });

  it('should end access exactly at validUntil and start it exactly at validFrom', () => {
    const active = (validFrom: Date | null, validUntil: Date | null) =>
      isActive({ status: 'active', validFrom, validUntil }, NOW);
    expect(active(null, at(1))).toBe(true);
    expect(active(null, NOW)).toBe(false);
    expect(active(null, at(-1))).toBe(false);
    expect(active(NOW, null)).toBe(true);
    expect(active(at(1), null)).toBe(false);
    expect(active(at(-1), null)).toBe(true);
  });

  it('should agree with the rule on every status and window boundary', () => {
    const edges = [null, at(-1), NOW, at(1)];
    for (const status of STATUSES)
      for (const validFrom of edges)
        for (const validUntil of edges) {
          const e = { status, validFrom, validUntil };
          expect({ ...e, access: isActive(e, NOW) }).toEqual({ ...e, access: expectAccess(e, NOW) });
        }
  });
});
