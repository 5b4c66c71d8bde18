import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { expiringEvent, graceMs, noticeKey } from './lifecycle-events.js';
import { LifecycleStore, type TimeCursor } from './lifecycle-store.js';
import { decodePassCursor, encodePassCursor, errorMessage, forEachLimit, pagedPass, RunBudget } from './run-support.js';

/** The stored cursor's name (`cursors/expiring`). */
const JOB = 'expiring';

export interface ExpiringNoticesReport {
  runId: string;
  at: Date;
  leadDays: number;
  /** Notices written to the outbox by this run. */
  emitted: number;
  /** Entitlements in the window whose notice for this period was sent before. */
  alreadySent: number;
  errors: { entitlementId: string; message: string }[];
  more: boolean;
}

/**
 * `entitlement.expiring`: one notice per entitlement and period, `expiringLeadDays` (policy.yaml,
 * default 3) before `validUntil`. The notice and its dedup document are written in one transaction,
 * so concurrent runs and retries send it once; a renewal (a new `validUntil`) is a new period.
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
      emitted: 0,
      alreadySent: 0,
      errors: [],
      more: false,
    };
    const horizon = new Date(now.getTime() + expiringLeadDays * 86_400_000);
    const from = decodePassCursor(await this.store.loadCursor(JOB));
    const window = (after: TimeCursor | null) =>
      this.store.listActiveEndingWithin(now, horizon, LIFECYCLE_DEFAULTS.pageSize, after);
    const stopped = await pagedPass([window], from, budget, async (items) => {
      const due = items.filter((e) => e.subject && e.validUntil);
      // Every run sees the whole lead window again: one batched read finds the notices sent before,
      // so only new ones cost a transaction.
      const sent = await this.store.sentNotices(due.map(noticeKey));
      report.alreadySent += due.filter((e) => sent.has(noticeKey(e))).length;
      await forEachLimit(
        due.filter((e) => !sent.has(noticeKey(e))),
        LIFECYCLE_DEFAULTS.concurrency,
        async (e) => {
          const event = expiringEvent(e, graceMs(graceHours, e.source), now);
          const retainUntil = new Date(
            event.accessEndsAt.getTime() + LIFECYCLE_DEFAULTS.notices.retentionDaysAfterEnd * 86_400_000,
          );
          try {
            if (await this.store.recordExpiringNotice(noticeKey(e), event, retainUntil, now)) report.emitted++;
            else report.alreadySent++;
          } catch (error) {
            report.errors.push({ entitlementId: e.id, message: errorMessage(error) });
            this.logger.warning('expiring notice failed', { runId, entitlementId: e.id, error });
          }
        },
      );
    });
    await this.store.saveCursor(JOB, encodePassCursor(stopped), this.clock.now());
    report.more = stopped !== null;
    this.logger.info('expiring notices finished', {
      runId,
      emitted: report.emitted,
      alreadySent: report.alreadySent,
      errors: report.errors.length,
      more: report.more,
    });
    return report;
  }
}
