import { Module } from '@nestjs/common';
import { PubSubChangeEventPublisher } from '../infrastructure/pubsub/pubsub-change-event-publisher.js';
import { MarketplaceModule } from '../marketplace/marketplace.module.js';
import { ChangeEventPublisher } from './change-event-publisher.js';
import { DecisionCheck } from './decision-check.service.js';
import { ExpiringNotices } from './expiring-notices.service.js';
import { ExpirySweep } from './expiry-sweep.service.js';
import { LifecycleController } from './lifecycle.controller.js';
import { LifecycleJobs } from './lifecycle-jobs.service.js';
import { LifecycleTimer } from './lifecycle-timer.js';
import { OutboxPublisher } from './outbox-publisher.service.js';
import { Reconciliation } from './reconciliation/reconciliation.service.js';
import { SchedulerAuthGuard } from './scheduler-auth.guard.js';
import { UsageModule } from '../usage/usage.module.js';

/**
 * Time and agreement: expiry and start sweeps, expiring notices, Marketplace reconciliation, and the
 * outbox publisher of outbound change events; triggered by Cloud Scheduler or the local timer.
 */
@Module({
  imports: [MarketplaceModule, UsageModule],
  controllers: [LifecycleController],
  providers: [
    { provide: ChangeEventPublisher, useClass: PubSubChangeEventPublisher },
    ExpirySweep,
    ExpiringNotices,
    Reconciliation,
    DecisionCheck,
    OutboxPublisher,
    LifecycleJobs,
    LifecycleTimer,
    SchedulerAuthGuard,
  ],
  exports: [LifecycleJobs],
})
export class LifecycleModule {}
