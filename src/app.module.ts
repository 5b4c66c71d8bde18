import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminModule } from './admin/admin.module.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import { HealthController } from './common/health/health.controller.js';
import { AppLogger } from './common/logging/app-logger.js';
import { AppConfig } from './config/app-config.js';
import { Clock } from './entitlements/clock.js';
import { EntitlementsModule } from './entitlements/entitlements.module.js';
import { FirestoreModule } from './infrastructure/firestore/firestore.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { MarketplaceModule } from './marketplace/marketplace.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  logger: AppLogger;
  clock: Clock;
}

/** Config, logger and clock are built before the app (config errors stop the process first). */
@Global()
@Module({})
class CoreModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: options.config },
        { provide: AppLogger, useValue: options.logger },
        { provide: Clock, useValue: options.clock },
      ],
      exports: [AppConfig, AppLogger, Clock],
    };
  }
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(options),
        FirestoreModule,
        EntitlementsModule,
        MarketplaceModule,
        WebhooksModule,
        AdminModule,
        LifecycleModule,
      ],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
