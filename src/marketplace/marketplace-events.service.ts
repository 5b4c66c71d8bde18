import { Injectable } from '@nestjs/common';
import { TransientError } from '../common/errors/app-error.js';
import { AppLogger } from '../common/logging/app-logger.js';
import { Catalog } from '../entitlements/catalog.js';
import { Clock } from '../entitlements/clock.js';
import type { Actor, EntitlementChange, Outcome } from '../entitlements/entitlement.js';
import { EntitlementStore } from '../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult, TransportKind } from '../entitlements/inbound-event.js';
import type { Resolution } from '../entitlements/input-rules.js';
import { Ledger } from '../entitlements/ledger.js';
import { accountSubject } from '../entitlements/subject.js';
import { ApprovalPolicy } from './approval-policy.js';
import { dateOf, fetchedTimes, lastSegment, productOf, statusOf } from './entitlement-state.js';
import { decideAccount } from './events/accounts.js';
import { mirror, type Action, type ApprovalStage, type Decision } from './events/decision.js';
import { decideEntitlement, isKnownEntitlementEvent } from './events/event-families.js';
import { MarketplaceStore, type ActionKind } from './marketplace-store.js';
import { parseMarketplaceMessage, type MarketplaceMessage } from './marketplace-message.js';
import { ProcurementError } from './procurement/procurement-errors.js';
import { ProcurementClient, type Entitlement } from './procurement/procurement.client.js';

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
    const event = this.event(message.eventId, message.eventType, delivery, raw);
    if (message.providerId !== this.procurement.providerId) {
      return this.ledger.record(
        event,
        'invalid',
        `message for provider "${message.providerId}", this service serves "${this.procurement.providerId}"`,
      );
    }
    // No dedup read here: the ledger transaction dedups, and the claims keep every Procurement call single.
    return message.kind === 'account' ? this.handleAccount(message, event) : this.handleEntitlement(message, event);
  }

  /**
   * Approve the account's `signup` (after a verified sign-up, or by an admin), mirror the account,
   * then approve what was parked waiting for it. Repeats never call `accounts.approve` twice.
   */
  async approveAccount(
    accountId: string,
    trigger: InboundEvent,
  ): Promise<{ approvedNow: boolean; entitlementsApproved: number }> {
    const key = `approveAccount:${accountId}`;
    let approvedNow = false;
    const claim = await this.store.claim(key, 'approveAccount', ACTION_LEASE_MS, this.clock.now());
    if (claim === 'held') throw new TransientError(`the account ${accountId} is being approved by another delivery`);
    // A reclaimed claim calls again: approving an approved account is answered FAILED_PRECONDITION, taken as done.
    if (claim === 'claimed' || claim === 'reclaimed') {
      try {
        await this.procurement.approveAccount(accountId);
        approvedNow = true;
      } catch (error) {
        const alreadyApproved = error instanceof ProcurementError && error.kind === 'failed_precondition';
        if (!alreadyApproved) {
          await this.store.releaseAction(key);
          throw error instanceof ProcurementError && !error.retryable ? error : asTransient(error);
        }
      }
      await this.store.completeAction(key, { ok: true, actor: trigger.transport.kind }, this.clock.now());
    }
    const account = await this.fetch(() => this.procurement.getAccount(accountId));
    if (!account || !isApproved(account)) return { approvedNow, entitlementsApproved: 0 };
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
    return { approvedNow, entitlementsApproved: await this.approveParked(accountId, trigger) };
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
    const change = this.mirrorChange(id, accountId, entitlement, event, mirror(null, 'approval_requested'));
    if (!change.ok) return this.ledger.record({ ...event, refusedFields: change.fields }, 'invalid', change.reason);
    return this.ledger.apply({ ...change.change, actor }, event);
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
      return this.ledger.record(event, 'ignored', `unknown entitlement event type ${message.eventType}`);
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
    let entitlement = fetched;
    const product = this.resolveProduct(entitlement);
    if (!product.ok) return { result: await this.ledger.record(event, 'invalid', product.reason), approved: false };
    if (!statusOf(entitlement.state)) {
      return {
        result: await this.ledger.record(event, 'ignored', `unknown entitlement state ${entitlement.state}`),
        approved: false,
      };
    }
    const accountId = lastSegment(entitlement.account);
    if (!accountId)
      return { result: await this.ledger.record(event, 'invalid', 'entitlement names no account'), approved: false };

    const input = {
      eventType,
      entitlement,
      entitlementMode: this.policy.forEntitlement(product.ref.product, product.ref.plan),
      planChangeMode: this.policy.forPlanChange(product.ref.product, this.pendingPlanName(entitlement)),
      accountApproved,
    };
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
      const acted = await this.act(id, entitlement, decision);
      if (acted === 'failed_precondition') {
        // The state moved on, or the account is not approved after all: re-read and mirror what is true now.
        entitlement = (await this.fetch(() => this.procurement.getEntitlement(id))) ?? entitlement;
        decision = decideEntitlement({ ...input, entitlement, accountApproved: false });
        if (decision.kind === 'mirror') decision = { ...decision, action: null };
      } else if (typeof acted === 'object') {
        return { result: await this.ledger.record(event, 'failed', acted.reason), approved: false };
      } else {
        approved = acted === 'done' && decision.action?.kind === 'approve';
      }
    }
    if (decision.kind === 'ignore')
      return { result: await this.ledger.record(event, 'ignored', decision.reason), approved };
    if (decision.kind === 'erase')
      return { result: await this.erase(id, event, dateOf(entitlement.updateTime)), approved };
    const change = this.mirrorChange(id, accountId, entitlement, event, decision);
    if (!change.ok) {
      const refused = { ...event, refusedFields: change.fields };
      return { result: await this.ledger.record(refused, 'invalid', change.reason), approved };
    }
    return { result: await this.ledger.apply(change.change, event), approved };
  }

  /**
   * Makes the decided Procurement call at most once: claim, call, complete. A transient failure
   * releases the claim and propagates (redelivery retries); other refusals are returned.
   */
  private async act(
    id: string,
    entitlement: Entitlement,
    decision: Extract<Decision, { kind: 'mirror' }>,
  ): Promise<'done' | 'skipped' | 'failed_precondition' | { reason: string }> {
    const action = decision.action!;
    const kind: ActionKind = action.kind;
    // An entitlement is approved once in its life; a plan change once per request (its state's updateTime).
    const key =
      action.kind === 'approve'
        ? `approve:${id}`
        : `approvePlanChange:${id}:${action.pendingPlan}:${entitlement.updateTime}`;
    const claim = await this.store.claim(key, kind, ACTION_LEASE_MS, this.clock.now());
    if (claim === 'done') return 'skipped';
    // Another delivery is making this very call: retry later rather than ack and lose it if that one dies.
    if (claim === 'held') throw new TransientError(`${kind} of ${id} is in progress in another delivery`);
    if (claim === 'reclaimed' && tookEffect(action, entitlement)) {
      // Its holder died after the call and before recording it: Google's record shows it happened.
      await this.store.completeAction(key, { ok: true, by: 'policy', recovered: true }, this.clock.now());
      return 'done';
    }
    try {
      if (action.kind === 'approve') await this.procurement.approveEntitlement(id);
      else await this.procurement.approvePlanChange(id, action.pendingPlan);
    } catch (error) {
      await this.store.releaseAction(key);
      if (!(error instanceof ProcurementError) || error.retryable) throw asTransient(error);
      if (error.kind === 'failed_precondition') return 'failed_precondition';
      this.logger.failure('procurement call refused', { entitlementId: id, action: kind, error: error.message });
      return { reason: `${kind} refused: ${error.message}` };
    }
    await this.store.completeAction(key, { ok: true, by: 'policy' }, this.clock.now());
    this.logger.info('procurement call made', { entitlementId: id, action: kind });
    return 'done';
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
    const approval = account.approvals?.find((a) => a.name === 'signup');
    const result = await this.store.applyAccount(
      {
        accountId: message.accountId,
        provider: account.provider ?? message.providerId,
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
    const pendingProviderPlan = this.pendingPlanName(e);
    const pendingMapped = pendingProviderPlan ? this.catalog.resolve('gcp', productOf(e)!, pendingProviderPlan) : null;
    const future = status === 'pending_approval' ? times.newOfferStartTime : null;
    const approval: ApprovalStage | null = status === 'pending_approval' ? decision.approval : null;
    return {
      ok: true,
      change: {
        source: 'gcp',
        eventKey: event.eventKey,
        eventType: event.eventType,
        sourceTime: dateOf(e.updateTime) ?? this.clock.now(),
        externalId: id,
        subject: accountSubject(accountId),
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
            usageReportingId: e.usageReportingId ?? null,
            quoteExternalName: e.quoteExternalName ?? null,
            cancellationReason: e.cancellationReason ?? null,
            approval,
            planChangeApproval:
              e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' ? decision.planChangeApproval : null,
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

  private pendingPlanName(e: Entitlement): string | null {
    return e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL' || e.state === 'ENTITLEMENT_PENDING_PLAN_CHANGE'
      ? (e.newPendingPlan ?? null)
      : null;
  }

  private event(eventKey: string, eventType: string, delivery: Delivery, raw: string): InboundEvent {
    const transport = { kind: delivery.transport, id: delivery.messageId };
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

/**
 * Whether an action already took effect, judged from freshly fetched state (used when a claim's
 * holder died between the call and recording it). An approved entitlement still waiting for
 * Google's activation carries `newOfferStartTime`; a plan-change claim is keyed on the state's
 * updateTime, so if the state still asks for approval, the call did not happen.
 */
function tookEffect(action: Action, e: Entitlement): boolean {
  if (action.kind === 'approve') return e.state !== 'ENTITLEMENT_ACTIVATION_REQUESTED' || Boolean(e.newOfferStartTime);
  return e.state !== 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL';
}

function needsAccount(eventType: string, e: Entitlement, mode: 'auto' | 'manual'): boolean {
  return (
    mode === 'auto' &&
    e.state === 'ENTITLEMENT_ACTIVATION_REQUESTED' &&
    (eventType === 'ENTITLEMENT_CREATION_REQUESTED' || eventType === 'ENTITLEMENT_OFFER_ACCEPTED')
  );
}

function isApproved(account: { approvals?: { name?: string | null; state?: string | null }[] | null }): boolean {
  return account.approvals?.some((a) => a.name === 'signup' && a.state === 'APPROVED') ?? false;
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
