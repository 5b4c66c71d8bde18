import type { EntitlementStatus } from '../entitlements/entitlement.js';
import type { Entitlement } from './procurement/procurement.client.js';

/** Procurement entitlement states → our status. Unknown states (the enum is open) map to null. */
const STATUS_BY_STATE: Record<string, EntitlementStatus> = {
  ENTITLEMENT_ACTIVATION_REQUESTED: 'pending_approval',
  ENTITLEMENT_ACTIVE: 'active',
  ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL: 'pending_plan_change',
  ENTITLEMENT_PENDING_PLAN_CHANGE: 'pending_plan_change',
  ENTITLEMENT_PENDING_CANCELLATION: 'pending_cancellation',
  ENTITLEMENT_CANCELLED: 'cancelled',
  ENTITLEMENT_SUSPENDED: 'suspended',
};

export function statusOf(state: string | null | undefined): EntitlementStatus | null {
  return (state && STATUS_BY_STATE[state]) || null;
}

export function lastSegment(name: string | null | undefined): string | null {
  const segment = name?.split('/').pop();
  return segment ? segment : null;
}

export function dateOf(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The product a Marketplace entitlement is for: `productExternalName`, else the deprecated `product`. */
export function productOf(e: Entitlement): string | null {
  return e.productExternalName || e.product || null;
}
