import { Module } from '@nestjs/common';
import { EasyCartModule } from './easycart/easycart.module.js';
import { GetCourseModule } from './getcourse/getcourse.module.js';
import { PurchaselyModule } from './purchasely/purchasely.module.js';

/** EasyCart, Purchasely and GetCourse webhooks: one folder per provider, one intake into the ledger. */
@Module({
  imports: [PurchaselyModule, EasyCartModule, GetCourseModule],
})
export class WebhooksModule {}
