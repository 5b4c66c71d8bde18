import type { InboundEvent, LedgerResult } from '../entitlements/inbound-event.js';
import type { SignupState } from './events/accounts.js';

/** `accounts/{accountId}`: the Marketplace account mirror, sign-up data and the link to a product user. */
export interface AccountRecord {
  accountId: string;
  provider: string;
  state: string;
  signup: { state: SignupState; updateTime: Date | null };
  sourceUpdatedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  /** Product user the account is linked to at sign-up (subject key `user:<id>`). */
  linkedUserId?: string | null;
  linkedSubjectKey?: string | null;
  /** Verified sign-up token data (google.user_identity, roles, orders). */
  google?: Record<string, unknown> | null;
}

export interface AccountMirror {
  accountId: string;
  provider: string;
  state: string;
  signup: { state: SignupState; updateTime: Date | null };
  sourceUpdatedAt: Date;
}

/** The kinds of Procurement calls that must happen at most once per target. */
export type ActionKind = 'approve' | 'reject' | 'approvePlanChange' | 'rejectPlanChange' | 'approveAccount' | 'rejectAccount';

/** Persistence port for Marketplace accounts and the once-only guard on Procurement actions. */
export abstract class MarketplaceStore {
  /** Mirror an account (stale guard on the API's updateTime) and record the event, in one transaction. */
  abstract applyAccount(mirror: AccountMirror, event: InboundEvent, now: Date): Promise<LedgerResult>;
  abstract getAccount(accountId: string): Promise<AccountRecord | null>;
  /** Delete the account document (personal data) and record the event. */
  abstract eraseAccount(accountId: string, event: InboundEvent, now: Date): Promise<LedgerResult>;
  /** Ids (`gcp:<id>`) of the stored entitlements of a Marketplace account. */
  abstract entitlementIdsOfAccount(accountId: string): Promise<string[]>;
  /**
   * Claim the right to make one Procurement call (`key` names kind, target and e.g. the plan).
   * `false` when it was done already, or another instance holds an unexpired claim.
   */
  abstract claimAction(key: string, kind: ActionKind, leaseMs: number, now: Date): Promise<boolean>;
  /** The call succeeded (or its effect is known): the claim stays, forever refusing a second call. */
  abstract completeAction(key: string, result: Record<string, unknown>, now: Date): Promise<void>;
  /** The call failed without effect: drop the claim so a retry may claim again. */
  abstract releaseAction(key: string): Promise<void>;
}
