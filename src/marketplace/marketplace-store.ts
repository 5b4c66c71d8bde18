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
  /** Orders linked to a user of their own (a link call naming orders): `orderId → link`. */
  orderLinks?: Record<string, OrderLink> | null;
  /** Verified sign-up token data (google.user_identity, roles, orders). */
  google?: Record<string, unknown> | null;
}

/** `accounts/{id}.orderLinks.{orderId}`: one order's product user. */
export interface OrderLink {
  userId: string;
  subjectKey: string;
  linkedAt: Date;
  linkedBy: string;
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
  /** The order ids of the sign-up token (`google.orders`): the orders a link call may claim for its user. */
  orders: string[];
}

/** One use of a sign-up token: `signupTokens/{digest}`, created once, so a replayed token is refused. */
export interface SignupTokenUse {
  /** SHA-256 (hex) of the token as received. */
  digest: string;
  jti: string | null;
  /** The token's `exp`; the record is kept a day longer (TTL on `expireAt`). */
  expiresAt: Date;
}

export interface AccountLink {
  nonce: string;
  accountId: string;
  userId: string;
  subjectKey: string;
  /** Who called the link endpoint (service account e-mail or API key number), for the audit. */
  linkedBy: string;
  /** The orders this link claims for the user; empty: the whole account (every order not linked on its own). */
  orderIds: string[];
}

export type LinkRefusal =
  | 'unknown_token'
  | 'expired'
  | 'reused'
  | 'no_account'
  | 'linked_to_other_user'
  | 'order_not_in_signup'
  | 'order_linked_to_other_user';

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
   * In one transaction: record the sign-up token's use, replace the account's `google` sign-up data (creating
   * the account from `mirror` when it does not exist yet) and create the link token document. `replayed`
   * (nothing written) when this very token was used before.
   */
  abstract recordSignup(
    mirror: AccountMirror,
    google: SignupData,
    grant: LinkTokenGrant,
    use: SignupTokenUse,
    now: Date,
  ): Promise<'recorded' | 'replayed'>;
  /**
   * In one transaction: consume the link token and link the account (`linkedUserId` / `linkedSubjectKey`) or,
   * when `orderIds` are named, those orders (`orderLinks`) to the user. Refused (nothing written) when the
   * token is unknown, expired or used, an order is not one of the sign-up's, or the account or an order is
   * linked to another user.
   */
  abstract linkAccount(link: AccountLink, now: Date): Promise<LinkAttempt>;
  /**
   * After `accounts.reset` of a test account: mirror the account (sign-up PENDING again) and forget its
   * sign-up data and links, so the purchase can be tested again from the start; records the event.
   */
  abstract resetAccount(mirror: AccountMirror, event: InboundEvent, now: Date): Promise<LedgerResult>;
  /** Every step after the link succeeded: a later use of the token is a reuse, not a retry. */
  abstract completeLink(nonce: string, now: Date): Promise<void>;
}
