import { Module } from '@nestjs/common';
import { WebhookCommonModule } from './common/webhook-common.module.js';
import { EasyCartModule } from './easycart/easycart.module.js';
import { GetCourseModule } from './getcourse/getcourse.module.js';
import { PurchaselyModule } from './purchasely/purchasely.module.js';
import { WebhookResolver } from './webhook-resolver.js';

/**
 * EasyCart, Purchasely and GetCourse webhooks: one folder per provider, one intake into the ledger.
 * `WebhookResolver` is the admin API's way back in for refused events (docs/input-rules.md).
 */
@Module({
  imports: [PurchaselyModule, EasyCartModule, GetCourseModule, WebhookCommonModule],
  providers: [WebhookResolver],
  exports: [WebhookResolver],
})
export class WebhooksModule {}
