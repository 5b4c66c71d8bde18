import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { expiringEvent, graceMs } from './lifecycle-events.js';
import { LifecycleStore, type TimeCursor } from './lifecycle-store.js';
import { decodePassCursor, encodePassCursor, errorMessage, forEachLimit, pagedPass, RunBudget } from './run-support.js';

/** The stored cursors' names (`cursors/expiring`, `cursors/expiring-backfill`). */
const JOB = 'expiring';
const BACKFILL = 'expiring-backfill';
/** `cursors/expiring-backfill` once every stored entitlement carries `pendingNoticeFor`. */
const BACKFILL_DONE = 'done';

export interface ExpiringNoticesReport {
  runId: string;
  at: Date;
  leadDays: number;
  /** Entitlements the query returned: notices due (not sent yet) inside the lead window. */
  checked: number;
  /** Notices written to the outbox by this run. */
  emitted: number;
  /** Notices found sent before (a document marked by the backfill, an end moved back): the mark was cleared. */
  alreadySent: number;
  /** Entitlements that changed (end moved, no longer active) between the query and their transaction. */
  skipped: number;
  /** Documents the one-off backfill marked in this run (0 once it is done). */
  backfilled: number;
  errors: { entitlementId: string; message: string }[];
  more: boolean;
}

/**
 * `entitlement.expiring`: one notice per entitlement and period, `expiringLeadDays` (policy.yaml,
 * default 3) before `validUntil`. The ledger marks each new end (`pendingNoticeFor`); a run reads only
 * the marked entitlements inside the window, so its cost follows the notices due, not the window. The
 * notice, its dedup document and the cleared mark are written in one transaction, so concurrent runs
 * and retries send it once; a renewal (a new `validUntil`) is marked again: a new period.
 */
@Injectable()
export class ExpiringNotices {
  constructor(
    private readonly store: LifecycleStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  async run(runId: string, budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.job)): Promise<ExpiringNoticesReport> {
    const now = this.clock.now();
    const { expiringLeadDays, graceHours } = this.config.policy.lifecycle;
    const report: ExpiringNoticesReport = {
      runId,
      at: now,
      leadDays: expiringLeadDays,
      checked: 0,
      emitted: 0,
      alreadySent: 0,
      skipped: 0,
      backfilled: 0,
      errors: [],
      more: false,
    };
    const backfillMore = await this.backfill(now, budget, report);
    const horizon = new Date(now.getTime() + expiringLeadDays * 86_400_000);
    const from = decodePassCursor(await this.store.loadCursor(JOB));
    const due = (after: TimeCursor | null) =>
      this.store.listNoticesDue(now, horizon, LIFECYCLE_DEFAULTS.pageSize, after);
    const notice = (e: EntitlementRecord) => {
      if (!e.active || !e.subject || e.erasedAt || !e.validUntil) return null;
      const event = expiringEvent(e, graceMs(graceHours, e.source), now);
      const retainUntil = new Date(
        event.accessEndsAt.getTime() + LIFECYCLE_DEFAULTS.notices.retentionDaysAfterEnd * 86_400_000,
      );
      return { event, retainUntil };
    };
    const stopped = await pagedPass([due], from, budget, async (items) => {
      report.checked += items.length;
      await forEachLimit(items, LIFECYCLE_DEFAULTS.concurrency, async (e) => {
        try {
          const outcome = await this.store.sendExpiringNotice(e, notice, now);
          if (outcome === 'sent') report.emitted++;
          else if (outcome === 'sentBefore') report.alreadySent++;
          else report.skipped++;
        } catch (error) {
          report.errors.push({ entitlementId: e.id, message: errorMessage(error) });
          this.logger.warning('expiring notice failed', { runId, entitlementId: e.id, error });
        }
      });
    });
    await this.store.saveCursor(JOB, encodePassCursor(stopped), this.clock.now());
    report.more = stopped !== null || backfillMore;
    this.logger.info('expiring notices finished', {
      runId,
      checked: report.checked,
      emitted: report.emitted,
      alreadySent: report.alreadySent,
      skipped: report.skipped,
      backfilled: report.backfilled,
      errors: report.errors.length,
      more: report.more,
    });
    return report;
  }

  /**
   * Once per database: marks the active entitlements stored before `pendingNoticeFor` existed, soonest end
   * first (those inside the lead window get their notice in the same run), resumable from its own cursor.
   * Returns whether it has more to do.
   */
  private async backfill(now: Date, budget: RunBudget, report: ExpiringNoticesReport): Promise<boolean> {
    const stored = await this.store.loadCursor(BACKFILL);
    if (stored === BACKFILL_DONE) return false;
    const stopped = await pagedPass(
      [(after: TimeCursor | null) => this.store.markPendingNotices(now, LIFECYCLE_DEFAULTS.pageSize, after)],
      decodePassCursor(stored),
      budget,
      async (marked) => {
        report.backfilled += marked.filter(Boolean).length;
      },
    );
    await this.store.saveCursor(BACKFILL, encodePassCursor(stopped) ?? BACKFILL_DONE, this.clock.now());
    if (!stopped) this.logger.info('expiring notices backfill finished', { backfilled: report.backfilled });
    return stopped !== null;
  }
}
