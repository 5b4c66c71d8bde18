import { Module } from '@nestjs/common';
import { WebhookCommonModule } from '../common/webhook-common.module.js';
import { GetCourseController } from './getcourse.controller.js';
import { GetCourseSettings } from './getcourse.settings.js';

/** GetCourse «Call URL» callbacks: docs/integrations/getcourse.md. */
@Module({
  imports: [WebhookCommonModule],
  controllers: [GetCourseController],
  providers: [GetCourseSettings],
})
export class GetCourseModule {}
