import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { registerConsole } from './admin/console/console-route.js';
import { AppModule } from './app.module.js';
import { AppLogger } from './common/logging/app-logger.js';
import { logContext } from './common/logging/log-context.js';
import { registerRequestContext, requestContext } from './common/logging/request-context.js';
import { redactUrl } from './common/logging/redact-url.js';
import { AppConfig, loadConfig } from './config/app-config.js';
import { Clock, SystemClock } from './entitlements/clock.js';

/** Longest path segment the router matches (3 × 1,500 bytes would be a fully percent-encoded 1,500-byte id). */
const MAX_PATH_SEGMENT = 4_500;

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
  const logger = options.logger ?? AppLogger.fromEnv(config.env);
  const clock = options.clock ?? new SystemClock();
  const env = config.env;
  const limit = env.MAX_BODY_BYTES;
  // The adapter is passed in (not looked up by Nest with a dynamic import) so the bundle loads it with the rest.
  const adapter = new FastifyAdapter({
    // Cloud Run's front end terminates TLS and appends the client to X-Forwarded-For: `request.ip` is the
    // entry that many hops from the right, never an address the client wrote itself.
    trustProxy: (_address: string, hop: number) => hop < env.TRUSTED_PROXY_HOPS,
    bodyLimit: limit,
    // Bounded time for a request to arrive, for an idle socket and for an idle kept-alive connection:
    // a body sent a byte at a time cannot hold a connection (docs/operations.md, "Security").
    requestTimeout: env.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeout: env.HTTP_CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: env.HTTP_HEADERS_TIMEOUT_MS,
      // Node checks the two timeouts above on this interval (30 s by default, which would double them).
      connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(env.HTTP_HEADERS_TIMEOUT_MS / 4))),
    },
    routerOptions: {
      // Fastify's default (100) answers 414 to longer path segments: admin ids (entitlement ids of up
      // to 1,500 bytes, percent-encoded) must fit; path tokens are at most 256 characters (env.schema.ts).
      maxParamLength: MAX_PATH_SEGMENT,
    },
    // Errors the router raises before any route (a segment over the limit, a malformed URL): our error
    // shape, with the URL redacted, instead of Fastify's body that echoes the path.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const body = {
        code: 'validation_failed',
        message: `${status === 414 ? 'URI too long' : 'Malformed URL'}: ${redactUrl(request.raw.url ?? request.url)}`,
        errorId: randomUUID(),
      };
      logContext.run(requestContext(request, env.GOOGLE_CLOUD_PROJECT), () =>
        logger.info('request refused', { errorId: body.errorId, status, code: body.code, reason: body.message }),
      );
      void reply.status(status).send(body);
    },
    // Fastify's own request logging stays off: the service logs through AppLogger.
    logger: false,
  });
  // Before any route: every request's lines carry its trace (docs/operations.md, "Logs").
  registerRequestContext(adapter.getInstance(), env.GOOGLE_CLOUD_PROJECT);
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
  // The admin console's static page (docs/admin-console.md): its files are read on the first request, not here.
  registerConsole(adapter.getInstance(), config.env, logger);
  // SIGTERM is Cloud Run's stop signal, SIGINT a developer's Ctrl-C; other signals keep Node's defaults.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
