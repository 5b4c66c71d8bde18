import { Module } from '@nestjs/common';
import { ApprovalPolicy } from './approval-policy.js';
import { MarketplaceEvents } from './marketplace-events.service.js';
import { ProcurementClient } from './procurement/procurement.client.js';
import { PullConsumer } from './pubsub/pull-consumer.js';

/** Google Cloud Marketplace: notifications (pull and push), the Procurement API, approval policy. */
@Module({
  providers: [ProcurementClient, ApprovalPolicy, MarketplaceEvents, PullConsumer],
  exports: [ProcurementClient, ApprovalPolicy, MarketplaceEvents],
})
export class MarketplaceModule {}
