import { Module } from '@nestjs/common';
import { WebhookCommonModule } from '../common/webhook-common.module.js';
import { EasyCartController } from './easycart.controller.js';

/** EasyCart (Easytools) webhooks: docs/integrations/easycart.md. */
@Module({ imports: [WebhookCommonModule], controllers: [EasyCartController] })
export class EasyCartModule {}
