/** Requests and outcomes of the fake's state machine (see `state.ts`). */
import type { MarketplaceMessage } from './messages.js';
import type { Account, Consumer, Entitlement } from './types.js';

export type { ListRequest } from './paging.js';

export interface ListEntitlementsResponse {
  entitlements?: Entitlement[];
  nextPageToken?: string;
}

export interface ListAccountsResponse {
  accounts?: Account[];
  nextPageToken?: string;
}

export interface ApproveEntitlementRequest {
  properties?: Record<string, string>;
  entitlementMigrated?: string;
}

export interface PlanChangeDecision {
  pendingPlanName?: string;
  reason?: string;
}

export interface AccountDecision {
  approvalName?: string;
  reason?: string;
  properties?: Record<string, string>;
}

export type PatchEntitlementRequest = Partial<Entitlement>;

export interface CreateAccountOptions {
  accountId?: string;
  signupApproved?: boolean;
  inputProperties?: Record<string, unknown>;
  resellerParentBillingAccount?: string;
  /** Account notifications are opt-in per product, and the legacy one is deprecated; both are modelled. */
  accountEvent?: 'ACCOUNT_ACTIVE' | 'ACCOUNT_CREATION_REQUESTED' | 'NONE';
}

export interface PurchaseOptions {
  accountId: string;
  product: string;
  plan?: string;
  entitlementId?: string;
  orderId?: string;
  offer?: string;
  /** ISO-8601 term length; defaults to P1M unless `offerEndTime` fixes the end date instead. */
  offerDuration?: string;
  offerEndTime?: string;
  /** An accepted offer that starts later: Google also publishes ENTITLEMENT_OFFER_ACCEPTED. */
  futureStart?: string;
  /**
   * Automatic offer approval: Google approves the purchase itself (no `entitlements.approve` is needed or
   * accepted) and publishes ENTITLEMENT_OFFER_ACCEPTED only, with `newOfferStartTime` (`futureStart`, else now).
   */
  automaticApproval?: boolean;
  quoteExternalName?: string;
  usageReportingId?: string;
  consumers?: Consumer[];
  inputProperties?: Record<string, unknown>;
  entitlementBenefitIds?: string[];
}

export interface PlanChangeOptions {
  plan: string;
  offer?: string;
  offerDuration?: string;
  /**
   * When an approved change takes effect: `endOfTerm` (the default) waits in PENDING_PLAN_CHANGE for the
   * current term to end; `now` goes straight to ACTIVE on the new plan (ENTITLEMENT_PLAN_CHANGED). A change
   * with no running term (no future `offerEndTime`) always takes effect at once.
   */
  takesEffect?: 'now' | 'endOfTerm';
}

export interface CancelOptions {
  /** true: PENDING_CANCELLATION until the term ends; false: CANCELLED now. Defaults to true. */
  atPeriodEnd?: boolean;
  reason?: string;
  /** Also publish ENTITLEMENT_CANCELLING (pointing at the pre-cancellation updateTime) first. */
  announceCancelling?: boolean;
}

export interface AcceptOfferOptions {
  offer: string;
  plan?: string;
  offerDuration?: string;
  startTime: string;
  endTime?: string;
}

export interface MarketplaceOutcome {
  entitlement?: Entitlement;
  account?: Account;
  messages: MarketplaceMessage[];
}

export interface EntitlementInspection {
  entitlement: Entitlement;
  /** Approved (by the provider, or by Google's automatic offer approval); Google has not activated it yet. */
  approved: boolean;
  approvedBy?: 'provider' | 'google';
  approveRequest?: ApproveEntitlementRequest;
  planChangeRejectionReason?: string;
}

export interface RemovedEntitlement {
  entitlement: Entitlement;
  removedBy: 'reject' | 'delete' | 'test';
  reason?: string;
}
