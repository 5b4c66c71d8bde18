// Baseline for `npm run bench:coldstart`: a bare NestJS app on the same HTTP adapter as the
// service (@nestjs/platform-express, NestFactory.create with the raw body kept), one module, one
// controller answering GET /healthz. Decorators are applied as plain calls (no TypeScript build).
// Env: PORT. `--compile-only` exits once the modules are loaded (to warm a compile cache for a
// bundled copy, the same treatment the service gets; bench/coldstart.mjs).
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

class HealthController {
  live() {
    return { status: 'ok' };
  }
}
const live = Object.getOwnPropertyDescriptor(HealthController.prototype, 'live');
Get('healthz')(HealthController.prototype, 'live', live);
HttpCode(200)(HealthController.prototype, 'live', live);
Controller()(HealthController);

class AppModule {}
Module({ controllers: [HealthController] })(AppModule);

if (process.argv[2] === '--compile-only') process.exit(0);
const app = await NestFactory.create(AppModule, { rawBody: true, bodyParser: true });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT));
