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
import { LifecycleStore, type TimeCursor } from './lifecycle-store.js';
import { decodePassCursor, encodePassCursor, errorMessage, forEachLimit, pagedPass, RunBudget } from './run-support.js';

/** The stored cursor's name (`cursors/expire`). */
const JOB = 'expire';

export interface ExpirySweepReport {
  runId: string;
  at: Date;
  /** Entitlements whose access this run ended (`expired`) or started (`validFrom` arrived). */
  expired: number;
  started: number;
  /** Every ledger outcome of the run, e.g. `duplicate` when another instance was first. */
  outcomes: Partial<Record<Outcome, number>>;
  errors: { entitlementId: string; message: string }[];
  /** The run stopped at its time budget; the next run resumes where it stopped (`cursors/expire`). */
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

  async run(runId: string, budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.job)): Promise<ExpirySweepReport> {
    const now = this.clock.now();
    const report: ExpirySweepReport = { runId, at: now, expired: 0, started: 0, outcomes: {}, errors: [], more: false };
    const size = LIFECYCLE_DEFAULTS.pageSize;
    // One query per source (its own grace), then the start sweep. What a run changes leaves its query, so a
    // resumed pass reads only what is still due; the stored cursor skips what failed until the next pass.
    const steps = [
      ...SOURCES.map((source) => {
        const cutoff = new Date(now.getTime() - this.grace(source));
        return (after: TimeCursor | null) => this.store.listActiveEndedBy(source, cutoff, size, after);
      }),
      (after: TimeCursor | null) => this.store.listInactiveStartedBy(now, size, after),
    ];
    const from = decodePassCursor(await this.store.loadCursor(JOB));
    const stopped = await pagedPass(steps, from, budget, (items) =>
      forEachLimit(items, LIFECYCLE_DEFAULTS.concurrency, (e) => this.applyDue(e, now, report)),
    );
    await this.store.saveCursor(JOB, encodePassCursor(stopped), this.clock.now());
    report.more = stopped !== null;
    const log = report.errors.length ? this.logger.warning.bind(this.logger) : this.logger.info.bind(this.logger);
    log('expiry sweep finished', {
      runId,
      expired: report.expired,
      started: report.started,
      outcomes: report.outcomes,
      errors: report.errors.length,
      more: report.more,
      resumedAt: from,
    });
    return report;
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
