import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
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
 * Builds the whole service without listening (NestJS on Fastify): raw body kept for signature
 * checks, body size limit, shutdown hooks, the global error filter. `server.ts` listens; tests
 * call this too.
 */
export async function bootstrap(options: BootstrapOptions = {}): Promise<NestFastifyApplication> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? new AppLogger(config.env.LOG_LEVEL);
  const clock = options.clock ?? new SystemClock();
  const limit = config.env.MAX_BODY_BYTES;
  // The adapter is passed in (not looked up by Nest with a dynamic import) so the bundle loads it with the rest.
  const adapter = new FastifyAdapter({
    // Cloud Run's front end terminates TLS and sets X-Forwarded-For / -Proto.
    trustProxy: true,
    bodyLimit: limit,
    // Fastify's own request logging stays off: the service logs through AppLogger.
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register({ config, logger, clock }), adapter, {
    logger,
    // JSON and form bodies are parsed by Nest's Fastify parsers, which keep the raw bytes (`request.rawBody`).
    rawBody: true,
    bodyParser: true,
    abortOnError: false,
  });
  // text/plain: kept as a string (and raw), so a provider that mislabels its JSON still reaches its controller,
  // which checks the signature on the raw body and refuses what is not JSON.
  app.useBodyParser('text/plain', { bodyLimit: limit }, (_request, body, done) => done(null, body.toString('utf8')));
  // SIGTERM is Cloud Run's stop signal, SIGINT a developer's Ctrl-C; other signals keep Node's defaults.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
