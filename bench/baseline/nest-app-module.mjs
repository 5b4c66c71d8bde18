// The bare NestJS app of `npm run bench:coldstart` (bench/baseline/nest-app.mjs runs it): the same
// HTTP adapter as the service (@nestjs/platform-fastify, NestFactory.create with the raw body kept),
// one module, one controller answering GET /health/live. Decorators are applied as plain calls (no
// TypeScript build). Exports `main()` like src/server.ts, so scripts/bundle.mjs can give it the
// service's treatment (bundle, launcher, code cache) for the comparison row.
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

class HealthController {
  live() {
    return { status: 'ok' };
  }
}
const live = Object.getOwnPropertyDescriptor(HealthController.prototype, 'live');
Get('health/live')(HealthController.prototype, 'live', live);
HttpCode(200)(HealthController.prototype, 'live', live);
Controller()(HealthController);

class AppModule {}
Module({ controllers: [HealthController] })(AppModule);

/** Env: PORT. */
export async function main() {
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), { rawBody: true, bodyParser: true });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(Number(process.env.PORT), '0.0.0.0');
}
