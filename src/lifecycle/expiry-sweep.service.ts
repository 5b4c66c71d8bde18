import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import { SOURCES, type Outcome } from '../entitlements/entitlement.js';
import type { InboundEvent } from '../entitlements/inbound-event.js';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import { Ledger } from '../entitlements/ledger.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { expiryChange, graceMs, startChange, windowAction } from './lifecycle-events.js';
import { LifecycleStore, type Page, type TimeCursor } from './lifecycle-store.js';
import { errorMessage, forEachLimit } from './run-support.js';

export interface ExpirySweepReport {
  runId: string;
  at: Date;
  /** Entitlements whose access this run ended (`expired`) or started (`validFrom` arrived). */
  expired: number;
  started: number;
  /** Every ledger outcome of the run, e.g. `duplicate` when another instance was first. */
  outcomes: Partial<Record<Outcome, number>>;
  errors: { entitlementId: string; message: string }[];
  /** The run stopped at its page limit; the next run continues. */
  more: boolean;
}

/**
 * Enforces validity windows through the ledger, in case the provider's own "expired" call never
 * comes: active entitlements past `validUntil` + the source's grace become `expired`; entitlements
 * whose `validFrom` arrived start. Each change is a lifecycle event with a key naming the period,
 * so concurrent sweeps on several instances apply it once (the others get `duplicate`).
 */
@Injectable()
export class ExpirySweep {
  constructor(
    private readonly store: LifecycleStore,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  async run(runId: string): Promise<ExpirySweepReport> {
    const now = this.clock.now();
    const report: ExpirySweepReport = { runId, at: now, expired: 0, started: 0, outcomes: {}, errors: [], more: false };
    for (const source of SOURCES) {
      const cutoff = new Date(now.getTime() - this.grace(source));
      await this.eachPage(
        report,
        (after) => this.store.listActiveEndedBy(source, cutoff, LIFECYCLE_DEFAULTS.pageSize, after),
        now,
      );
    }
    await this.eachPage(
      report,
      (after) => this.store.listInactiveStartedBy(now, LIFECYCLE_DEFAULTS.pageSize, after),
      now,
    );
    const log = report.errors.length ? this.logger.warning.bind(this.logger) : this.logger.info.bind(this.logger);
    log('expiry sweep finished', {
      runId,
      expired: report.expired,
      started: report.started,
      outcomes: report.outcomes,
      errors: report.errors.length,
      more: report.more,
    });
    return report;
  }

  private async eachPage(
    report: ExpirySweepReport,
    page: (after: TimeCursor | null) => Promise<Page<EntitlementRecord, TimeCursor>>,
    now: Date,
  ): Promise<void> {
    let after: TimeCursor | null = null;
    for (let pages = 0; ; pages++) {
      if (pages === LIFECYCLE_DEFAULTS.maxPages) {
        report.more = true;
        return;
      }
      const { items, next }: Page<EntitlementRecord, TimeCursor> = await page(after);
      await forEachLimit(items, LIFECYCLE_DEFAULTS.concurrency, (e) => this.applyDue(e, now, report));
      if (!next) return;
      after = next;
    }
  }

  private async applyDue(e: EntitlementRecord, now: Date, report: ExpirySweepReport): Promise<void> {
    const grace = this.grace(e.source);
    const action = windowAction(e, now, grace);
    if (action === 'none') return;
    const change = action === 'expire' ? expiryChange(e, grace) : startChange(e);
    const event: InboundEvent = {
      source: e.source,
      eventKey: change.eventKey,
      eventType: change.eventType,
      transport: { kind: 'scheduler', id: report.runId },
      raw: JSON.stringify({
        job: 'expiry-sweep',
        runId: report.runId,
        entitlementId: e.id,
        validFrom: e.validFrom,
        validUntil: e.validUntil,
        graceMs: grace,
      }),
    };
    try {
      const { outcome } = await this.ledger.apply(change, event);
      report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
      if (outcome === 'applied') report[action === 'expire' ? 'expired' : 'started']++;
    } catch (error) {
      report.errors.push({ entitlementId: e.id, message: errorMessage(error) });
      this.logger.warning('lifecycle change failed', { runId: report.runId, entitlementId: e.id, action, error });
    }
  }

  private grace(source: EntitlementRecord['source']): number {
    return graceMs(this.config.policy.lifecycle.graceHours, source);
  }
}
