import { Module } from '@nestjs/common';
import { WebhookCommonModule } from '../common/webhook-common.module.js';
import { PurchaselyController } from './purchasely.controller.js';
import { PurchaselyWebhook } from './purchasely.webhook.js';

/** Purchasely server events (webhook API v3): docs/integrations/purchasely.md. */
@Module({
  imports: [WebhookCommonModule],
  controllers: [PurchaselyController],
  providers: [PurchaselyWebhook],
})
export class PurchaselyModule {}
