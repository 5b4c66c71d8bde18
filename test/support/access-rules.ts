import type { EntitlementStatus } from '../../src/entitlements/entitlement.js';

/**
 * Which statuses let the subject use the product, written here once and on purpose independently of
 * src/entitlements (docs/firestore.md, "access"): the tests compare the code with this table, never
 * with fields the code wrote. `Record` makes a new status a compile error until it is decided here.
 */
export const GRANTS_ACCESS: Readonly<Record<EntitlementStatus, boolean>> = {
  pending_approval: false,
  active: true,
  pending_plan_change: true,
  pending_cancellation: true,
  suspended: false,
  expired: false,
  cancelled: false,
  rejected: false,
};

/**
 * Whether an entitlement with these inputs grants access at `now`: a granting status, started
 * (`validFrom` at or before now) and not ended (access ends exactly at `validUntil`), not erased.
 */
export function expectAccess(
  e: { status: EntitlementStatus; validFrom: Date | null; validUntil: Date | null; erasedAt?: Date | null },
  now: Date,
): boolean {
  if (e.erasedAt) return false;
  if (!GRANTS_ACCESS[e.status]) return false;
  if (e.validFrom !== null && now.getTime() < e.validFrom.getTime()) return false;
  if (e.validUntil !== null && now.getTime() >= e.validUntil.getTime()) return false;
  return true;
}
