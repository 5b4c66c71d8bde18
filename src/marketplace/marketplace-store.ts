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

/** `accounts/{id}.google`: what a verified sign-up token said (docs/marketplace-signup.md). */
export interface SignupData {
  user_identity: string | null;
  roles: string[];
  /** Order ids as far as they could be read; the claim's shape is not documented. */
  orders: string[];
  /** The token's `google` claim as received, as JSON (Firestore cannot hold every JSON shape, e.g. nested arrays). */
  raw: string | null;
  receivedAt: Date;
  tokenIssuedAt: Date;
}

/** A link token issued at sign-up: `linkTokens/{nonce}`, consumed once by the link call. */
export interface LinkTokenGrant {
  nonce: string;
  accountId: string;
  expiresAt: Date;
}

export interface AccountLink {
  nonce: string;
  accountId: string;
  userId: string;
  subjectKey: string;
  /** Who called the link endpoint (service account e-mail or API key number), for the audit. */
  linkedBy: string;
}

export type LinkRefusal = 'unknown_token' | 'expired' | 'reused' | 'no_account' | 'linked_to_other_user';

/** `resumed`: the token was consumed by this same user before, but the link never completed (a retry). */
export type LinkAttempt = { ok: true; resumed: boolean } | { ok: false; reason: LinkRefusal };

export type ClaimResult = 'claimed' | 'reclaimed' | 'done' | 'held';

/** The kinds of Procurement calls that must happen at most once per target. */
export type ActionKind =
  'approve' | 'reject' | 'approvePlanChange' | 'rejectPlanChange' | 'approveAccount' | 'rejectAccount';

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
   * Claim the right to make one Procurement call (`key` names kind, target and e.g. the plan):
   * `claimed` (first claim), `reclaimed` (an earlier claim expired without completing: its holder
   * died, and the call may or may not have been made), `done` (made already), `held` (another
   * delivery holds an unexpired claim right now).
   */
  abstract claim(key: string, kind: ActionKind, leaseMs: number, now: Date): Promise<ClaimResult>;

  /** `claim` for callers that only need "may I call now?" (`claimed` or `reclaimed`). */
  async claimAction(key: string, kind: ActionKind, leaseMs: number, now: Date): Promise<boolean> {
    const result = await this.claim(key, kind, leaseMs, now);
    return result === 'claimed' || result === 'reclaimed';
  }
  /** The call succeeded (or its effect is known): the claim stays, forever refusing a second call. */
  abstract completeAction(key: string, result: Record<string, unknown>, now: Date): Promise<void>;
  /** Whether the call named by `key` was made (claimed and completed). */
  abstract isActionDone(key: string): Promise<boolean>;
  /** The call failed without effect: drop the claim so a retry may claim again. */
  abstract releaseAction(key: string): Promise<void>;
  /**
   * In one transaction: replace the account's `google` sign-up data (creating the account from `mirror`
   * when it does not exist yet) and create the link token document.
   */
  abstract recordSignup(mirror: AccountMirror, google: SignupData, grant: LinkTokenGrant, now: Date): Promise<void>;
  /**
   * In one transaction: consume the link token and set `linkedUserId` / `linkedSubjectKey` on the account.
   * Refused (nothing written) when the token is unknown, expired or used, or the account is linked to another user.
   */
  abstract linkAccount(link: AccountLink, now: Date): Promise<LinkAttempt>;
  /** Every step after the link succeeded: a later use of the token is a reuse, not a retry. */
  abstract completeLink(nonce: string, now: Date): Promise<void>;
}
