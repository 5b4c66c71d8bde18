import { Injectable } from '@nestjs/common';
import { TransientError } from '../common/errors/app-error.js';
import { AppLogger } from '../common/logging/app-logger.js';
import { logContext } from '../common/logging/log-context.js';
import { Catalog } from '../entitlements/catalog.js';
import { Clock } from '../entitlements/clock.js';
import { entitlementId, type Actor, type EntitlementChange, type Outcome } from '../entitlements/entitlement.js';
import { EntitlementStore } from '../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult, TransportKind } from '../entitlements/inbound-event.js';
import type { Resolution } from '../entitlements/input-rules.js';
import { Ledger } from '../entitlements/ledger.js';
import { accountSubject } from '../entitlements/subject.js';
import { ApprovalPolicy } from './approval-policy.js';
import {
  awaitsActivationApproval,
  dateOf,
  fetchedTimes,
  lastSegment,
  productOf,
  statusOf,
} from './entitlement-state.js';
import { actionKey, buyerMessage, tookEffect } from './events/actions.js';
import { decideAccount, signupState } from './events/accounts.js';
import {
  mirror,
  type ApprovalStage,
  type Decision,
  type DecisionInput,
  type MirrorDecision,
} from './events/decision.js';
import { decideEntitlement, isKnownEntitlementEvent } from './events/event-families.js';
import { MarketplaceStore, type ActionKind } from './marketplace-store.js';
import { parseMarketplaceMessage, type MarketplaceMessage } from './marketplace-message.js';
import { ProcurementError } from './procurement/procurement-errors.js';
import { ProcurementClient, type Account, type Entitlement } from './procurement/procurement.client.js';
import { foreignProvider } from './procurement/resource-names.js';

export interface Delivery {
  data: Buffer;
  messageId: string;
  transport: Extract<TransportKind, 'pubsub-pull' | 'pubsub-push' | 'admin' | 'scheduler'>;
  /** An approver's window for a message refused for an unusable fetched time (admin API). */
  resolution?: Resolution;
}

export type HandleResult = { outcome: Outcome | 'retry'; reason?: string };

/** How long a claimed Procurement call may run before another delivery may try it again. */
const ACTION_LEASE_MS = 60_000;

/**
 * After `accounts.approve`, Google's reads may still show the sign-up PENDING for a moment (eventual
 * consistency): the account is read again with backoff, at most this often (≈3.75 s in all), outside any
 * transaction, before the parked entitlements are approved. Still PENDING after that: reconciliation does it.
 */
export const ACCOUNT_READBACK = { attempts: 5, initialDelayMs: 250, maxDelayMs: 2_000 } as const;

/** What approving an account did; `claimKey` names the once-only claim (`actions/{key}`) when one was taken. */
export interface AccountApproval {
  approvedNow: boolean;
  entitlementsApproved: number;
  claimKey: string | null;
}

type ActResult =
  | { kind: 'done' | 'skipped'; fresh: Entitlement | null }
  | { kind: 'failed_precondition'; fresh: Entitlement | null }
  | { kind: 'refused'; reason: string };

/**
 * Handles one Marketplace notification, whatever the transport. The message is only a pointer:
 * the entitlement or account is re-read from the Procurement API, the decision is taken from
 * (eventType, fetched state) and policy, any Procurement call is made outside every transaction
 * (claimed first, so duplicates and other instances never repeat it), then the fetched state is
 * written through the ledger. Throws only for transient failures (the caller nacks / answers 5xx).
 */
@Injectable()
export class MarketplaceEvents {
  constructor(
    private readonly procurement: ProcurementClient,
    private readonly ledger: Ledger,
    private readonly entitlements: EntitlementStore,
    private readonly store: MarketplaceStore,
    private readonly catalog: Catalog,
    private readonly policy: ApprovalPolicy,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  /** A delivery whose data could not even be decoded (e.g. bad base64 in a push envelope): recorded and acked. */
  recordMalformed(delivery: Omit<Delivery, 'data'> & { raw: string }, reason: string): Promise<HandleResult> {
    const event = this.event(
      `pubsub:${delivery.messageId}`,
      'MALFORMED',
      { ...delivery, data: Buffer.alloc(0) },
      delivery.raw,
    );
    return this.ledger.record(event, 'invalid', reason);
  }

  async handle(delivery: Delivery): Promise<HandleResult> {
    const parsed = parseMarketplaceMessage(delivery.data, delivery.messageId);
    const raw = delivery.data.toString('utf8');
    if (!parsed.ok) {
      const event = this.event(`pubsub:${delivery.messageId}`, 'MALFORMED', delivery, raw);
      return this.ledger.record(event, 'invalid', parsed.reason);
    }
    const message = parsed.message;
    if (message.kind === 'entitlement')
      logContext.annotate({ entitlementId: entitlementId('gcp', message.entitlementId) });
    const event = this.event(message.eventId, message.eventType, delivery, raw);
    // Without a providerId (Google's private-offer examples), the fetched resource's provider is checked instead.
    if (message.providerId !== null && message.providerId !== this.procurement.providerId) {
      return this.ledger.record(
        event,
        'invalid',
        `message for provider "${message.providerId}", this service serves "${this.procurement.providerId}"`,
      );
    }
    try {
      // No dedup read here: the ledger transaction dedups, and the claims keep every Procurement call single.
      return message.kind === 'account'
        ? await this.handleAccount(message, event)
        : await this.handleEntitlement(message, event);
    } catch (error) {
      // An id that can never name a resource fails the same way every time: record it, do not retry for ever.
      if (error instanceof ProcurementError && error.kind === 'invalid_name') {
        return this.ledger.record(event, 'invalid', error.message);
      }
      throw error;
    }
  }

  /**
   * Approve the account's `signup` (after a verified sign-up, or by an admin), mirror the account,
   * then approve what was parked waiting for it. The call is claimed per approval state
   * (`approveAccount:<id>:<signup updateTime>`): repeats never call `accounts.approve` twice, yet an
   * account whose sign-up went back to PENDING (`accounts.reset`) or was rejected can be approved again.
   */
  async approveAccount(accountId: string, trigger: InboundEvent): Promise<AccountApproval> {
    const before = await this.fetch(() => this.procurement.getAccount(accountId));
    if (!before) {
      const name = this.procurement.accountName(accountId);
      throw new ProcurementError('not_found', `accounts.get ${name}: 404 NOT_FOUND`, 404, 'NOT_FOUND');
    }
    let approvedNow = false;
    let claimKey: string | null = null;
    let account: Account | null = before;
    if (!isApproved(before)) {
      claimKey = approveAccountKey(accountId, before);
      const claim = await this.store.claim(claimKey, 'approveAccount', ACTION_LEASE_MS, this.clock.now());
      if (claim === 'held') throw new TransientError(`the account ${accountId} is being approved by another delivery`);
      // A reclaimed claim calls again: approving an approved account is answered FAILED_PRECONDITION, taken as done.
      if (claim === 'claimed' || claim === 'reclaimed') {
        try {
          await this.procurement.approveAccount(accountId);
          approvedNow = true;
        } catch (error) {
          const alreadyApproved = error instanceof ProcurementError && error.kind === 'failed_precondition';
          if (!alreadyApproved) {
            await this.store.releaseAction(claimKey);
            throw error instanceof ProcurementError && !error.retryable ? error : asTransient(error);
          }
        }
        await this.store.completeAction(claimKey, { ok: true, actor: trigger.transport.kind }, this.clock.now());
      }
      account = await this.readBackApproved(accountId);
    }
    if (!account || !isApproved(account)) return { approvedNow, entitlementsApproved: 0, claimKey };
    const approval = account.approvals?.find((a) => a.name === 'signup');
    await this.store.applyAccount(
      {
        accountId,
        provider: account.provider ?? this.procurement.providerId,
        state: account.state ?? 'ACCOUNT_STATE_UNSPECIFIED',
        signup: { state: 'APPROVED', updateTime: dateOf(approval?.updateTime) },
        sourceUpdatedAt: dateOf(account.updateTime) ?? this.clock.now(),
      },
      { ...trigger, eventKey: `${trigger.eventKey}#account`, eventType: 'ACCOUNT_APPROVED' },
      this.clock.now(),
    );
    return { approvedNow, entitlementsApproved: await this.approveParked(accountId, trigger), claimKey };
  }

  /** The account read back after an approval, until Google shows it APPROVED or the bounded retries run out. */
  private async readBackApproved(accountId: string): Promise<Account | null> {
    for (let attempt = 1; ; attempt++) {
      const account = await this.fetch(() => this.procurement.getAccount(accountId));
      if (!account || isApproved(account) || attempt >= ACCOUNT_READBACK.attempts) return account;
      const delay = Math.min(ACCOUNT_READBACK.maxDelayMs, ACCOUNT_READBACK.initialDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * After an admin's Procurement call (src/admin): mirror the entitlement as the API returns it now,
   * with the admin as the history's actor. The decision table is skipped on purpose: for a manual
   * plan it would put an approved entitlement back to `awaiting_admin`; no Procurement call is made.
   */
  async mirrorAdminDecision(id: string, event: InboundEvent, actor: Actor): Promise<HandleResult> {
    const entitlement = await this.fetch(() => this.procurement.getEntitlement(id));
    if (!entitlement) return this.ledger.record(event, 'ignored', 'entitlement no longer exists (404)');
    const accountId = lastSegment(entitlement.account);
    if (!accountId || !statusOf(entitlement.state)) {
      return this.ledger.record(
        event,
        'ignored',
        `nothing to mirror (account ${accountId}, state ${entitlement.state})`,
      );
    }
    const decision = mirror(null, 'approval_requested');
    // Decided: the buyer is no longer told to wait for an admin (a state change clears it by itself).
    const told = await this.tellBuyer(id, entitlement, decision);
    const change = this.mirrorChange(id, accountId, told ?? entitlement, event, decision);
    if (!change.ok) return this.ledger.record({ ...event, refusedFields: change.fields }, 'invalid', change.reason);
    return this.ledger.apply({ ...change.change, actor }, event);
  }

  /**
   * After `accounts.reset` of a test account (src/admin): mirror the account as Google has it now (sign-up
   * PENDING), forget its sign-up data and links, and mirror each of its entitlements (Google cancelled them
   * and announces nothing). The next purchase then goes through sign-up, link and approval again.
   */
  async mirrorAccountReset(
    accountId: string,
    event: InboundEvent,
    actor: Actor,
  ): Promise<{ account: HandleResult; entitlements: number }> {
    const account = await this.fetch(() => this.procurement.getAccount(accountId));
    if (!account) return { account: { outcome: 'ignored', reason: 'account no longer exists (404)' }, entitlements: 0 };
    const approval = account.approvals?.find((a) => a.name === 'signup');
    const result = await this.store.resetAccount(
      {
        accountId,
        provider: account.provider ?? this.procurement.providerId,
        state: account.state ?? 'ACCOUNT_STATE_UNSPECIFIED',
        signup: { state: signupState(account), updateTime: dateOf(approval?.updateTime) },
        sourceUpdatedAt: dateOf(account.updateTime) ?? this.clock.now(),
      },
      event,
      this.clock.now(),
    );
    let mirrored = 0;
    for (const entitlement of await this.fetch(() =>
      this.procurement.listEntitlements(`account=${quote(accountId)}`),
    )) {
      const id = lastSegment(entitlement.name);
      if (!id) continue;
      const outcome = await this.mirrorAdminDecision(id, { ...event, eventKey: `${event.eventKey}#${id}` }, actor);
      if (outcome.outcome === 'applied') mirrored++;
    }
    return { account: result, entitlements: mirrored };
  }

  /** Approve (per policy) every entitlement of the account still waiting for activation; used once signup is approved. */
  async approveParked(accountId: string, trigger: InboundEvent): Promise<number> {
    const waiting = await this.procurement.listEntitlements(`account=${quote(accountId)} state=activation_requested`);
    let approved = 0;
    for (const entitlement of waiting) {
      const id = lastSegment(entitlement.name);
      if (!id) continue;
      const event: InboundEvent = {
        ...trigger,
        eventKey: `${trigger.eventKey}#approve#${id}`,
        eventType: 'PARKED_APPROVAL',
      };
      const result = await this.processEntitlement(id, entitlement, 'ENTITLEMENT_CREATION_REQUESTED', event, true);
      if (result.approved) approved++;
    }
    return approved;
  }

  private async handleEntitlement(
    message: Extract<MarketplaceMessage, { kind: 'entitlement' }>,
    event: InboundEvent,
  ): Promise<HandleResult> {
    if (!isKnownEntitlementEvent(message.eventType)) {
      this.logger.warning('undocumented entitlement event type: mirroring the fetched state', {
        eventType: message.eventType,
        entitlementId: `gcp:${message.entitlementId}`,
      });
    }
    if (message.eventType === 'ENTITLEMENT_DELETED')
      return this.erase(message.entitlementId, event, message.updateTime);

    const entitlement = await this.fetch(() => this.procurement.getEntitlement(message.entitlementId));
    if (!entitlement) return this.ledger.record(event, 'ignored', 'entitlement no longer exists (404)');
    return (await this.processEntitlement(message.entitlementId, entitlement, message.eventType, event, null)).result;
  }

  /**
   * Decide and act for one fetched entitlement. `accountApproved` may be known already (a parked
   * approval pass); otherwise the account is read only when an approval is due.
   */
  private async processEntitlement(
    id: string,
    fetched: Entitlement,
    eventType: string,
    event: InboundEvent,
    accountApproved: boolean | null,
  ): Promise<{ result: HandleResult; approved: boolean }> {
    const refused = async (outcome: 'invalid' | 'ignored', reason: string) => ({
      result: await this.ledger.record(event, outcome, reason),
      approved: false,
    });
    let entitlement = fetched;
    const other = foreignProvider(entitlement, this.procurement.providerId);
    if (other) {
      return refused(
        'invalid',
        `entitlement of provider "${other}", this service serves "${this.procurement.providerId}"`,
      );
    }
    const product = this.resolveProduct(entitlement);
    if (!product.ok) return refused('invalid', product.reason);
    if (!statusOf(entitlement.state)) return refused('ignored', `unknown entitlement state ${entitlement.state}`);
    const accountId = lastSegment(entitlement.account);
    if (!accountId) return refused('invalid', 'entitlement names no account');

    const input = this.decisionInput(eventType, entitlement, product.ref.product, product.ref.plan, accountApproved);
    if (input.accountApproved === null && needsAccount(input.eventType, entitlement, input.entitlementMode)) {
      const account = await this.fetch(() => this.procurement.getAccount(accountId));
      input.accountApproved = account ? isApproved(account) : false;
    }
    let decision = decideEntitlement(input);
    if (
      decision.kind === 'mirror' &&
      !decision.action &&
      decision.approval &&
      decision.approval !== 'approval_requested'
    ) {
      // Already approved (by an admin, or before a re-park): a late redelivery must not re-park it.
      if (await this.store.isActionDone(`approve:${id}`)) decision = { ...decision, approval: 'approval_requested' };
    }
    let approved = false;
    if (decision.kind === 'mirror' && decision.action) {
      const action = decision.action;
      const acted = await this.act(id, entitlement, decision);
      if (acted.kind === 'refused')
        return { result: await this.ledger.record(event, 'failed', acted.reason), approved };
      if (acted.kind === 'failed_precondition') {
        // The state moved on, or the account is not approved after all: mirror what is true now, without acting.
        entitlement = acted.fresh ?? entitlement;
        decision = this.decideWithoutActing(eventType, entitlement, false) ?? decision;
      } else {
        approved = acted.kind === 'done' && action.kind === 'approve';
        if (acted.fresh) {
          // Google's record after the call (or after an answer that showed it made): mirror that.
          entitlement = acted.fresh;
          decision = this.decideWithoutActing(eventType, entitlement, true) ?? decision;
        }
      }
    }
    if (decision.kind === 'ignore')
      return { result: await this.ledger.record(event, 'ignored', decision.reason), approved };
    if (decision.kind === 'erase')
      return { result: await this.erase(id, event, dateOf(entitlement.updateTime)), approved };
    // Before the mirror, so the record carries the updateTime the patch gave the entitlement.
    entitlement = (await this.tellBuyer(id, entitlement, decision)) ?? entitlement;
    const change = this.mirrorChange(id, accountId, entitlement, event, decision);
    if (!change.ok) {
      const refused = { ...event, refusedFields: change.fields };
      return { result: await this.ledger.record(refused, 'invalid', change.reason), approved };
    }
    return { result: await this.ledger.apply(change.change, event), approved };
  }

  private decisionInput(
    eventType: string,
    entitlement: Entitlement,
    product: string,
    plan: string | null,
    accountApproved: boolean | null,
  ): DecisionInput {
    // The rule of the plan being switched to is looked up by its mapped name, as entitlements are.
    const pendingProviderPlan =
      entitlement.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' ? (entitlement.newPendingPlan ?? null) : null;
    const pending = pendingProviderPlan
      ? this.catalog.resolve('gcp', productOf(entitlement)!, pendingProviderPlan)
      : null;
    return {
      eventType,
      entitlement,
      entitlementMode: this.policy.forEntitlement(product, plan),
      planChangeMode: this.policy.forPlanChange(product, pending?.ok ? pending.ref.plan : null),
      pendingPlanProblem: pending && !pending.ok ? pending.reason : null,
      unmappedPlanChange: this.policy.unmappedPlanChange,
      accountApproved,
    };
  }

  /** The decision for a re-read entitlement, with any action dropped (one call per delivery at most). */
  private decideWithoutActing(eventType: string, entitlement: Entitlement, accountApproved: boolean): Decision | null {
    const product = this.resolveProduct(entitlement);
    if (!product.ok) return null;
    const decision = decideEntitlement(
      this.decisionInput(eventType, entitlement, product.ref.product, product.ref.plan, accountApproved),
    );
    return decision.kind === 'mirror' ? { ...decision, action: null } : decision;
  }

  /**
   * Makes the decided Procurement call at most once: claim, call, complete. A transient failure
   * releases the claim and propagates (redelivery retries). A FAILED_PRECONDITION re-reads the
   * entitlement: if it shows the call made (by an admin, Google's automatic approval, or a delivery
   * that died after calling), the claim is completed, never released; otherwise it is released.
   * (Approving an entitlement approved already may also be answered as a no-op: then nothing is lost either.)
   */
  private async act(id: string, entitlement: Entitlement, decision: MirrorDecision): Promise<ActResult> {
    const action = decision.action!;
    const kind: ActionKind = action.kind;
    const key = actionKey(id, action, entitlement);
    const claim = await this.store.claim(key, kind, ACTION_LEASE_MS, this.clock.now());
    if (claim === 'done') return { kind: 'skipped', fresh: null };
    // Another delivery is making this very call: retry later rather than ack and lose it if that one dies.
    if (claim === 'held') throw new TransientError(`${kind} of ${id} is in progress in another delivery`);
    // A reclaimed claim (its holder died) calls again: the decision was taken on state that still asked for
    // the call, and if the dead holder's call went through, Google's answer and a re-read below show it.
    try {
      if (action.kind === 'approve') await this.procurement.approveEntitlement(id);
      else if (action.kind === 'approvePlanChange') await this.procurement.approvePlanChange(id, action.pendingPlan);
      else await this.procurement.rejectPlanChange(id, action.pendingPlan, action.reason);
    } catch (error) {
      if (!(error instanceof ProcurementError) || error.retryable) {
        await this.store.releaseAction(key);
        throw asTransient(error);
      }
      if (error.kind === 'failed_precondition') {
        // Left claimed if this read fails: the lease runs out and the reclaim path checks Google's record.
        const fresh = await this.fetch(() => this.procurement.getEntitlement(id));
        if (fresh && tookEffect(action, fresh)) {
          await this.store.completeAction(
            key,
            { ok: true, by: 'policy', recovered: true, answer: 'FAILED_PRECONDITION' },
            this.clock.now(),
          );
          return { kind: 'done', fresh };
        }
        await this.store.releaseAction(key);
        return { kind: 'failed_precondition', fresh };
      }
      await this.store.releaseAction(key);
      this.logger.failure('procurement call refused', {
        entitlementId: entitlementId('gcp', id),
        action: kind,
        error: error.message,
      });
      return { kind: 'refused', reason: `${kind} refused: ${error.message}` };
    }
    await this.store.completeAction(key, { ok: true, by: 'policy' }, this.clock.now());
    this.logger.info('procurement call made', { entitlementId: entitlementId('gcp', id), action: kind });
    // A rejection changes the state at once (ACTIVE on the old plan): mirror that, not the request.
    const fresh =
      action.kind === 'rejectPlanChange' ? await this.fetch(() => this.procurement.getEntitlement(id)) : null;
    return { kind: 'done', fresh };
  }

  /**
   * Tells the buyer, on the Marketplace page, that the order or plan change waits for the seller
   * (`marketplace.messageToUser` in config/policy.yaml), and clears it once an order is approved. Returns
   * the entitlement as patched, or `null` when nothing was changed. Best effort: a failure is logged and
   * changes nothing else; the next delivery or reconciliation tries again.
   */
  private async tellBuyer(id: string, e: Entitlement, decision: Decision): Promise<Entitlement | null> {
    const product = this.resolveProduct(e);
    if (decision.kind !== 'mirror' || !product.ok) return null;
    const { product: name } = product.ref;
    const text = buyerMessage(decision, e, (waitingFor) => this.policy.messageToUser(name, waitingFor));
    if (text === null) return null;
    try {
      return await this.procurement.setMessageToUser(id, text);
    } catch (error) {
      // FAILED_PRECONDITION: the state moved on, and Google cleared the text itself.
      if (!(error instanceof ProcurementError && error.kind === 'failed_precondition')) {
        this.logger.warning('messageToUser not updated', {
          entitlementId: entitlementId('gcp', id),
          error: (error as Error).message,
        });
      }
      return null;
    }
  }

  private async handleAccount(
    message: Extract<MarketplaceMessage, { kind: 'account' }>,
    event: InboundEvent,
  ): Promise<HandleResult> {
    if (message.eventType === 'ACCOUNT_DELETED') return this.eraseAccount(message.accountId, event);
    const account = await this.fetch(() => this.procurement.getAccount(message.accountId));
    const decision = decideAccount(message.eventType, account);
    if (decision.kind === 'erase') return this.eraseAccount(message.accountId, event);
    if (decision.kind === 'ignore' || !account) {
      return this.ledger.record(event, 'ignored', decision.kind === 'ignore' ? decision.reason : 'account not found');
    }
    const other = foreignProvider(account, this.procurement.providerId);
    if (other) {
      return this.ledger.record(
        event,
        'invalid',
        `account of provider "${other}", this service serves "${this.procurement.providerId}"`,
      );
    }
    const approval = account.approvals?.find((a) => a.name === 'signup');
    const result = await this.store.applyAccount(
      {
        accountId: message.accountId,
        provider: account.provider ?? this.procurement.providerId,
        state: account.state ?? 'ACCOUNT_STATE_UNSPECIFIED',
        signup: { state: decision.signup, updateTime: dateOf(approval?.updateTime) },
        sourceUpdatedAt: dateOf(account.updateTime) ?? message.updateTime ?? this.clock.now(),
      },
      event,
      this.clock.now(),
    );
    if (decision.approveParked && result.outcome === 'applied') await this.approveParked(message.accountId, event);
    return result;
  }

  private async erase(id: string, event: InboundEvent, when: Date | null): Promise<LedgerResult> {
    const stored = await this.entitlements.getEntitlement(`gcp:${id}`);
    if (!stored) return this.ledger.record(event, 'ignored', 'nothing stored for this entitlement');
    const change: EntitlementChange = {
      source: 'gcp',
      eventKey: event.eventKey,
      eventType: event.eventType,
      // Deletion follows every other event of the entitlement; never let it be stale.
      sourceTime: new Date(Math.max(when?.getTime() ?? 0, stored.sourceUpdatedAt.getTime())),
      externalId: id,
      subject: stored.subject ?? { key: '' },
      product: null,
      status: 'cancelled',
      providerState: 'DELETED',
      actor: { type: 'provider', id: 'gcp-marketplace' },
      erase: true,
    };
    return this.ledger.apply(change, event);
  }

  /** ACCOUNT_DELETED: erase every entitlement of the account, then the account document itself. */
  private async eraseAccount(accountId: string, event: InboundEvent): Promise<HandleResult> {
    for (const docId of await this.store.entitlementIdsOfAccount(accountId)) {
      const id = docId.replace(/^gcp:/, '');
      await this.erase(id, { ...event, eventKey: `${event.eventKey}#${id}` }, null);
    }
    return this.store.eraseAccount(accountId, event, this.clock.now());
  }

  private mirrorChange(
    id: string,
    accountId: string,
    e: Entitlement,
    event: InboundEvent,
    decision: Extract<Decision, { kind: 'mirror' }>,
  ): { ok: true; change: EntitlementChange } | { ok: false; reason: string; fields?: string[] } {
    const product = this.resolveProduct(e);
    if (!product.ok) return product;
    const status = statusOf(e.state)!;
    const read = fetchedTimes(e, status, event.resolution);
    if (!read.ok) return read;
    const { times } = read;
    const periodEnd = times.subscriptionEndTime ?? times.offerEndTime;
    const pendingProviderPlan = pendingPlanName(e);
    const pendingMapped = pendingProviderPlan ? this.catalog.resolve('gcp', productOf(e)!, pendingProviderPlan) : null;
    const future = status === 'pending_approval' ? times.newOfferStartTime : null;
    const approval: ApprovalStage | null = status === 'pending_approval' ? decision.approval : null;
    const planChangeWaiting = e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL';
    return {
      ok: true,
      change: {
        source: 'gcp',
        eventKey: event.eventKey,
        eventType: event.eventType,
        sourceTime: dateOf(e.updateTime) ?? this.clock.now(),
        externalId: id,
        subject: accountSubject(accountId, e.orderId ?? undefined),
        product: product.ref,
        status,
        providerState: e.state ?? 'UNKNOWN',
        // An offer accepted with a future start is recorded with that start (no access before it).
        validFrom: status === 'pending_approval' ? future : undefined,
        validUntil:
          status === 'pending_cancellation'
            ? periodEnd
            : status === 'active' || status === 'pending_plan_change'
              ? null
              : undefined,
        periodEnd: status === 'pending_cancellation' ? periodEnd : null,
        pendingPlan: pendingProviderPlan
          ? { plan: pendingMapped?.ok ? pendingMapped.ref.plan : null, providerPlan: pendingProviderPlan }
          : null,
        // An approver's resolution of an unusable fetched time is theirs in the history.
        actor: event.resolution
          ? { type: 'admin', id: event.resolution.actor.id }
          : { type: 'provider', id: 'gcp-marketplace' },
        details: {
          marketplace: {
            accountId,
            orderId: e.orderId ?? null,
            offer: e.offer ?? null,
            offerEndTime: times.offerEndTime,
            subscriptionEndTime: times.subscriptionEndTime,
            newOfferStartTime: times.newOfferStartTime,
            newOfferEndTime: dateOf(e.newOfferEndTime),
            usageReportingId: e.usageReportingId ?? null,
            quoteExternalName: e.quoteExternalName ?? null,
            cancellationReason: e.cancellationReason ?? null,
            entitlementBenefitIds: (e.entitlementBenefitIds ?? []).filter((b): b is string => typeof b === 'string'),
            consumers: (e.consumers ?? []).flatMap((c) => (c.project ? [c.project] : [])),
            approval,
            planChangeApproval: planChangeWaiting ? decision.planChangeApproval : null,
            planChangeReason: planChangeWaiting ? (decision.planChangeReason ?? null) : null,
            updateTime: e.updateTime ?? null,
          },
        },
      },
    };
  }

  private resolveProduct(e: Entitlement) {
    const providerProduct = productOf(e);
    if (!providerProduct) return { ok: false as const, reason: 'entitlement names no product' };
    return this.catalog.resolve('gcp', providerProduct, e.plan ?? null);
  }

  private event(eventKey: string, eventType: string, delivery: Delivery, raw: string): InboundEvent {
    const transport = { kind: delivery.transport, id: delivery.messageId };
    logContext.annotate({ source: 'gcp', eventKey, messageId: delivery.messageId });
    return {
      source: 'gcp',
      eventKey,
      eventType,
      transport,
      raw,
      ...(delivery.resolution ? { resolution: delivery.resolution } : {}),
    };
  }

  private async fetch<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw asTransient(error);
    }
  }
}

function needsAccount(eventType: string, e: Entitlement, mode: 'auto' | 'manual'): boolean {
  return (
    mode === 'auto' &&
    awaitsActivationApproval(e) &&
    (eventType === 'ENTITLEMENT_CREATION_REQUESTED' || eventType === 'ENTITLEMENT_OFFER_ACCEPTED')
  );
}

function pendingPlanName(e: Entitlement): string | null {
  return e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' || e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE'
    ? (e.newPendingPlan ?? null)
    : null;
}

/** The claim of one approval round of the account's sign-up: a reset or a rejection starts a new round. */
function approveAccountKey(accountId: string, account: Account): string {
  const signup = account.approvals?.find((a) => a.name === 'signup');
  return `approveAccount:${accountId}:${signup?.updateTime ?? 'none'}`;
}

function isApproved(account: Account): boolean {
  return signupState(account) === 'APPROVED';
}

function quote(value: string): string {
  return /^[A-Za-z0-9_-]+$/.test(value) ? value : `"${value.replace(/"/g, '')}"`;
}

/** Procurement errors that are not transient become a TransientError only when retryable; others pass through. */
function asTransient(error: unknown): unknown {
  if (error instanceof ProcurementError && error.retryable) return new TransientError(error.message, error);
  if (error instanceof ProcurementError) {
    // Permission or auth problems will not heal by redelivery within seconds, but they are
    // configuration faults: nack so nothing is lost while the operator fixes them.
    return new TransientError(`Procurement API refused: ${error.message}`, error);
  }
  return error;
}
