import { Global, Module } from '@nestjs/common';
import { RefusalRecorder } from './refusal-recorder.js';
import { WebhookIntake } from './webhook-intake.js';

/**
 * Imported by each provider module: the shared intake into the ledger, and the recorder of refused
 * requests (global: the error filter counts the bodies the parser refused before any controller).
 */
@Global()
@Module({ providers: [WebhookIntake, RefusalRecorder], exports: [WebhookIntake, RefusalRecorder] })
export class WebhookCommonModule {}
