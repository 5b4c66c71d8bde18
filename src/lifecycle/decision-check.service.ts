import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { LifecycleStore } from './lifecycle-store.js';
import { overdueDecision, type OverdueDecision } from './overdue-decisions.js';
import { RunBudget } from './run-support.js';

export interface DecisionCheckReport {
  runId: string;
  /** `marketplace.approvals.decideWithinHours` of config/policy.yaml. */
  limitHours: number;
  /** Pending Marketplace entitlements read in this run. */
  checked: number;
  /** How many of them wait for an admin longer than the limit (each logged as "decision overdue", up to a cap). */
  overdue: number;
  /** The overdue decisions, oldest first (cut in the run record). */
  decisions: OverdueDecision[];
  /** false: the time budget ran out; the next run resumes after the last entitlement read. */
  complete: boolean;
}

const JOB = 'decisions';

/**
 * The hourly decision check (`POST /lifecycle/v1/check-decisions`): every Marketplace purchase or plan
 * change that has waited for an admin longer than the policy's limit gets a WARNING line "decision
 * overdue" (entitlement, decision, product, plan, since when), which the "Decisions overdue" alert
 * counts (deploy/monitoring). It repeats each run while the decision waits, so the alert stays open until
 * someone decides. Reads only the pending Marketplace entitlements; writes nothing but its cursor.
 */
@Injectable()
export class DecisionCheck {
  constructor(
    private readonly store: LifecycleStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  async run(
    runId: string,
    budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.job),
    pageSize: number = LIFECYCLE_DEFAULTS.pageSize,
  ): Promise<DecisionCheckReport> {
    const limitHours = this.config.policy.marketplace.approvals.decideWithinHours;
    const limitMs = limitHours * 3_600_000;
    const now = this.clock.now();
    const overdue: OverdueDecision[] = [];
    let checked = 0;
    const from = await this.store.loadCursor(JOB);
    let after = from;
    let complete = false;
    while (budget.nextPage()) {
      const page = await this.store.listPendingMarketplaceDecisions(pageSize, after);
      checked += page.items.length;
      for (const e of page.items) {
        const late = overdueDecision(e, now, limitMs);
        if (late) overdue.push(late);
      }
      after = page.next;
      if (!after) {
        complete = true;
        break;
      }
    }
    const cursor = complete ? null : after;
    if (cursor !== from) await this.store.saveCursor(JOB, cursor, now);
    overdue.sort((a, b) => a.waitingSince.getTime() - b.waitingSince.getTime());
    const { maxLinesPerRun } = LIFECYCLE_DEFAULTS.decisions;
    for (const d of overdue.slice(0, maxLinesPerRun)) {
      // What the "Decisions overdue" alert counts (deploy/monitoring/decisions-overdue.metric.yaml).
      this.logger.warning('decision overdue', {
        entitlementId: d.entitlementId,
        source: 'gcp',
        decision: d.decision,
        product: d.product,
        plan: d.plan,
        waitingSince: d.waitingSince.toISOString(),
        waitingHours: d.waitingHours,
        limitHours,
      });
    }
    this.logger.info('decisions checked', {
      checked,
      overdue: overdue.length,
      linesCut: Math.max(0, overdue.length - maxLinesPerRun),
      limitHours,
      complete,
    });
    return { runId, limitHours, checked, overdue: overdue.length, decisions: overdue, complete };
  }
}
