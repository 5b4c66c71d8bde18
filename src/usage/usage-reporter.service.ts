import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import type { EntitlementStatus } from '../entitlements/entitlement.js';
import { EntitlementStore } from '../entitlements/entitlement-store.js';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import { LifecycleStore } from '../lifecycle/lifecycle-store.js';
import { LIFECYCLE_DEFAULTS } from '../lifecycle/lifecycle.defaults.js';
import { errorMessage, forEachLimit, RunBudget } from '../lifecycle/run-support.js';
import { ServiceControlClient, ServiceControlError } from './service-control.client.js';
import { UsageCatalog, type UsagePlan } from './usage-catalog.js';
import { USAGE_DEFAULTS } from './usage.defaults.js';
import { UsageStore, type CollectPlan, type UsageState } from './usage-store.js';
import {
  checkVerdict,
  closedUntil,
  reportFailure,
  serviceControlOperation,
  type UsageWindow,
} from './usage-windows.js';

/** Statuses after which an entitlement is not used any more: its last usage is reported, then reporting ends. */
const ENDED: ReadonlySet<EntitlementStatus> = new Set(['cancelled', 'expired', 'rejected']);

export interface UsageReport {
  runId: string;
  /** USAGE_REPORTING is false: the run did nothing. */
  off: boolean;
  /** Usage documents opened this run (entitlements that began reporting). */
  opened: number;
  entitlements: number;
  records: { bound: number; late: number; rejected: number };
  windows: { reported: number; refused: number; uncertain: number; retried: number };
  serviceControlCalls: { check: number; report: number };
  /** Entitlements whose reporting stopped this run (check errors), and those closed after their final report. */
  stopped: string[];
  closed: string[];
  skipped: { entitlementId: string; reason: string }[];
  errors: { entitlementId: string; error: string }[];
  more: boolean;
}

/**
 * The usage reporter (docs/usage-reporting.md): per entitlement, binds pending records to windows, closes the
 * windows due, and reports each one to Service Control: check, then claim, report, record. No remote call is
 * made inside a transaction, and a window that may have reached Google is never sent a second time.
 */

/** `cursors/{job}`: the `usage/{id}` document id a budget-stopped run ended after (null: from the start). */
const CURSOR_JOB = 'usage-reporter';

/** A stored cursor is a document id; anything else (a hand edit, an older format) starts from the beginning. */
function usableCursor(cursor: string | null): string | null {
  return cursor && !cursor.includes('/') && cursor.length <= 1_500 ? cursor : null;
}

@Injectable()
export class UsageReporter {
  constructor(
    private readonly store: UsageStore,
    private readonly entitlements: EntitlementStore,
    private readonly lifecycle: LifecycleStore,
    private readonly catalog: UsageCatalog,
    private readonly serviceControl: ServiceControlClient,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  /**
   * One reporter run. It stops between pages once `budget` is spent (under Cloud Run's request timeout) and
   * stores where it stopped: the next run goes on from there, so the tail of a long list is never starved.
   */
  async run(
    runId: string,
    budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.job),
    pageSize: number = USAGE_DEFAULTS.pageSize,
  ): Promise<UsageReport> {
    const report: UsageReport = {
      runId,
      off: !this.config.env.USAGE_REPORTING,
      opened: 0,
      entitlements: 0,
      records: { bound: 0, late: 0, rejected: 0 },
      windows: { reported: 0, refused: 0, uncertain: 0, retried: 0 },
      serviceControlCalls: { check: 0, report: 0 },
      stopped: [],
      closed: [],
      skipped: [],
      errors: [],
      more: false,
    };
    if (report.off) return report;
    report.opened = await this.openNew();
    let after = usableCursor(await this.lifecycle.loadCursor(CURSOR_JOB));
    for (let page = 0; page < USAGE_DEFAULTS.maxPages && budget.nextPage(); page++) {
      const { items, next } = await this.store.listOpenUsage(pageSize, after);
      await forEachLimit(items, USAGE_DEFAULTS.concurrency, async (usage) => {
        report.entitlements++;
        try {
          await this.reportEntitlement(usage, report);
        } catch (error) {
          report.errors.push({ entitlementId: usage.entitlementId, error: errorMessage(error) });
          this.logger.failure('usage report of an entitlement failed', {
            runId,
            entitlementId: usage.entitlementId,
            error,
          });
        }
      });
      after = next;
      if (!after) break;
    }
    report.more = after !== null;
    await this.lifecycle.saveCursor(CURSOR_JOB, after, this.clock.now());
    this.logger.info('usage reporter run', {
      ...report,
      skipped: report.skipped.length,
      errors: report.errors.length,
    });
    return report;
  }

  /** Live Marketplace entitlements on a plan that reports usage begin reporting: `usage/{id}` is opened. */
  private async openNew(): Promise<number> {
    let opened = 0;
    let after: string | null = null;
    for (let page = 0; page < USAGE_DEFAULTS.maxPages; page++) {
      const { items, next } = await this.lifecycle.listLiveMarketplaceEntitlements(USAGE_DEFAULTS.pageSize, after);
      const usage = items.filter((e) => !ENDED.has(e.status) && this.catalog.planFor(e.providerProduct, e.plan));
      opened += await this.store.openUsageMany(
        usage.map((e) => e.id),
        this.clock.now(),
      );
      after = next;
      if (!after) break;
    }
    return opened;
  }

  private async reportEntitlement(usage: UsageState, report: UsageReport): Promise<void> {
    const id = usage.entitlementId;
    const entitlement = await this.entitlements.getEntitlement(id);
    const final = !entitlement || ENDED.has(entitlement.status) || entitlement.erasedAt !== null;
    const plan = entitlement ? this.catalog.planFor(entitlement.providerProduct, entitlement.plan) : null;
    const consumerId = consumerOf(entitlement);

    if (usage.stopped) {
      if (entitlement && entitlement.version > usage.stopped.entitlementVersion && !final) {
        await this.store.resumeReporting(id, this.clock.now());
        this.logger.info('usage reporting resumed', { entitlementId: id, version: entitlement.version });
      } else {
        if (final) await this.close(id, report);
        return;
      }
    }
    if (!consumerId) {
      // Google sets usageReportingId once the entitlement is active; reconciliation fetches it.
      report.skipped.push({ entitlementId: id, reason: 'no usageReportingId' });
      return;
    }
    if (!plan) {
      // The plan reports nothing (changed to a plan without usage): its records wait, refused by no one.
      report.skipped.push({ entitlementId: id, reason: 'plan reports no usage' });
      if (final) await this.close(id, report);
      return;
    }

    const now = this.clock.now();
    const collect: CollectPlan = {
      metrics: plan.metrics,
      end: final ? now : closedUntil(now, this.config.env.USAGE_WINDOW_MINUTES * 60_000),
      final,
      now,
      windowMs: this.config.env.USAGE_WINDOW_MINUTES * 60_000,
      maxFutureMs: USAGE_DEFAULTS.maxFutureMs,
    };
    let after: string | null = null;
    for (let chunk = 0; chunk < USAGE_DEFAULTS.maxChunksPerEntitlement; chunk++) {
      const r = await this.store.collectChunk(id, collect, after, USAGE_DEFAULTS.recordsPerChunk);
      report.records.bound += r.bound;
      report.records.late += r.late;
      report.records.rejected += r.rejected;
      after = r.next;
      if (!after) break;
    }
    await this.store.closeWindows(id, collect);

    let unfinished = 0;
    for (const window of await this.store.listUnfinishedWindows(id)) {
      const left = await this.sendWindow(window, plan, consumerId, entitlement!, report);
      if (left) unfinished++;
      if (report.stopped.includes(id)) return;
    }
    if (final && unfinished === 0) await this.close(id, report);
  }

  /** Check, claim, report, record. Returns true when the window is still unfinished afterwards. */
  private async sendWindow(
    window: UsageWindow,
    plan: UsagePlan,
    consumerId: string,
    entitlement: EntitlementRecord,
    report: UsageReport,
  ): Promise<boolean> {
    const now = this.clock.now();
    const fields = { entitlementId: window.entitlementId, window: window.id, operationId: window.operationId };
    if (window.state === 'collecting') return true;
    if (window.state === 'sending') {
      if (window.leaseUntil && window.leaseUntil.getTime() > now.getTime()) return true; // another sender is on it
      // Its sender stopped between the report call and its record: Google may or may not have it. Never resent.
      await this.store.finishWindow(
        window,
        { state: 'uncertain', error: 'sender stopped during the report call' },
        now,
      );
      report.windows.uncertain++;
      this.logger.failure('usage window uncertain: not resent (docs/usage-reporting.md)', fields);
      return false;
    }
    const operation = serviceControlOperation(window, consumerId, plan.userLabels);
    let checkErrors;
    try {
      report.serviceControlCalls.check++;
      checkErrors = await this.serviceControl.check(plan.serviceName, operation);
    } catch (error) {
      await this.store.retryWindow(window, errorMessage(error), now);
      report.windows.retried++;
      this.logger.warning('usage check failed; the window is tried again next run', { ...fields, error });
      return true;
    }
    const verdict = checkVerdict(checkErrors);
    if (verdict === 'retry') {
      await this.store.retryWindow(window, 'check: Google could not decide now', now, checkErrors);
      report.windows.retried++;
      return true;
    }
    if (verdict === 'stop') {
      const codes = checkErrors.map((e) => e.code);
      await this.store.finishWindow(
        window,
        { state: 'refused', error: `check: ${codes.join(', ')}`, checkErrors },
        now,
      );
      await this.store.stopReporting(
        window.entitlementId,
        { reason: 'services.check refused the consumer', codes, at: now, entitlementVersion: entitlement.version },
        now,
      );
      report.windows.refused++;
      report.stopped.push(window.entitlementId);
      this.logger.failure('usage reporting stopped: check errors', { ...fields, codes });
      return false;
    }
    const leaseUntil = new Date(now.getTime() + USAGE_DEFAULTS.sendingLeaseMs);
    if (!(await this.store.claimSending(window, leaseUntil, now))) return true;
    let result;
    try {
      report.serviceControlCalls.report++;
      result = await this.serviceControl.report(plan.serviceName, operation);
    } catch (error) {
      const e = error instanceof ServiceControlError ? error : new ServiceControlError(errorMessage(error));
      const failure = reportFailure(e.httpStatus, e.networkCode);
      if (failure === 'not_sent') {
        await this.store.retryWindow(window, e.message, this.clock.now());
        report.windows.retried++;
        return true;
      }
      const state = failure === 'refused' ? 'refused' : 'uncertain';
      await this.store.finishWindow(window, { state, error: e.message }, this.clock.now());
      report.windows[state]++;
      this.logger.failure(`usage window ${state}`, { ...fields, error: e.message });
      return false;
    }
    const mine = result.reportErrors.filter((r) => !r.operationId || r.operationId === window.operationId);
    if (mine.length) {
      const error = `report: ${mine.map((r) => r.message).join('; ')}`.slice(0, USAGE_DEFAULTS.maxErrorChars);
      await this.store.finishWindow(window, { state: 'refused', error }, this.clock.now());
      report.windows.refused++;
      this.logger.failure('usage window refused (reportErrors)', { ...fields, error });
      return false;
    }
    await this.store.finishWindow(window, { state: 'reported' }, this.clock.now());
    report.windows.reported++;
    return false;
  }

  private async close(entitlementId: string, report: UsageReport): Promise<void> {
    await this.store.closeUsage(entitlementId, this.clock.now());
    report.closed.push(entitlementId);
    this.logger.info('usage reporting closed: the entitlement ended', { entitlementId });
  }
}

function consumerOf(entitlement: EntitlementRecord | null): string | null {
  const marketplace = entitlement?.details.marketplace as { usageReportingId?: unknown } | undefined;
  return typeof marketplace?.usageReportingId === 'string' && marketplace.usageReportingId
    ? marketplace.usageReportingId
    : null;
}
