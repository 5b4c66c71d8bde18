import { Module } from '@nestjs/common';
import { ApprovalPolicy } from './approval-policy.js';
import { MarketplaceEvents } from './marketplace-events.service.js';
import { ProcurementClient } from './procurement/procurement.client.js';
import { PullConsumer } from './pubsub/pull-consumer.js';
import { PushAuthGuard } from './pubsub/push-auth.guard.js';
import { PushController } from './pubsub/push.controller.js';
import { LinkAuthGuard } from './signup/link-auth.guard.js';
import { SignupController } from './signup/signup.controller.js';
import { MarketplaceSignup } from './signup/signup.service.js';
import { SignupTokenVerifier } from './signup/signup-token.verifier.js';

/** Google Cloud Marketplace: notifications (pull and push), the Procurement API, approval policy. */
@Module({
  controllers: [PushController, SignupController],
  providers: [
    ProcurementClient,
    ApprovalPolicy,
    MarketplaceEvents,
    PullConsumer,
    PushAuthGuard,
    SignupTokenVerifier,
    MarketplaceSignup,
    LinkAuthGuard,
  ],
  exports: [ProcurementClient, ApprovalPolicy, MarketplaceEvents],
})
export class MarketplaceModule {}
