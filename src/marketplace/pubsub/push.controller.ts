import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { TransientError } from '../../common/errors/app-error.js';
import { parseBody } from '../../webhooks/common/zod-body.js';
import { MarketplaceEvents } from '../marketplace-events.service.js';
import { PushAuthGuard } from './push-auth.guard.js';

/** Pub/Sub's push envelope (both the camelCase and snake_case spellings of the message id are sent). */
const pushEnvelope = z.object({
  message: z.looseObject({
    data: z.string().max(200_000).optional(),
    messageId: z.string().min(1).optional(),
    message_id: z.string().min(1).optional(),
    attributes: z.record(z.string(), z.string()).optional(),
  }),
  subscription: z.string().optional(),
  deliveryAttempt: z.number().optional(),
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The push transport for Cloud Run: same handler as pull. 204 acks (handled, duplicate, stale,
 * ignored, or recorded as invalid); 503 nacks so Pub/Sub redelivers after a transient failure.
 */
@Controller('marketplace')
export class PushController {
  constructor(private readonly events: MarketplaceEvents) {}

  @Post('push')
  @HttpCode(204)
  @UseGuards(PushAuthGuard)
  async push(@Body() body: unknown): Promise<void> {
    const envelope = parseBody(pushEnvelope, body);
    const messageId = envelope.message.messageId ?? envelope.message.message_id ?? 'unknown';
    const encoded = envelope.message.data ?? '';
    // Buffer.from(…, 'base64') skips bad characters silently: check first, so bad input is recorded as such.
    const result =
      !BASE64.test(encoded) || encoded.length % 4 !== 0
        ? await this.events.recordMalformed(
            { messageId, transport: 'pubsub-push', raw: encoded },
            'message data is not valid base64',
          )
        : await this.events.handle({ data: Buffer.from(encoded, 'base64'), messageId, transport: 'pubsub-push' });
    if (result.outcome === 'retry') throw new TransientError('message not handled; retry');
  }
}
