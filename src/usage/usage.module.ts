import { Module } from '@nestjs/common';
import { ServiceControlClient } from './service-control.client.js';
import { UsageAdminController } from './usage-admin.controller.js';
import { UsageAuthGuard } from './usage-auth.guard.js';
import { UsageCatalog } from './usage-catalog.js';
import { UsageController } from './usage.controller.js';
import { UsageIntake } from './usage-intake.service.js';
import { UsageReporter } from './usage-reporter.service.js';

/**
 * Usage-based plans (docs/usage-reporting.md): the intake of usage records, the reporter that sends them to
 * Service Control (run by the lifecycle triggers), and the admin view of windows.
 */
@Module({
  controllers: [UsageController, UsageAdminController],
  providers: [UsageCatalog, ServiceControlClient, UsageIntake, UsageReporter, UsageAuthGuard],
  exports: [UsageReporter],
})
export class UsageModule {}
