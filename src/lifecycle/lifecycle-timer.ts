import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { AppConfig } from '../config/app-config.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { LifecycleJobs } from './lifecycle-jobs.service.js';

/**
 * The in-process trigger for the local run (LIFECYCLE_TIMER_SECONDS > 0): every tick runs the
 * expiry sweep and the expiring notices (each publishes the outbox after it), and every Nth tick
 * the Marketplace reconciliation and the decision check. On Cloud Run leave it off: Cloud Scheduler calls the triggers,
 * and an instance's timer would not run while it has no request (CPU is throttled).
 */
@Injectable()
export class LifecycleTimer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private ticks = 0;

  constructor(
    private readonly jobs: LifecycleJobs,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.env.LIFECYCLE_TIMER_SECONDS;
    if (!seconds) return;
    this.timer = setInterval(() => {
      // A slow tick is not stacked on: the next one starts after it.
      this.tick ??= this.runTick().finally(() => (this.tick = undefined));
    }, seconds * 1000);
    this.timer.unref();
    this.logger.info('lifecycle timer on', { everySeconds: seconds });
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.tick, ...this.jobs.inProgress()]);
  }

  private async runTick(): Promise<void> {
    const reconcile = this.ticks++ % LIFECYCLE_DEFAULTS.reconcile.timerEveryTicks === 0;
    // Failures are logged by the jobs; the next tick tries again.
    await this.jobs.expire().catch(() => undefined);
    await this.jobs.expiring().catch(() => undefined);
    if (reconcile && this.config.env.MARKETPLACE_PROVIDER_ID) {
      await this.jobs.reconcile().catch(() => undefined);
      await this.jobs.checkDecisions().catch(() => undefined);
    }
    if (this.config.env.USAGE_REPORTING) await this.jobs.reportUsage().catch(() => undefined);
  }
}
