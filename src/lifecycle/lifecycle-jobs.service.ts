import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { Clock } from '../entitlements/clock.js';
import { ExpiringNotices, type ExpiringNoticesReport } from './expiring-notices.service.js';
import { ExpirySweep, type ExpirySweepReport } from './expiry-sweep.service.js';
import { OutboxPublisher, type OutboxPublishReport } from './outbox-publisher.service.js';
import { Reconciliation, type ReconcileReport } from './reconciliation/reconciliation.service.js';
import { errorMessage, newRunId, SingleFlight } from './run-support.js';

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
  };

  constructor(
    private readonly expiry: ExpirySweep,
    private readonly notices: ExpiringNotices,
    private readonly reconciliation: Reconciliation,
    private readonly publisher: OutboxPublisher,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
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

  /** Runs one job under a new run id; every log line of the run carries it (`runId`). */
  private async withRun<T>(job: string, work: (runId: string) => Promise<T>): Promise<T> {
    const runId = newRunId(job, this.clock.now());
    try {
      return await work(runId);
    } catch (error) {
      this.logger.failure('lifecycle job failed', { job, runId, error });
      throw error;
    }
  }
}
