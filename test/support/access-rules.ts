import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { EntitlementStatus, Source } from '../../src/entitlements/entitlement.js';

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

/** Grace per source in ms, from the shipped config/policy.yaml (`lifecycle.graceHours`), an input of the tests. */
export function policyGraceMs(source: Source, dir = 'config'): number {
  const policy = parseYaml(readFileSync(`${dir}/policy.yaml`, 'utf8')) as {
    lifecycle?: { graceHours?: Partial<Record<Source, number>> };
  };
  return (policy.lifecycle?.graceHours?.[source] ?? 0) * 3_600_000;
}

/**
 * Whether an entitlement with these inputs grants access at `now`: a granting status, started
 * (`validFrom` at or before now) and not ended (access ends exactly at `validUntil` + the source's
 * grace), not erased.
 */
export function expectAccess(
  e: { status: EntitlementStatus; validFrom: Date | null; validUntil: Date | null; erasedAt?: Date | null },
  now: Date,
  graceMs = 0,
): boolean {
  if (e.erasedAt) return false;
  if (!GRANTS_ACCESS[e.status]) return false;
  if (e.validFrom !== null && now.getTime() < e.validFrom.getTime()) return false;
  if (e.validUntil !== null && now.getTime() >= e.validUntil.getTime() + graceMs) return false;
  return true;
}
