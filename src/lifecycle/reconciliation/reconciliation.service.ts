import { Injectable } from '@nestjs/common';
import { TransientError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { AppConfig } from '../../config/app-config.js';
import { Clock } from '../../entitlements/clock.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent } from '../../entitlements/inbound-event.js';
import type { EntitlementRecord } from '../../entitlements/ledger-plan.js';
import { Ledger } from '../../entitlements/ledger.js';
import { lastSegment } from '../../marketplace/entitlement-state.js';
import { signupState } from '../../marketplace/events/accounts.js';
import { MarketplaceEvents, type HandleResult } from '../../marketplace/marketplace-events.service.js';
import { MarketplaceStore } from '../../marketplace/marketplace-store.js';
import { ProcurementError } from '../../marketplace/procurement/procurement-errors.js';
import { ProcurementClient, type Account, type Entitlement } from '../../marketplace/procurement/procurement.client.js';
import { LIFECYCLE_DEFAULTS } from '../lifecycle.defaults.js';
import { LifecycleStore } from '../lifecycle-store.js';
import { errorMessage, forEachLimit, RunBudget } from '../run-support.js';
import {
  accountDifferences,
  awaitingProviderApproval,
  entitlementDifferences,
  eventTypeForState,
  goneChange,
  LIVE_STATE_FILTERS,
} from './drift.js';

export interface DriftItem {
  kind: 'entitlement' | 'account';
  id: string;
  /** What differed, e.g. `status: ours cancelled, Google ENTITLEMENT_ACTIVE`. */
  differences: string[];
  /** The ledger's outcome of the healing event, or `error`. */
  outcome: string;
  /** Whether our record agrees with Google's after the heal. */
  fixed: boolean;
  reason?: string;
}

export interface ReconcileReport {
  runId: string;
  startedAt: Date;
  finishedAt: Date;
  /** Entitlements and accounts compared. */
  checked: number;
  drift: DriftItem[];
  /** Drift items that agree with Google after this run. */
  fixed: number;
  /** Entitlements or plan changes approved by this run (parked on the account, or found waiting). */
  approved: number;
  errors: { id: string; message: string }[];
  /** The pass this run worked on (a pass may span several runs) and whether it resumed a stored one. */
  pass: { id: string; resumed: boolean; phase: ReconcilePhase };
  /** The run stopped at its time budget; the next run resumes the pass (`cursors/reconcile`). */
  more: boolean;
  /** Why nothing was compared (Marketplace not configured). */
  skipped?: string;
}

class TooManyErrors extends Error {}

/** The phases of a pass, in order: Google's accounts (then parked approvals), Google's live lists, ours. */
type ReconcilePhase = 'accounts' | 'listed' | 'stored';

/** Where a pass stopped (`cursors/reconcile`), with the ids Google listed so far saved beside it in chunks. */
interface ReconcileCursor {
  passId: string;
  phase: ReconcilePhase;
  /** Index in LIVE_STATE_FILTERS (phase `listed`). */
  filter: number;
  /** Google's page token of the list the pass stopped in. */
  pageToken: string | null;
  /** Where our own live list stopped (phase `stored`; the store's opaque cursor). */
  storedAfter: string | null;
  /** Chunks of seen ids saved so far. */
  chunks: number;
}

const JOB = 'reconcile';
/** Ids per saved chunk: 20,000 ids of ≤ 40 characters stay well under Firestore's 1 MiB per document. */
const SEEN_CHUNK = 20_000;

/**
 * Compares Google's record (Procurement API) with Firestore and heals drift through the same path
 * as a notification: a synthesized message (`reconcile-<runId>-<id>-<updateTime>`, transport
 * `scheduler`) goes to `MarketplaceEvents.handle`, which re-reads the entitlement, decides with
 * policy (so approvals the policy allows are made, once, under the action claims) and applies
 * through the ledger. Then approves entitlements parked on an account whose sign-up is approved
 * now. Entitlements Google answers 404 for are ended (docs/lifecycle.md).
 */
@Injectable()
export class Reconciliation {
  constructor(
    private readonly procurement: ProcurementClient,
    private readonly events: MarketplaceEvents,
    private readonly entitlements: EntitlementStore,
    private readonly accounts: MarketplaceStore,
    private readonly store: LifecycleStore,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
    private readonly config: AppConfig,
  ) {}

  async run(runId: string, budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.job)): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      runId,
      startedAt: this.clock.now(),
      finishedAt: this.clock.now(),
      checked: 0,
      drift: [],
      fixed: 0,
      approved: 0,
      errors: [],
      pass: { id: runId, resumed: false, phase: 'accounts' },
      more: false,
    };
    if (!this.procurement.providerId) return { ...report, skipped: 'MARKETPLACE_PROVIDER_ID is not configured' };
    try {
      await this.reconcile(report, budget);
    } catch (error) {
      if (!(error instanceof TooManyErrors)) throw error;
      report.errors.push({ id: '*', message: `stopped after ${LIFECYCLE_DEFAULTS.reconcile.maxErrors} errors` });
    }
    report.finishedAt = this.clock.now();
    report.fixed = report.drift.filter((d) => d.fixed).length;
    const summary = {
      runId,
      checked: report.checked,
      drift: report.drift.length,
      fixed: report.fixed,
      approved: report.approved,
      errors: report.errors.length,
      pass: report.pass,
      more: report.more,
    };
    if (report.errors.length || report.fixed < report.drift.length) {
      // ERROR severity on purpose: a log-based alert on this line catches drift that does not heal.
      const unresolved = report.drift.filter((d) => !d.fixed);
      this.logger.failure('reconciliation finished with unresolved items', {
        ...summary,
        unresolved,
        errorItems: report.errors,
      });
    } else {
      this.logger.info('reconciliation finished', summary);
    }
    return report;
  }

  /**
   * One pass compares everything Google lists and everything we hold as live, a page at a time (one page in
   * memory). When the budget is spent the run stores where it stopped and the ids Google listed so far, and
   * the next run resumes there; a list call Google refuses to resume (its page token) starts a new pass.
   */
  private async reconcile(report: ReconcileReport, budget: RunBudget): Promise<void> {
    const stored = decodeReconcileCursor(await this.store.loadCursor(JOB));
    if (!stored) await this.store.clearSeenIds(JOB);
    let cursor: ReconcileCursor = stored ?? {
      passId: report.runId,
      phase: 'accounts',
      filter: 0,
      pageToken: null,
      storedAfter: null,
      chunks: 0,
    };
    report.pass = { id: cursor.passId, resumed: stored !== null, phase: cursor.phase };
    const seen = new Set(stored ? await this.store.loadSeenIds(JOB, cursor.passId) : []);
    const newlySeen: string[] = [];
    const stop = async (at: ReconcileCursor) => {
      for (let i = 0; i < newlySeen.length; i += SEEN_CHUNK) {
        await this.store.saveSeenIds(JOB, at.passId, at.chunks++, newlySeen.slice(i, i + SEEN_CHUNK));
      }
      await this.store.saveCursor(JOB, JSON.stringify(at), this.clock.now());
      report.more = true;
    };
    const resumable = async <T>(token: string | null, list: () => Promise<T>): Promise<T> => {
      try {
        return await this.fetch(list);
      } catch (error) {
        // A token from an earlier run that Google no longer takes: the pass cannot resume, start over next run.
        if (token && token === stored?.pageToken && error instanceof TransientError && refusedToken(error)) {
          await this.store.saveCursor(JOB, null, this.clock.now());
        }
        throw error;
      }
    };

    if (cursor.phase === 'accounts') {
      // Read before healing anything: which activations wait for the provider, and what we held for them.
      const waiting = (await this.fetch(() => this.procurement.listEntitlements('state=activation_requested'))).filter(
        (e) => awaitingProviderApproval(e) === 'activation',
      );
      const parkedBefore = new Map<string, EntitlementRecord | null>();
      for (const e of waiting) {
        const id = lastSegment(e.name);
        if (id) parkedBefore.set(id, await this.entitlements.getEntitlement(`gcp:${id}`));
      }
      let token = cursor.pageToken;
      do {
        if (!budget.nextPage()) return stop({ ...cursor, pageToken: token });
        const page = await resumable(token, () => this.procurement.listAccountsPage(token ?? undefined));
        await forEachLimit(page.items, LIFECYCLE_DEFAULTS.concurrency, (account) =>
          this.item(report, lastSegment(account.name) ?? '?', () => this.checkAccount(account, report)),
        );
        this.stopOnErrors(report);
        token = page.nextPageToken ?? null;
      } while (token);
      await this.approveParked(report, waiting, parkedBefore);
      cursor = { ...cursor, phase: 'listed', filter: 0, pageToken: null };
    }

    if (cursor.phase === 'listed') {
      for (let f = cursor.filter; f < LIVE_STATE_FILTERS.length; f++) {
        let token = f === cursor.filter ? cursor.pageToken : null;
        do {
          if (!budget.nextPage()) return stop({ ...cursor, filter: f, pageToken: token });
          const filter = LIVE_STATE_FILTERS[f];
          const page = await resumable(token, () => this.procurement.listEntitlementsPage(filter, token ?? undefined));
          const fresh: [string, Entitlement][] = [];
          for (const google of page.items) {
            const id = lastSegment(google.name);
            if (!id || seen.has(id)) continue;
            seen.add(id);
            newlySeen.push(id);
            fresh.push([id, google]);
          }
          // One batched read for the page; only what differs goes on to be healed (one at a time per item).
          const ours = await this.store.getEntitlements(fresh.map(([id]) => `gcp:${id}`));
          await forEachLimit(
            fresh.map((entry, i) => [...entry, ours[i] ?? null] as const),
            LIFECYCLE_DEFAULTS.concurrency,
            ([id, google, stored]) => this.item(report, id, () => this.checkEntitlement(id, google, report, stored)),
          );
          this.stopOnErrors(report);
          token = page.nextPageToken ?? null;
        } while (token);
      }
      cursor = { ...cursor, phase: 'stored', filter: 0, pageToken: null, storedAfter: null };
    }

    // What we hold as live but Google did not list: cancelled since, or gone (404). Few: read one by one.
    let after = cursor.storedAfter;
    do {
      if (!budget.nextPage()) return stop({ ...cursor, storedAfter: after });
      const page = await this.store.listLiveMarketplaceEntitlements(LIFECYCLE_DEFAULTS.pageSize, after);
      for (const ours of page.items) {
        if (seen.has(ours.externalId)) continue;
        await this.item(report, ours.externalId, async () => {
          const google = await this.fetch(() => this.procurement.getEntitlement(ours.externalId));
          if (google) await this.checkEntitlement(ours.externalId, google, report);
          else await this.gone(ours, report);
        });
        this.stopOnErrors(report);
      }
      after = page.next;
    } while (after);
    await this.store.saveCursor(JOB, null, this.clock.now());
    await this.store.clearSeenIds(JOB);
  }

  private async checkAccount(account: Account, report: ReconcileReport): Promise<void> {
    const id = lastSegment(account.name);
    if (!id) return;
    report.checked++;
    const differences = accountDifferences(account, await this.accounts.getAccount(id));
    if (!differences.length) return;
    const result = await this.handle(
      `reconcile-${report.runId}-account-${id}-${account.updateTime ?? 'none'}`,
      'ACCOUNT_ACTIVE',
      { account: { id, updateTime: account.updateTime } },
    );
    const fixed = accountDifferences(account, await this.accounts.getAccount(id)).length === 0;
    this.recordDrift(report, {
      kind: 'account',
      id,
      differences,
      outcome: result.outcome,
      fixed,
      reason: result.reason,
    });
  }

  /**
   * Entitlements parked until their account's sign-up was approved, whose account Google now shows
   * approved: approve them (policy permitting) through `approveParked`, then mirror the state the
   * approval produced, so it is not mistaken for drift next run.
   */
  private async approveParked(
    report: ReconcileReport,
    waiting: Entitlement[],
    parkedBefore: Map<string, EntitlementRecord | null>,
  ): Promise<void> {
    const byAccount = new Map<string, string[]>();
    for (const e of waiting) {
      const id = lastSegment(e.name);
      const accountId = lastSegment(e.account);
      if (!id || !accountId || approvalStage(parkedBefore.get(id) ?? null) !== 'awaiting_account') continue;
      byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), id]);
    }
    // Only the accounts of parked entitlements are asked for (few), so no list of all accounts is kept.
    for (const accountId of [...byAccount.keys()]) {
      const account = await this.fetch(() => this.procurement.getAccount(accountId));
      if (!account || signupState(account) !== 'APPROVED') byAccount.delete(accountId);
    }
    for (const [accountId, ids] of byAccount) {
      await this.item(report, accountId, async () => {
        // Healing the account above may have approved them already (ACCOUNT_ACTIVE approves what was parked).
        const stillParked = await Promise.all(
          ids.map(
            async (id) => approvalStage(await this.entitlements.getEntitlement(`gcp:${id}`)) === 'awaiting_account',
          ),
        );
        if (stillParked.some(Boolean)) {
          await this.fetch(() =>
            this.events.approveParked(
              accountId,
              this.trigger(report, `reconcile-${report.runId}-approve-${accountId}`, 'RECONCILE_APPROVE_PARKED'),
            ),
          );
        }
      });
      for (const id of ids) await this.item(report, id, () => this.afterApproval(id, 'activation', report));
    }
  }

  private async checkEntitlement(
    id: string,
    google: Entitlement,
    report: ReconcileReport,
    stored?: EntitlementRecord | null,
  ): Promise<void> {
    report.checked++;
    const ours = stored === undefined ? await this.entitlements.getEntitlement(`gcp:${id}`) : stored;
    const differences = entitlementDifferences(google, ours, this.clock.now());
    if (!differences.length) return;
    const result = await this.heal(id, google, report.runId, '');
    const waitedFor = awaitingProviderApproval(google);
    const fresh = waitedFor ? await this.afterApproval(id, waitedFor, report) : google;
    const fixed =
      fresh !== null &&
      entitlementDifferences(fresh, await this.entitlements.getEntitlement(`gcp:${id}`), this.clock.now()).length === 0;
    this.recordDrift(report, {
      kind: 'entitlement',
      id,
      differences,
      outcome: result.outcome,
      fixed,
      reason: result.reason,
    });
  }

  /**
   * After anything that may have made a Procurement approval: count it if Google's record shows it
   * made, and mirror the state it produced (the approval moved Google's `updateTime`). Returns the
   * fresh entitlement.
   */
  private async afterApproval(
    id: string,
    waitedFor: 'activation' | 'planChange',
    report: ReconcileReport,
  ): Promise<Entitlement | null> {
    const fresh = await this.fetch(() => this.procurement.getEntitlement(id));
    if (!fresh || fresh.state === 'ENTITLEMENT_CANCELLED' || awaitingProviderApproval(fresh) === waitedFor)
      return fresh;
    report.approved++;
    if (entitlementDifferences(fresh, await this.entitlements.getEntitlement(`gcp:${id}`), this.clock.now()).length) {
      await this.heal(id, fresh, report.runId, '-approved');
    }
    return fresh;
  }

  private async gone(stored: EntitlementRecord, report: ReconcileReport): Promise<void> {
    report.checked++;
    if (!stored.subject) return;
    const endedSoFar = report.drift.filter((d) => d.differences[0]?.startsWith('gone:')).length;
    const brake = this.config.env.RECONCILE_MAX_GONE_PER_RUN;
    if (endedSoFar >= brake) {
      throw new Error(
        `Google answers 404; not ended: over ${brake} this run (check MARKETPLACE_PROVIDER_ID, RECONCILE_MAX_GONE_PER_RUN)`,
      );
    }
    const change = goneChange(stored, `reconcile-${report.runId}-${stored.externalId}-gone`);
    const event = this.trigger(report, change.eventKey, change.eventType, {
      entitlementId: stored.id,
      answer: 'entitlements.get: 404',
    });
    const result = await this.ledger.apply(change, event);
    this.recordDrift(report, {
      kind: 'entitlement',
      id: stored.externalId,
      differences: [`gone: ours ${stored.status}, Google 404 NOT_FOUND`],
      outcome: result.outcome,
      fixed: result.outcome === 'applied' || result.outcome === 'duplicate',
      reason: result.reason,
    });
  }

  private heal(id: string, google: Entitlement, runId: string, suffix: string): Promise<HandleResult> {
    return this.handle(
      `reconcile-${runId}-${id}-${google.updateTime ?? 'none'}${suffix}`,
      eventTypeForState(google.state),
      {
        entitlement: { id, updateTime: google.updateTime },
      },
    );
  }

  /** A synthesized Marketplace message through the notification handler (re-read, decide, act once, apply). */
  private async handle(eventId: string, eventType: string, pointer: Record<string, unknown>): Promise<HandleResult> {
    const data = { eventId, eventType, providerId: this.procurement.providerId, ...pointer };
    return this.events.handle({ data: Buffer.from(JSON.stringify(data)), messageId: eventId, transport: 'scheduler' });
  }

  private trigger(
    report: ReconcileReport,
    eventKey: string,
    eventType: string,
    raw: Record<string, unknown> = {},
  ): InboundEvent {
    return {
      source: 'gcp',
      eventKey,
      eventType,
      transport: { kind: 'scheduler', id: report.runId },
      raw: JSON.stringify({ job: 'reconcile', runId: report.runId, ...raw }),
    };
  }

  private recordDrift(report: ReconcileReport, item: DriftItem): void {
    report.drift.push(item);
    this.logger.warning('drift found', { runId: report.runId, ...item });
  }

  /** One item's failure is reported and the run goes on, up to a limit (then the items left are skipped). */
  private async item(report: ReconcileReport, id: string, work: () => Promise<unknown>): Promise<void> {
    if (report.errors.length >= LIFECYCLE_DEFAULTS.reconcile.maxErrors) return;
    try {
      await work();
    } catch (error) {
      report.errors.push({ id, message: errorMessage(error) });
      this.logger.warning('reconciliation item failed', { runId: report.runId, id, error });
    }
  }

  private stopOnErrors(report: ReconcileReport): void {
    if (report.errors.length >= LIFECYCLE_DEFAULTS.reconcile.maxErrors) throw new TooManyErrors();
  }

  /** A Procurement failure outside an item (a list call) fails the run: 503, and the scheduler retries. */
  private async fetch<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw error instanceof ProcurementError ? new TransientError(`Procurement API: ${error.message}`, error) : error;
    }
  }
}

function refusedToken(error: TransientError): boolean {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof ProcurementError && cause.kind === 'invalid_argument';
}

/** A stored cursor, checked (hostile input like any other); anything unexpected starts a new pass. */
function decodeReconcileCursor(text: string | null): ReconcileCursor | null {
  if (!text) return null;
  try {
    const c = JSON.parse(text) as Partial<ReconcileCursor>;
    const phases: unknown[] = ['accounts', 'listed', 'stored'];
    const textOrNull = (v: unknown) => v === null || typeof v === 'string';
    if (
      typeof c.passId !== 'string' ||
      !phases.includes(c.phase) ||
      !Number.isInteger(c.filter) ||
      (c.filter as number) < 0 ||
      (c.filter as number) >= LIVE_STATE_FILTERS.length ||
      !textOrNull(c.pageToken) ||
      !textOrNull(c.storedAfter) ||
      !Number.isInteger(c.chunks)
    )
      return null;
    return c as ReconcileCursor;
  } catch {
    return null;
  }
}

function approvalStage(e: EntitlementRecord | null): string | null {
  const marketplace = e?.details.marketplace as { approval?: string | null } | undefined;
  return marketplace?.approval ?? null;
}
