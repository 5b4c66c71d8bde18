/**
 * The Partner Procurement API v1 resources as the fake stores and serves them.
 * Field names and value formats follow the real API (see the generated client's
 * `cloudcommerceprocurement_v1.Schema$Entitlement` / `Schema$Account`); unset fields are absent.
 */

export const ENTITLEMENT_STATES = [
  'ENTITLEMENT_ACTIVATION_REQUESTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_PENDING_PLAN_CHANGE',
  'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
  'ENTITLEMENT_SUSPENDED',
] as const;

export type EntitlementState = (typeof ENTITLEMENT_STATES)[number];

export interface Consumer {
  project: string;
}

export interface Entitlement {
  name: string;
  account?: string;
  provider: string;
  product?: string;
  productExternalName?: string;
  quoteExternalName?: string;
  plan?: string;
  newPendingPlan?: string;
  offer?: string;
  offerDuration?: string;
  offerEndTime?: string;
  newPendingOffer?: string;
  newPendingOfferDuration?: string;
  newOfferStartTime?: string;
  newOfferEndTime?: string;
  state: EntitlementState;
  createTime: string;
  updateTime: string;
  usageReportingId?: string;
  orderId?: string;
  subscriptionEndTime?: string;
  cancellationReason?: string;
  messageToUser?: string;
  consumers?: Consumer[];
  inputProperties?: Record<string, unknown>;
  entitlementBenefitIds?: string[];
}

export type ApprovalState = 'PENDING' | 'APPROVED' | 'REJECTED';

export interface Approval {
  name: string;
  state: ApprovalState;
  reason?: string;
  updateTime: string;
}

export interface Account {
  name: string;
  provider: string;
  state: 'ACCOUNT_ACTIVE';
  approvals: Approval[];
  inputProperties?: Record<string, unknown>;
  resellerParentBillingAccount?: string;
  createTime: string;
  updateTime: string;
}

export const SIGNUP_APPROVAL = 'signup';

export function entitlementName(providerId: string, entitlementId: string): string {
  return `providers/${providerId}/entitlements/${entitlementId}`;
}

export function accountName(providerId: string, accountId: string): string {
  return `providers/${providerId}/accounts/${accountId}`;
}

/** Resource names are parsed by their last segment, as the reference advises. */
export function lastSegment(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
