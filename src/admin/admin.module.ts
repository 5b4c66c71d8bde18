import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { MarketplaceModule } from '../marketplace/marketplace.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { AccountActions } from './accounts/account-actions.service.js';
import { AccountsController } from './accounts/accounts.controller.js';
import { ActivityController } from './activity/activity.controller.js';
import { AdminViews } from './admin-views.service.js';
import { AuditController } from './audit/audit.controller.js';
import { AuditTrail } from './audit/audit-trail.js';
import { AdminAuthenticator } from './auth/admin-authenticator.js';
import { AdminAuthGuard } from './auth/admin-auth.guard.js';
import { EntitlementActions } from './entitlements/entitlement-actions.service.js';
import { EntitlementsController } from './entitlements/entitlements.controller.js';
import { ErasureRequests } from './erasure/erasure.service.js';
import { ErasuresController } from './erasure/erasures.controller.js';
import { EventReplay } from './events/event-replay.service.js';
import { EventResolution } from './events/event-resolution.service.js';
import { EventsController } from './events/events.controller.js';
import { OpenApiController } from './openapi/openapi.controller.js';

/**
 * The admin API under `/admin/v1` (docs/admin-api.md). Its guard is app-wide on purpose: it leaves
 * every other route alone, but denies anything under `/admin` that does not declare a role, so a
 * controller added anywhere under the prefix is closed until it says who may call it.
 */
@Module({
  imports: [MarketplaceModule, WebhooksModule, DiscoveryModule],
  controllers: [
    EntitlementsController,
    AccountsController,
    EventsController,
    AuditController,
    ErasuresController,
    ActivityController,
    OpenApiController,
  ],
  providers: [
    AdminAuthenticator,
    { provide: APP_GUARD, useClass: AdminAuthGuard },
    AdminViews,
    AuditTrail,
    EntitlementActions,
    AccountActions,
    EventReplay,
    EventResolution,
    ErasureRequests,
  ],
})
export class AdminModule {}
