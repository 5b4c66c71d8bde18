import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { Clock } from '../../entitlements/clock.js';
import { ApprovalPolicy } from '../../marketplace/approval-policy.js';
import { dateOf } from '../../marketplace/entitlement-state.js';
import { signupState } from '../../marketplace/events/accounts.js';
import { MarketplaceEvents, type AccountApproval } from '../../marketplace/marketplace-events.service.js';
import { MarketplaceStore } from '../../marketplace/marketplace-store.js';
import { ProcurementClient, type Account } from '../../marketplace/procurement/procurement.client.js';
import { ADMIN_DEFAULTS } from '../admin.defaults.js';
import { AdminStore } from '../admin-store.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/roles.js';
import { actorOf, adminEvent } from '../entitlements/entitlement-actions.service.js';
import { accountState, callRefused, read } from '../procurement-answers.js';

/**
 * Approve or reject a Marketplace account's `signup`. Approval goes through
 * `MarketplaceEvents.approveAccount`, the one path that also approves (per policy) the
 * entitlements parked while the account waited.
 */
@Injectable()
export class AccountActions {
  constructor(
    private readonly procurement: ProcurementClient,
    private readonly events: MarketplaceEvents,
    private readonly marketplace: MarketplaceStore,
    private readonly admin: AdminStore,
    private readonly audit: AuditTrail,
    private readonly policy: ApprovalPolicy,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  approve(principal: Principal, accountId: string, reason: string | null) {
    return this.audit.perform(principal, 'account.approve', { type: 'account', id: accountId }, reason, async () => {
      const before = await this.current(accountId);
      if (signupState(before) === 'APPROVED') {
        throw new AppError('conflict', `The sign-up of account ${accountId} is already approved`, {
          procurement: accountState(before),
        });
      }
      let result: AccountApproval;
      try {
        result = await this.events.approveAccount(accountId, adminEvent('ADMIN_ACCOUNT_APPROVED', principal));
      } catch (error) {
        throw await callRefused(error, 'accounts.approve', () =>
          this.conflict(accountId, 'The Procurement API refused accounts.approve'),
        );
      }
      const { approvedNow, entitlementsApproved, claimKey } = result;
      if (!approvedNow) {
        // This approval round's claim was taken: approved a moment ago, or right now by another caller.
        const action = claimKey ? await this.admin.getAction(claimKey) : null;
        throw await this.conflict(accountId, `An approval of account ${accountId} was already made (${claimKey})`, {
          decision: action
            ? { completedAt: action.completedAt, by: action.result?.actor ?? action.result?.by ?? null }
            : null,
        });
      }
      const body = {
        accountId,
        action: 'approve' as const,
        before: accountState(before),
        procurement: { call: 'accounts.approve', ok: true as const },
        approvedNow,
        entitlementsApproved,
      };
      return { body, answer: { procurement: body.procurement, entitlementsApproved } };
    });
  }

  reject(principal: Principal, accountId: string, reason: string) {
    return this.audit.perform(principal, 'account.reject', { type: 'account', id: accountId }, reason, async () => {
      const before = await this.current(accountId);
      const signup = signupState(before);
      if (signup !== 'PENDING') {
        throw new AppError(
          'conflict',
          `The sign-up of account ${accountId} is ${signup}; only a PENDING sign-up is rejected here`,
          {
            procurement: accountState(before),
          },
        );
      }
      // One rejection per approval round: after a reset (sign-up PENDING again) the account may be rejected anew.
      const signupUpdate = before.approvals?.find((a) => a.name === 'signup')?.updateTime ?? 'none';
      const key = `rejectAccount:${accountId}:${signupUpdate}`;
      if (!(await this.marketplace.claimAction(key, 'rejectAccount', ADMIN_DEFAULTS.actionLeaseMs, this.clock.now()))) {
        throw await this.conflict(accountId, `A rejection of account ${accountId} was already made (${key})`);
      }
      try {
        await this.procurement.rejectAccount(accountId, reason);
      } catch (error) {
        await this.marketplace.releaseAction(key);
        throw await callRefused(error, 'accounts.reject', () =>
          this.conflict(accountId, 'The Procurement API refused accounts.reject'),
        );
      }
      await this.marketplace.completeAction(
        key,
        { ok: true, by: 'admin', actor: principal.id, kind: principal.kind },
        this.clock.now(),
      );
      const ledger = await this.mirror(accountId, principal);
      const body = {
        accountId,
        action: 'reject' as const,
        before: accountState(before),
        procurement: { call: 'accounts.reject', ok: true as const },
        ledger,
      };
      return { body, answer: { procurement: body.procurement, ledger } };
    });
  }

  /**
   * `accounts.reset` of one of the seller's own test accounts (Google's way to test a purchase again): it
   * cancels the account's entitlements and puts its sign-up back to PENDING. Refused (409) unless the
   * account is listed in `marketplace.testAccounts` or the request says `testAccount: true`.
   */
  reset(principal: Principal, accountId: string, reason: string, declaredTest: boolean) {
    return this.audit.perform(principal, 'account.reset', { type: 'account', id: accountId }, reason, async () => {
      const listed = this.policy.isTestAccount(accountId);
      if (!listed && !declaredTest) {
        throw new AppError(
          'conflict',
          `Account ${accountId} is not marked as a test account: list it in config/policy.yaml (marketplace.testAccounts) or send "testAccount": true`,
          { reason: 'not_a_test_account' },
        );
      }
      const before = await this.current(accountId);
      try {
        await this.procurement.resetAccount(accountId);
      } catch (error) {
        throw await callRefused(error, 'accounts.reset', () =>
          this.conflict(accountId, 'The Procurement API refused accounts.reset'),
        );
      }
      let mirrored: { ledger: { outcome: string; reason?: string }; entitlementsMirrored: number };
      try {
        const result = await this.events.mirrorAccountReset(
          accountId,
          adminEvent('ADMIN_ACCOUNT_RESET', principal),
          actorOf(principal),
        );
        mirrored = {
          ledger: {
            outcome: result.account.outcome,
            ...(result.account.reason ? { reason: result.account.reason } : {}),
          },
          entitlementsMirrored: result.entitlements,
        };
      } catch (error) {
        this.logger.failure('admin account reset not mirrored', { accountId, error });
        mirrored = {
          ledger: { outcome: 'retry', reason: `not recorded yet: ${(error as Error).message}` },
          entitlementsMirrored: 0,
        };
      }
      const body = {
        accountId,
        action: 'reset' as const,
        before: accountState(before),
        procurement: { call: 'accounts.reset', ok: true as const },
        testAccount: listed ? ('config' as const) : ('request' as const),
        ...mirrored,
      };
      return { body, answer: { procurement: body.procurement, testAccount: body.testAccount, ...mirrored } };
    });
  }

  private async current(accountId: string): Promise<Account> {
    const account = await read(`account ${accountId}`, () => this.procurement.getAccount(accountId));
    if (account) return account;
    const stored = await this.marketplace.getAccount(accountId);
    if (!stored) throw new AppError('not_found', `No account ${accountId}`);
    throw new AppError('conflict', `Account ${accountId} no longer exists in the Procurement API`, {
      procurement: null,
      // Not the whole record: its sign-up data is personal, and the audit trail outlives ACCOUNT_DELETED.
      stored: { accountId: stored.accountId, state: stored.state, signup: stored.signup },
    });
  }

  private async conflict(accountId: string, message: string, extra: Record<string, unknown> = {}): Promise<AppError> {
    const now = await read(`account ${accountId}`, () => this.procurement.getAccount(accountId));
    return new AppError('conflict', message, { procurement: now ? accountState(now) : null, ...extra });
  }

  /** The rejected sign-up on `accounts/{id}` (the account mirror), recorded as an admin event. */
  private async mirror(accountId: string, principal: Principal): Promise<{ outcome: string; reason?: string }> {
    try {
      const account = await this.procurement.getAccount(accountId);
      if (!account) return { outcome: 'ignored', reason: 'account no longer exists (404)' };
      const approval = account.approvals?.find((a) => a.name === 'signup');
      const result = await this.marketplace.applyAccount(
        {
          accountId,
          provider: account.provider ?? this.procurement.providerId,
          state: account.state ?? 'ACCOUNT_STATE_UNSPECIFIED',
          signup: { state: signupState(account), updateTime: dateOf(approval?.updateTime) },
          sourceUpdatedAt: dateOf(account.updateTime) ?? this.clock.now(),
        },
        adminEvent('ADMIN_ACCOUNT_REJECTED', principal),
        this.clock.now(),
      );
      return { outcome: result.outcome };
    } catch (error) {
      this.logger.failure('admin account decision not mirrored', { accountId, error });
      return { outcome: 'retry', reason: `not recorded yet: ${(error as Error).message}` };
    }
  }
}
