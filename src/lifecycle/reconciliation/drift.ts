/**
 * The pure half of reconciliation: how Google's record and ours differ, which Marketplace event a
 * synthesized message names for a state, and the change that mirrors an entitlement Google no longer has.
 */
import { isActive, type EntitlementChange } from '../../entitlements/entitlement.js';
import type { EntitlementRecord } from '../../entitlements/ledger-plan.js';
import { awaitsActivationApproval, statusOf } from '../../marketplace/entitlement-state.js';
import { signupState } from '../../marketplace/events/accounts.js';
import type { AccountRecord } from '../../marketplace/marketplace-store.js';
import type { Account, Entitlement } from '../../marketplace/procurement/procurement.client.js';

/** `entitlements.list` filters for every state Google may still change (`state=` is case-insensitive, prefix optional). */
export const LIVE_STATE_FILTERS = [
  'state=activation_requested',
  'state=pending_plan_change_approval',
  'state=active',
  'state=pending_plan_change',
  'state=pending_cancellation',
  'state=suspended',
] as const;

/**
 * The Marketplace event a synthesized reconciliation message names for a fetched state. The handler
 * re-reads the entitlement and decides from (event, state) as for a real message, so the approval
 * events (creation, plan change requested) let policy approve what it allows.
 */
const EVENT_FOR_STATE: Record<string, string> = {
  ENTITLEMENT_ACTIVATION_REQUESTED: 'ENTITLEMENT_CREATION_REQUESTED',
  ENTITLEMENT_ACTIVE: 'ENTITLEMENT_ACTIVE',
  ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL: 'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  ENTITLEMENT_PENDING_PLAN_CHANGE: 'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  ENTITLEMENT_PENDING_CANCELLATION: 'ENTITLEMENT_PENDING_CANCELLATION',
  ENTITLEMENT_CANCELLED: 'ENTITLEMENT_CANCELLED',
  ENTITLEMENT_SUSPENDED: 'ENTITLEMENT_ACTIVE',
};

export function eventTypeForState(state: string | null | undefined): string {
  return (state && EVENT_FOR_STATE[state]) || 'ENTITLEMENT_ACTIVE';
}

/** What the provider still has to approve: a new entitlement (no `newOfferStartTime` until approved) or a plan change. */
export function awaitingProviderApproval(e: Entitlement | null): 'activation' | 'planChange' | null {
  if (awaitsActivationApproval(e)) return 'activation';
  if (e?.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL') return 'planChange';
  return null;
}

/**
 * How our record of a Marketplace entitlement differs from Google's; empty when they agree.
 * An erased tombstone agrees with anything (erased data is never brought back). An entitlement the
 * expiry sweep ended agrees with a Google state that still grants access once its window is over:
 * Google has not caught up yet, and its late event will apply through the ledger when it comes.
 */
export function entitlementDifferences(google: Entitlement, stored: EntitlementRecord | null, now: Date): string[] {
  if (!stored) return ['missing in Firestore'];
  if (stored.erasedAt) return [];
  const differences: string[] = [];
  const expected = statusOf(google.state);
  const windowEnded = stored.validUntil !== null && stored.validUntil.getTime() <= now.getTime();
  const expiredByUs =
    stored.status === 'expired' &&
    expected !== null &&
    windowEnded &&
    isActive({ status: expected, validFrom: null, validUntil: null }, now);
  if (expected && stored.status !== expected && !expiredByUs)
    differences.push(`status: ours ${stored.status}, Google ${google.state}`);
  if ((google.plan ?? null) !== (stored.providerPlan ?? null))
    differences.push(`plan: ours ${stored.providerPlan}, Google ${google.plan ?? null}`);
  const ours = marketplaceUpdateTime(stored);
  if (google.updateTime && (!ours || compareTimestamps(google.updateTime, ours) > 0)) {
    differences.push(`updateTime: ours ${ours}, Google ${google.updateTime}`);
  }
  return differences;
}

/** Accounts: presence and the `signup` approval (the part approvals depend on). */
export function accountDifferences(google: Account, stored: AccountRecord | null): string[] {
  if (!stored) return ['missing in Firestore'];
  const signup = signupState(google);
  return stored.signup.state === signup ? [] : [`signup: ours ${stored.signup.state}, Google ${signup}`];
}

/**
 * Google answers 404 for an entitlement we still hold as live: it was rejected (removed before
 * activation) or deleted without our hearing of it. Access ends: `rejected` if it never started,
 * else `cancelled`. Personal data is not erased on a 404 alone; that stays the job of Google's
 * explicit ENTITLEMENT_DELETED / ACCOUNT_DELETED notices. The source time is the applied one, so any
 * later real event still wins.
 */
export function goneChange(stored: EntitlementRecord, eventKey: string): EntitlementChange {
  return {
    source: 'gcp',
    eventKey,
    eventType: 'RECONCILE_NOT_FOUND',
    sourceTime: stored.sourceUpdatedAt,
    externalId: stored.externalId,
    subject: stored.subject!,
    product: null,
    status: stored.status === 'pending_approval' ? 'rejected' : 'cancelled',
    providerState: 'NOT_FOUND',
    pendingPlan: null,
    actor: { type: 'system', id: 'reconciliation' },
  };
}

/** RFC 3339 UTC timestamps compared to the nanosecond (Google writes microseconds; `Date` keeps milliseconds). */
export function compareTimestamps(a: string, b: string): number {
  const na = normalized(a);
  const nb = normalized(b);
  if (na && nb) return na < nb ? -1 : na > nb ? 1 : 0;
  return Math.sign(Date.parse(a) - Date.parse(b));
}

function normalized(t: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(t);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : null;
}

function marketplaceUpdateTime(stored: EntitlementRecord): string | null {
  const marketplace = stored.details.marketplace as { updateTime?: string | null } | undefined;
  return marketplace?.updateTime ?? null;
}
