import { Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { LifecycleJobs } from './lifecycle-jobs.service.js';
import { SchedulerAuthGuard } from './scheduler-auth.guard.js';

/**
 * Cloud Scheduler triggers (docs/lifecycle.md). Each answers 200 with the run's report; a run that
 * could not proceed (Firestore or the Procurement API down) answers 503 so the job is retried.
 */
@Controller('lifecycle/v1')
@UseGuards(SchedulerAuthGuard)
export class LifecycleController {
  constructor(private readonly jobs: LifecycleJobs) {}

  @Post('expire')
  @HttpCode(200)
  expire() {
    return this.jobs.expire();
  }

  @Post('expiring')
  @HttpCode(200)
  expiring() {
    return this.jobs.expiring();
  }

  @Post('reconcile')
  @HttpCode(200)
  reconcile() {
    return this.jobs.reconcile();
  }

  @Post('report-usage')
  @HttpCode(200)
  reportUsage() {
    return this.jobs.reportUsage();
  }

  @Post('check-decisions')
  @HttpCode(200)
  checkDecisions() {
    return this.jobs.checkDecisions();
  }

  @Post('publish-outbox')
  @HttpCode(200)
  publishOutbox() {
    return this.jobs.publishOutbox();
  }
}
