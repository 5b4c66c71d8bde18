import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { logContext } from '../common/logging/log-context.js';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../entitlements/clock.js';
import { DecisionCheck, type DecisionCheckReport } from './decision-check.service.js';
import { ExpiringNotices, type ExpiringNoticesReport } from './expiring-notices.service.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { LifecycleStore, type RecordedJob } from './lifecycle-store.js';
import { runRecord } from './run-record.js';
import { ExpirySweep, type ExpirySweepReport } from './expiry-sweep.service.js';
import { OutboxPublisher, type OutboxPublishReport } from './outbox-publisher.service.js';
import { Reconciliation, type ReconcileReport } from './reconciliation/reconciliation.service.js';
import { errorMessage, newRunId, SingleFlight } from './run-support.js';
import { UsageReporter, type UsageReport } from '../usage/usage-reporter.service.js';

/** The publish pass after a job: its report, or why it failed (the job's own result stands either way). */
export type KickReport = OutboxPublishReport | { error: string };

/**
 * The four lifecycle jobs as the triggers (Cloud Scheduler, the local timer) run them: one run per
 * job at a time in this instance, a run id on every log line, and a publish pass after each job
 * that writes outbox entries, so their events leave within the same request.
 */
@Injectable()
export class LifecycleJobs {
  private readonly flights = {
    expire: new SingleFlight<ExpirySweepReport & { publish: KickReport }>(),
    expiring: new SingleFlight<ExpiringNoticesReport & { publish: KickReport }>(),
    reconcile: new SingleFlight<ReconcileReport & { publish: KickReport }>(),
    publish: new SingleFlight<OutboxPublishReport>(),
    usage: new SingleFlight<UsageReport>(),
    decisions: new SingleFlight<DecisionCheckReport>(),
  };

  constructor(
    private readonly expiry: ExpirySweep,
    private readonly notices: ExpiringNotices,
    private readonly reconciliation: Reconciliation,
    private readonly publisher: OutboxPublisher,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
    private readonly store: LifecycleStore,
    private readonly usage: UsageReporter,
    private readonly config: AppConfig,
    private readonly decisions: DecisionCheck,
  ) {}

  expire() {
    return this.flights.expire.run(() =>
      this.withRun('expire', async (runId) => ({
        ...(await this.expiry.run(runId)),
        publish: await this.kick(),
      })),
    );
  }

  expiring() {
    return this.flights.expiring.run(() =>
      this.withRun('expiring', async (runId) => ({
        ...(await this.notices.run(runId)),
        publish: await this.kick(),
      })),
    );
  }

  reconcile() {
    return this.flights.reconcile.run(() =>
      this.withRun('reconcile', async (runId) => ({
        ...(await this.reconciliation.run(runId)),
        publish: await this.kick(),
      })),
    );
  }

  publishOutbox(): Promise<OutboxPublishReport> {
    return this.flights.publish.run(() => this.withRun('publish', (runId) => this.publisher.run(runId)));
  }

  /** The usage reporter (docs/usage-reporting.md); recorded in `runs/` like the sweeps. */
  reportUsage(): Promise<UsageReport> {
    return this.flights.usage.run(() => this.withRun('usage', (runId) => this.usage.run(runId)));
  }

  /** Decisions left to an admin longer than the policy allows (docs/lifecycle.md, "Decision check"). */
  checkDecisions(): Promise<DecisionCheckReport> {
    return this.flights.decisions.run(() => this.withRun('decisions', (runId) => this.decisions.run(runId)));
  }

  private async kick(): Promise<KickReport> {
    try {
      return await this.publishOutbox();
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }

  /** Runs still in progress (shutdown lets them finish). */
  inProgress(): Promise<unknown>[] {
    return Object.values(this.flights)
      .map((f) => f.current)
      .filter((p): p is Promise<never> => p !== null);
  }

  /**
   * Runs one job under a new run id; every log line of the run carries it (`runId`). Expiry, notices and
   * reconciliation runs are recorded in `runs/` (the admin console's "Lifecycle runs"), whatever came of them.
   */
  private withRun<T extends object>(job: string, work: (runId: string) => Promise<T>): Promise<T> {
    const startedAt = this.clock.now();
    const runId = newRunId(job, startedAt);
    // A Scheduler call brings its request's trace; a timer tick starts one of its own. A run handles
    // many entitlements: each of its lines names its own (batch).
    return logContext.fork(
      this.config.env.GOOGLE_CLOUD_PROJECT,
      { job, runId },
      () => this.runJob(job, runId, startedAt, work),
      { batch: true },
    );
  }

  private async runJob<T extends object>(
    job: string,
    runId: string,
    startedAt: Date,
    work: (runId: string) => Promise<T>,
  ): Promise<T> {
    const recorded = job === 'publish' ? null : (job as RecordedJob);
    try {
      const report = await work(runId);
      if (recorded) await this.record(recorded, runId, startedAt, { report });
      return report;
    } catch (error) {
      this.logger.failure('lifecycle job failed', { job, runId, error });
      if (recorded) await this.record(recorded, runId, startedAt, { error: errorMessage(error) });
      throw error;
    }
  }

  /** Best effort: the run's own outcome stands whether or not its record could be written. */
  private async record(
    job: RecordedJob,
    runId: string,
    startedAt: Date,
    outcome: { report: object } | { error: string },
  ) {
    const finishedAt = this.clock.now();
    const expireAt = new Date(finishedAt.getTime() + LIFECYCLE_DEFAULTS.runs.retentionDays * 86_400_000);
    try {
      await this.store.recordRun(runRecord(job, runId, startedAt, finishedAt, outcome), expireAt);
    } catch (error) {
      this.logger.warning('lifecycle run record not written', { job, runId, error });
    }
  }
}
