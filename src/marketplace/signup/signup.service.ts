import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError, TransientError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { InvalidTokenError } from '../../common/security/jwt/jwt-verifier.js';
import { AppConfig } from '../../config/app-config.js';
import { Clock } from '../../entitlements/clock.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent } from '../../entitlements/inbound-event.js';
import { Ledger } from '../../entitlements/ledger.js';
import { linkedSubjectOf, userSubject } from '../../entitlements/subject.js';
import { ApprovalPolicy } from '../approval-policy.js';
import { dateOf } from '../entitlement-state.js';
import { signupState } from '../events/accounts.js';
import { MarketplaceEvents } from '../marketplace-events.service.js';
import { MarketplaceStore, type AccountMirror, type LinkRefusal } from '../marketplace-store.js';
import { ProcurementError } from '../procurement/procurement-errors.js';
import { ProcurementClient } from '../procurement/procurement.client.js';
import { newNonce, readLinkToken, signLinkToken } from './link-token.js';
import type { SignupClaims } from './signup-claims.js';
import { SignupTokenVerifier } from './signup-token.verifier.js';
import { LINK_TOKEN_PARAM, SIGNUP_DEFAULTS } from './signup.settings.js';

export interface LinkResult {
  accountId: string;
  userId: string;
  /** The access document the product reads for this user: `access/{subjectKey}`. */
  subjectKey: string;
  /** This call made the `accounts.approve` call (false when it had been made before). */
  accountApprovedNow: boolean;
  entitlementsApproved: number;
  entitlementsMoved: number;
  /** The orders linked to the user by this call; empty when the whole account was linked. */
  orderIds: string[];
}

const LINK_REFUSALS: Record<LinkRefusal, { code: 'validation_failed' | 'conflict'; message: string; reason: string }> =
  {
    unknown_token: { code: 'validation_failed', message: 'Invalid link token', reason: 'invalid' },
    expired: {
      code: 'validation_failed',
      message: 'Link token expired: start again from the Marketplace sign-up',
      reason: 'expired',
    },
    reused: { code: 'conflict', message: 'Link token already used', reason: 'reused' },
    no_account: { code: 'conflict', message: 'The Marketplace account no longer exists', reason: 'no_account' },
    linked_to_other_user: {
      code: 'conflict',
      message: 'The Marketplace account is linked to another user',
      reason: 'linked_to_other_user',
    },
    order_not_in_signup: {
      code: 'validation_failed',
      message: "An order named is not one of the sign-up token's orders (google.orders)",
      reason: 'order_not_in_signup',
    },
    order_linked_to_other_user: {
      code: 'conflict',
      message: 'An order named is linked to another user',
      reason: 'order_linked_to_other_user',
    },
  };

/** A sign-up token posted a second time (a replay, or the browser's back button): refused, nothing recorded. */
export const SIGNUP_TOKEN_REUSED = 'token_reused';

function linkRefused(refusal: LinkRefusal): AppError {
  const { code, message, reason } = LINK_REFUSALS[refusal];
  return new AppError(code, message, { reason });
}

/**
 * The Marketplace sign-up flow (docs/marketplace-signup.md): a verified sign-up token is recorded on the account and
 * answered with a single-use link token; the product's link call ties the account to its user, approves the
 * account (and what was parked waiting for it), and moves the account's entitlements under the user's subject key.
 */
@Injectable()
export class MarketplaceSignup {
  constructor(
    private readonly config: AppConfig,
    private readonly verifier: SignupTokenVerifier,
    private readonly store: MarketplaceStore,
    private readonly entitlements: EntitlementStore,
    private readonly ledger: Ledger,
    private readonly events: MarketplaceEvents,
    private readonly procurement: ProcurementClient,
    private readonly policy: ApprovalPolicy,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  /** Verify and record the sign-up token; the URL to send the browser to, with a fresh link token. */
  async signUp(token: string): Promise<{ accountId: string; redirectTo: string }> {
    const { redirectUrl, secret } = this.settings();
    let claims: SignupClaims;
    try {
      claims = await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.logger.warning('marketplace sign-up refused', { reason: error.reason });
      throw new AppError('unauthenticated', 'Invalid Marketplace sign-up token');
    }
    const { accountId } = claims;
    const now = this.clock.now();
    const grant = {
      nonce: newNonce(),
      accountId,
      expiresAt: new Date(now.getTime() + SIGNUP_DEFAULTS.linkTokenTtlSec * 1000),
      orders: claims.google.orders,
    };
    const known = await this.store.getAccount(accountId);
    const use = {
      digest: createHash('sha256').update(token).digest('hex'),
      jti: claims.token.jti,
      expiresAt: claims.token.expiresAt,
    };
    const recorded = await this.store.recordSignup(
      known ? this.unknownMirror(accountId) : await this.mirrorOf(accountId),
      { ...claims.google, receivedAt: now },
      grant,
      use,
      now,
    );
    if (recorded === 'replayed') {
      this.logger.warning('marketplace sign-up refused', { reason: SIGNUP_TOKEN_REUSED, accountId });
      throw new AppError(
        'conflict',
        'This sign-up link was used already. Go back to Google Cloud Marketplace and open the product from there again.',
        { reason: SIGNUP_TOKEN_REUSED },
      );
    }
    this.logger.info('marketplace sign-up recorded', { accountId, newAccount: !known });

    if (this.policy.approveAccountOnVerifiedToken) await this.approveOnVerifiedToken(accountId);

    const redirect = new URL(redirectUrl);
    redirect.searchParams.set(LINK_TOKEN_PARAM, signLinkToken(secret, grant));
    return { accountId, redirectTo: redirect.toString() };
  }

  /**
   * Links the account, or the orders named (`orderIds`, each one of the sign-up token's `google.orders`),
   * to the product user.
   */
  async link(linkToken: string, userId: string, caller: string, orderIds: string[] = []): Promise<LinkResult> {
    const { secret } = this.settings();
    const read = readLinkToken(secret, linkToken, this.clock.now());
    if (!read.ok) {
      this.logger.warning('marketplace link refused', { reason: read.reason, caller });
      throw linkRefused(read.reason === 'expired' ? 'expired' : 'unknown_token');
    }
    const { accountId, nonce } = read.payload;
    const subject = userSubject(userId);
    const attempt = await this.store.linkAccount(
      { nonce, accountId, userId, subjectKey: subject.key, linkedBy: caller, orderIds },
      this.clock.now(),
    );
    if (!attempt.ok) {
      this.logger.warning('marketplace link refused', { reason: attempt.reason, accountId, caller });
      throw linkRefused(attempt.reason);
    }

    const trigger: InboundEvent = {
      source: 'gcp',
      eventKey: `link:${accountId}:${userId}`,
      eventType: 'ACCOUNT_LINKED',
      transport: { kind: 'signup', id: nonce },
    };
    const approval = await this.approve(accountId, trigger);
    const moved = await this.moveEntitlements(accountId, trigger);
    await this.store.completeLink(nonce, this.clock.now());
    this.logger.info('marketplace account linked', {
      accountId,
      caller,
      resumed: attempt.resumed,
      orders: orderIds.length,
      approvedNow: approval.approvedNow,
      entitlementsApproved: approval.entitlementsApproved,
      moved,
    });
    return {
      accountId,
      userId,
      subjectKey: subject.key,
      accountApprovedNow: approval.approvedNow,
      entitlementsApproved: approval.entitlementsApproved,
      entitlementsMoved: moved,
      orderIds,
    };
  }

  private async approveOnVerifiedToken(accountId: string): Promise<void> {
    const trigger: InboundEvent = {
      source: 'gcp',
      eventKey: `signup:${accountId}`,
      eventType: 'ACCOUNT_SIGNUP_VERIFIED',
      transport: { kind: 'signup' },
    };
    try {
      await this.approve(accountId, trigger);
    } catch (error) {
      // The browser still goes on to the product; the link call (or an admin) approves later.
      this.logger.failure('account approval on a verified sign-up token failed', { accountId, error });
    }
  }

  private async approve(accountId: string, trigger: InboundEvent) {
    try {
      return await this.events.approveAccount(accountId, trigger);
    } catch (error) {
      if (!(error instanceof ProcurementError)) throw error;
      if (error.kind === 'not_found') throw new AppError('conflict', 'The Procurement API does not know this account');
      throw new TransientError(`Procurement API refused: ${error.message}`, error);
    }
  }

  /**
   * Re-applies every stored entitlement of the account whose link now names another subject: its order's
   * user, else the account's (docs/marketplace-signup.md). The ledger moves its access entry from
   * `gcp-account:<id>` (or the previous user) to `user:<id>`; the stored source time keeps it from being
   * stale or overtaking news.
   */
  private async moveEntitlements(accountId: string, trigger: InboundEvent): Promise<number> {
    const account = await this.store.getAccount(accountId);
    let moved = 0;
    for (const docId of await this.store.entitlementIdsOfAccount(accountId)) {
      const stored = await this.entitlements.getEntitlement(docId);
      if (!stored?.subject || stored.erasedAt) continue;
      const orderId = stored.subject.orderId ?? orderIdOf(stored.details);
      const target = linkedSubjectOf(account, orderId);
      if (!target || stored.subject.key === target.key) continue;
      const eventKey = `link:${accountId}:${stored.externalId}:${target.userId ?? target.key}`;
      const change: EntitlementChange = {
        source: stored.source,
        eventKey,
        eventType: 'ACCOUNT_LINKED',
        sourceTime: stored.sourceUpdatedAt,
        externalId: stored.externalId,
        subject: {
          ...stored.subject,
          key: target.key,
          ...(target.userId ? { userId: target.userId } : {}),
          ...(orderId ? { orderId } : {}),
        },
        product: {
          product: stored.product,
          plan: stored.plan,
          providerProduct: stored.providerProduct,
          providerPlan: stored.providerPlan,
        },
        status: stored.status,
        providerState: stored.providerState,
        actor: { type: 'system', id: 'signup-link' },
      };
      const result = await this.ledger.apply(change, {
        ...trigger,
        source: stored.source,
        eventKey,
        eventType: 'ACCOUNT_LINKED',
      });
      if (result.outcome === 'applied') moved++;
    }
    return moved;
  }

  /** The account as the Procurement API knows it, for a first sign-up; unknown when the API cannot say now. */
  private async mirrorOf(accountId: string): Promise<AccountMirror> {
    try {
      const account = await this.procurement.getAccount(accountId);
      if (!account) return this.unknownMirror(accountId);
      const approval = account.approvals?.find((a) => a.name === 'signup');
      return {
        accountId,
        provider: account.provider ?? this.procurement.providerId,
        state: account.state ?? 'ACCOUNT_STATE_UNSPECIFIED',
        signup: { state: signupState(account), updateTime: dateOf(approval?.updateTime) },
        sourceUpdatedAt: dateOf(account.updateTime) ?? new Date(0),
      };
    } catch (error) {
      // The token is Google's word that the account exists; its mirror follows with the next account event.
      this.logger.warning('account not read at sign-up', { accountId, error: (error as Error).message });
      return this.unknownMirror(accountId);
    }
  }

  private unknownMirror(accountId: string): AccountMirror {
    return {
      accountId,
      provider: this.procurement.providerId,
      state: 'ACCOUNT_STATE_UNSPECIFIED',
      signup: { state: 'STATE_UNSPECIFIED', updateTime: null },
      // Older than anything the API says, so the first real mirror is never stale.
      sourceUpdatedAt: new Date(0),
    };
  }

  private settings(): { redirectUrl: string; secret: string } {
    const { MARKETPLACE_SIGNUP_REDIRECT_URL, MARKETPLACE_LINK_SECRET } = this.config.env;
    if (!this.verifier.configured || !MARKETPLACE_SIGNUP_REDIRECT_URL || !MARKETPLACE_LINK_SECRET) {
      throw new AppError('not_found', 'Marketplace sign-up is not configured (MARKETPLACE_SIGNUP_AUDIENCE)');
    }
    return { redirectUrl: MARKETPLACE_SIGNUP_REDIRECT_URL, secret: MARKETPLACE_LINK_SECRET };
  }
}

/** `details.marketplace.orderId` of a stored entitlement written before subjects named their order. */
function orderIdOf(details: Record<string, unknown>): string | null {
  const orderId = (details.marketplace as { orderId?: unknown } | undefined)?.orderId;
  return typeof orderId === 'string' && orderId ? orderId : null;
}
