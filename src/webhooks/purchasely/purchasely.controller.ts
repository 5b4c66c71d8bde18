import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { header, type HttpRequest } from '../../common/http.js';
import { PURCHASELY_HEADERS } from './purchasely.signature.js';
import { PurchaselyWebhook, type PurchaselyAck } from './purchasely.webhook.js';

/**
 * `POST /webhooks/purchasely`: Purchasely's server-to-server events. 200 for every event the
 * service handled or deliberately ignored (a non-200 pauses that user's events at Purchasely);
 * 401, 400 and 503 come from `PurchaselyWebhook` through the global error filter.
 */
@Controller('webhooks/purchasely')
export class PurchaselyController {
  constructor(private readonly webhook: PurchaselyWebhook) {}

  @Post()
  @HttpCode(200)
  receive(@Req() req: HttpRequest): Promise<PurchaselyAck> {
    return this.webhook.handle({
      rawBody: req.rawBody,
      signature: header(req, PURCHASELY_HEADERS.signature),
      timestamp: header(req, PURCHASELY_HEADERS.timestamp),
      deprecatedSignature: header(req, PURCHASELY_HEADERS.deprecatedSignature),
      client: req.ip,
      url: req.url,
      contentType: header(req, 'content-type'),
    });
  }
}
