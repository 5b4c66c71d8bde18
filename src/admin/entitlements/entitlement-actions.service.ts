import { logContext } from '../../common/logging/log-context.js';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { Catalog } from '../../entitlements/catalog.js';
import { Clock } from '../../entitlements/clock.js';
import type { Actor, EntitlementChange } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import { Ledger } from '../../entitlements/ledger.js';
import { awaitsActivationApproval } from '../../marketplace/entitlement-state.js';
import { MarketplaceEvents } from '../../marketplace/marketplace-events.service.js';
import { MarketplaceStore, type ActionKind } from '../../marketplace/marketplace-store.js';
import { ProcurementClient } from '../../marketplace/procurement/procurement.client.js';
import { ADMIN_DEFAULTS } from '../admin.defaults.js';
import { AdminStore } from '../admin-store.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/roles.js';
import { accountState, callRefused, entitlementState, read, storedState } from '../procurement-answers.js';

const ACTIVATION_REQUESTED = 'ENTITLEMENT_ACTIVATION_REQUESTED';
const PLAN_CHANGE_APPROVAL = 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL';

export interface ActionResult {
  entitlementId: string;
  action: 'approve' | 'reject' | 'approvePlanChange' | 'rejectPlanChange';
  /** The entitlement as the Procurement API returned it just before the call. */
  before: ReturnType<typeof entitlementState>;
  /** What the Procurement API answered (its methods answer an empty body on success). */
  procurement: { call: string; ok: true };
  /** What the ledger made of the decision (`retry`: the mirror failed; the next Marketplace message brings it). */
  ledger: { outcome: string; reason?: string };
}

/**
 * Approve or reject a Marketplace entitlement or its plan change, for an admin. Each action re-reads
 * the entitlement from the Procurement API, refuses (409, with the current state) when it no longer
 * applies, claims the call under the same key the policy uses (so admin and policy never both call),
 * makes the call, records the decision through the ledger and writes the audit entry.
 */
@Injectable()
export class EntitlementActions {
  constructor(
    private readonly procurement: ProcurementClient,
    private readonly events: MarketplaceEvents,
    private readonly catalog: Catalog,
    private readonly ledger: Ledger,
    private readonly entitlements: EntitlementStore,
    private readonly marketplace: MarketplaceStore,
    private readonly admin: AdminStore,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  approve(principal: Principal, id: string, reason: string | null) {
    return this.audit.perform(principal, 'entitlement.approve', { type: 'entitlement', id }, reason, async () => {
      const externalId = marketplaceId(id);
      const before = await this.current(id, externalId);
      await this.refuseUnlessAwaitingApproval(id, externalId, before);
      const key = `approve:${externalId}`;
      await this.once(key, 'approve', before, 'approved', principal, () =>
        this.procurement.approveEntitlement(externalId),
      );
      const ledger = await this.mirror(externalId, 'ADMIN_ENTITLEMENT_APPROVED', principal);
      return this.done(id, 'approve', 'entitlements.approve', before, ledger);
    });
  }

  reject(principal: Principal, id: string, reason: string) {
    return this.audit.perform(principal, 'entitlement.reject', { type: 'entitlement', id }, reason, async () => {
      const externalId = marketplaceId(id);
      const before = await this.current(id, externalId);
      // Google keeps an approved entitlement in ACTIVATION_REQUESTED until it activates it.
      await this.refuseUnlessAwaitingApproval(id, externalId, before);
      await this.once(`reject:${externalId}`, 'reject', before, 'rejected', principal, () =>
        this.procurement.rejectEntitlement(externalId, reason),
      );
      const ledger = await this.recordRejection(id, externalId, reason, principal);
      return this.done(id, 'reject', 'entitlements.reject', before, ledger);
    });
  }

  approvePlanChange(principal: Principal, id: string, plan: string, reason: string | null) {
    return this.audit.perform(principal, 'planChange.approve', { type: 'entitlement', id, plan }, reason, async () => {
      const externalId = marketplaceId(id);
      const before = await this.pendingPlanChange(id, externalId, plan);
      // Never approve what cannot be provisioned: its ENTITLEMENT_PLAN_CHANGED would be refused as invalid.
      const mapped = before.product ? this.catalog.resolve('gcp', before.product, plan) : null;
      if (mapped && !mapped.ok) {
        throw conflict(`The plan "${plan}" cannot be provisioned: ${mapped.reason}, then approve`, before);
      }
      await this.refuseIfDecided(`rejectPlanChange:${externalId}:${plan}:${before.updateTime}`, 'rejected', before);
      await this.once(
        `approvePlanChange:${externalId}:${plan}:${before.updateTime}`,
        'approvePlanChange',
        before,
        'approved',
        principal,
        () => this.procurement.approvePlanChange(externalId, plan),
      );
      const ledger = await this.mirror(externalId, 'ADMIN_PLAN_CHANGE_APPROVED', principal);
      return this.done(id, 'approvePlanChange', 'entitlements.approvePlanChange', before, ledger);
    });
  }

  rejectPlanChange(principal: Principal, id: string, plan: string, reason: string) {
    return this.audit.perform(principal, 'planChange.reject', { type: 'entitlement', id, plan }, reason, async () => {
      const externalId = marketplaceId(id);
      const before = await this.pendingPlanChange(id, externalId, plan);
      await this.refuseIfDecided(`approvePlanChange:${externalId}:${plan}:${before.updateTime}`, 'approved', before);
      await this.once(
        `rejectPlanChange:${externalId}:${plan}:${before.updateTime}`,
        'rejectPlanChange',
        before,
        'rejected',
        principal,
        () => this.procurement.rejectPlanChange(externalId, plan, reason),
      );
      const ledger = await this.mirror(externalId, 'ADMIN_PLAN_CHANGE_REJECTED', principal);
      return this.done(id, 'rejectPlanChange', 'entitlements.rejectPlanChange', before, ledger);
    });
  }

  /** The entitlement as the Procurement API has it now; 409 (or 404 if we never knew it) when it is gone. */
  private async current(id: string, externalId: string): Promise<ReturnType<typeof entitlementState>> {
    logContext.annotate({ source: 'gcp', entitlementId: id });
    const fetched = await read(`entitlement ${externalId}`, () => this.procurement.getEntitlement(externalId));
    if (fetched) return entitlementState(fetched);
    const stored = await this.entitlements.getEntitlement(id);
    if (!stored) throw new AppError('not_found', `No entitlement ${id}`);
    throw new AppError('conflict', `Entitlement ${id} no longer exists in the Procurement API`, {
      procurement: null,
      stored: storedState(stored),
    });
  }

  private async pendingPlanChange(id: string, externalId: string, plan: string) {
    const before = await this.current(id, externalId);
    if (before.state !== PLAN_CHANGE_APPROVAL) {
      throw conflict(`Entitlement ${id} has no plan change waiting for approval (state ${before.state})`, before);
    }
    if (before.newPendingPlan !== plan) {
      throw conflict(`The pending plan of ${id} is "${before.newPendingPlan}", not "${plan}"`, before);
    }
    return before;
  }

  /**
   * Claim, call, complete: the call is made at most once per key, by an admin or by the policy.
   * A refusal releases the claim (nothing happened) and answers 409 with the state re-read.
   */
  private async once(
    key: string,
    kind: ActionKind,
    before: ReturnType<typeof entitlementState>,
    done: string,
    principal: Principal,
    call: () => Promise<void>,
  ): Promise<void> {
    if (!(await this.marketplace.claimAction(key, kind, ADMIN_DEFAULTS.actionLeaseMs, this.clock.now()))) {
      throw await this.decided(key, done, before);
    }
    try {
      await call();
    } catch (error) {
      await this.marketplace.releaseAction(key);
      throw await callRefused(error, kind, async () => {
        const externalId = before.name?.split('/').pop() ?? '';
        const now = await read(`entitlement ${externalId}`, () => this.procurement.getEntitlement(externalId));
        // Approving before the account's sign-up is approved fails the same way: show the account too.
        const accountId = now?.account?.split('/').pop();
        const account = accountId
          ? await read(`account ${accountId}`, () => this.procurement.getAccount(accountId))
          : null;
        return conflict(
          `The Procurement API refused ${kind}: the current state does not allow it`,
          now ? entitlementState(now) : null,
          {
            account: account ? accountState(account) : null,
            answer: (error as Error).message,
          },
        );
      });
    }
    await this.marketplace.completeAction(
      key,
      { ok: true, by: 'admin', actor: principal.id, kind: principal.kind },
      this.clock.now(),
    );
    this.logger.info('procurement call made by admin', { action: kind, key, actor: principal.id });
  }

  /**
   * Approve and reject apply only while Google waits for the provider: ACTIVATION_REQUESTED without
   * `newOfferStartTime`. With it, the entitlement was approved already: by this service or an admin (the
   * claim says who), or by Google's automatic offer approval; it waits for its start.
   */
  private async refuseUnlessAwaitingApproval(
    id: string,
    externalId: string,
    before: ReturnType<typeof entitlementState>,
  ): Promise<void> {
    if (before.state !== ACTIVATION_REQUESTED) {
      throw conflict(`Entitlement ${id} is not waiting for approval (state ${before.state})`, before);
    }
    await this.refuseIfDecided(`approve:${externalId}`, 'approved', before);
    if (!awaitsActivationApproval(before)) {
      throw conflict(
        `Entitlement ${id} is approved already (by Google) and waits for its start (${before.newOfferStartTime})`,
        before,
      );
    }
  }

  private async refuseIfDecided(key: string, what: string, before: ReturnType<typeof entitlementState>): Promise<void> {
    const action = await this.admin.getAction(key);
    if (action?.completedAt) throw await this.decided(key, what, before);
  }

  private async decided(key: string, what: string, before: ReturnType<typeof entitlementState>): Promise<AppError> {
    const action = await this.admin.getAction(key);
    const inProgress = action !== null && action.completedAt === null;
    return conflict(
      inProgress ? `Another caller is making this call right now (${key})` : `Already ${what} (${key})`,
      before,
      {
        decision: action
          ? { completedAt: action.completedAt, by: action.result?.by ?? null, actor: action.result?.actor ?? null }
          : null,
      },
    );
  }

  /** The decision through the ledger, attributed to the admin; a failure here does not undo the call. */
  private async mirror(externalId: string, eventType: string, principal: Principal): Promise<ActionResult['ledger']> {
    try {
      const result = await this.events.mirrorAdminDecision(
        externalId,
        adminEvent(eventType, principal),
        actorOf(principal),
      );
      return { outcome: result.outcome, ...(result.reason ? { reason: result.reason } : {}) };
    } catch (error) {
      this.logger.failure('admin decision not mirrored', { entitlementId: externalId, error });
      return { outcome: 'retry', reason: `not recorded yet: ${(error as Error).message}` };
    }
  }

  /**
   * A rejected entitlement is removed by the Procurement API (no message follows), so the rejection
   * is written from the stored record: status `rejected`, with the reason, by the admin.
   */
  private async recordRejection(
    id: string,
    externalId: string,
    reason: string,
    principal: Principal,
  ): Promise<ActionResult['ledger']> {
    try {
      const stillThere = await this.procurement.getEntitlement(externalId);
      if (stillThere) return await this.mirror(externalId, 'ADMIN_ENTITLEMENT_REJECTED', principal);
      const stored = await this.entitlements.getEntitlement(id);
      if (!stored) return { outcome: 'ignored', reason: 'nothing stored for this entitlement' };
      const now = this.clock.now();
      const event = adminEvent('ADMIN_ENTITLEMENT_REJECTED', principal);
      const marketplace = (stored.details.marketplace ?? {}) as Record<string, unknown>;
      const change: EntitlementChange = {
        source: 'gcp',
        eventKey: event.eventKey,
        eventType: event.eventType,
        sourceTime: new Date(Math.max(now.getTime(), stored.sourceUpdatedAt.getTime())),
        externalId,
        subject: stored.subject ?? { key: '' },
        product: null,
        status: 'rejected',
        providerState: 'REJECTED',
        pendingPlan: null,
        actor: actorOf(principal),
        details: { marketplace: { ...marketplace, approval: null, rejection: { reason, at: now } } },
      };
      const result: LedgerResult = await this.ledger.apply(change, event);
      return { outcome: result.outcome, ...(result.reason ? { reason: result.reason } : {}) };
    } catch (error) {
      this.logger.failure('admin rejection not recorded', { entitlementId: id, error });
      return { outcome: 'retry', reason: `not recorded yet: ${(error as Error).message}` };
    }
  }

  private done(
    id: string,
    action: ActionResult['action'],
    call: string,
    before: ActionResult['before'],
    ledger: ActionResult['ledger'],
  ) {
    const body: ActionResult = { entitlementId: id, action, before, procurement: { call, ok: true }, ledger };
    return { body, answer: { procurement: body.procurement, ledger } };
  }
}

/** Only Marketplace entitlements wait for a provider's approval. */
function marketplaceId(id: string): string {
  if (!id.startsWith('gcp:') || id.length <= 4) {
    throw new AppError(
      'conflict',
      `Only Google Cloud Marketplace entitlements (gcp:…) are approved or rejected; ${id} is not one`,
    );
  }
  return id.slice(4);
}

function conflict(
  message: string,
  procurement: ReturnType<typeof entitlementState> | null,
  extra: Record<string, unknown> = {},
): AppError {
  return new AppError('conflict', message, { procurement, ...extra });
}

/** The event an admin action records; its key is on every later line of the request (log-context.ts). */
export function adminEvent(eventType: string, principal: Principal): InboundEvent {
  const eventKey = `admin-${randomUUID()}`;
  logContext.annotate({ source: 'gcp', eventKey });
  return {
    source: 'gcp',
    eventKey,
    eventType,
    transport: { kind: 'admin', id: principal.id },
  };
}

export function actorOf(principal: Principal): Actor {
  return { type: 'admin', id: principal.kind === 'api-key' ? `api-key:${principal.id}` : principal.id };
}
