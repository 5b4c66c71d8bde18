import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { AppLogger } from './common/logging/app-logger.js';
import { AppConfig, loadConfig } from './config/app-config.js';
import { Clock, SystemClock } from './entitlements/clock.js';

export interface BootstrapOptions {
  /** Defaults to the configuration read from the environment and `config/`. */
  config?: AppConfig;
  logger?: AppLogger;
  clock?: Clock;
}

/**
 * Builds the whole service without listening: raw body kept for signature checks, body size
 * limit, shutdown hooks, the global error filter. `main.ts` listens; tests call this too.
 */
export async function bootstrap(options: BootstrapOptions = {}): Promise<NestExpressApplication> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? new AppLogger(config.env.LOG_LEVEL);
  const clock = options.clock ?? new SystemClock();
  // The adapter is passed in (not looked up by Nest with a dynamic import) so the bundle loads it with the rest.
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.register({ config, logger, clock }),
    new ExpressAdapter(),
    {
      logger,
      rawBody: true,
      bodyParser: true,
      abortOnError: false,
    },
  );
  const limit = config.env.MAX_BODY_BYTES;
  app.useBodyParser('json', { limit });
  app.useBodyParser('urlencoded', { limit, extended: false });
  app.useBodyParser('text', { limit, type: ['text/plain'] });
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.enableShutdownHooks();
  return app;
}
