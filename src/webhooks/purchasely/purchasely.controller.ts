import { Controller, HttpCode, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { traceFromHeader } from '../../common/logging/log-context.js';
import { AppConfig } from '../../config/app-config.js';
import { PURCHASELY_HEADERS } from './purchasely.signature.js';
import { PurchaselyWebhook, type PurchaselyAck } from './purchasely.webhook.js';

/**
 * `POST /webhooks/purchasely`: Purchasely's server-to-server events. 200 for every event the
 * service handled or deliberately ignored (a non-200 pauses that user's events at Purchasely);
 * 401, 400 and 503 come from `PurchaselyWebhook` through the global error filter.
 */
@Controller('webhooks/purchasely')
export class PurchaselyController {
  constructor(
    private readonly webhook: PurchaselyWebhook,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(200)
  receive(@Req() req: RawBodyRequest<Request>): Promise<PurchaselyAck> {
    return this.webhook.handle({
      rawBody: req.rawBody,
      signature: req.get(PURCHASELY_HEADERS.signature),
      timestamp: req.get(PURCHASELY_HEADERS.timestamp),
      deprecatedSignature: req.get(PURCHASELY_HEADERS.deprecatedSignature),
      trace: traceFromHeader(req.get('x-cloud-trace-context'), this.config.env.GOOGLE_CLOUD_PROJECT),
    });
  }
}
