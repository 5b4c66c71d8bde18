import { Module } from '@nestjs/common';
import { WebhookIntake } from './webhook-intake.js';

/** Imported by each provider module: the shared intake into the ledger. */
@Module({ providers: [WebhookIntake], exports: [WebhookIntake] })
export class WebhookCommonModule {}
