import { createHash, randomUUID } from 'node:crypto';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SOURCES, type Source } from '../../entitlements/entitlement.js';
import { Ledger } from '../../entitlements/ledger.js';
import { AppLogger } from '../logging/app-logger.js';
import { AppError, type ErrorCode } from './app-error.js';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  errorId: string;
  details?: Record<string, unknown>;
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

/** The one error body of the API: `{ code, message, errorId, details? }`; no stack, no secret. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    private readonly logger: AppLogger,
    private readonly ledger: Ledger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    const errorId = randomUUID();
    const { status, body } = this.describe(exception, errorId);
    if (isBodyParserError(exception)) this.recordUnparsedWebhook(request, body.message);
    if (status >= 500) {
      this.logger.failure('request failed', { errorId, status, error: exception });
    } else {
      this.logger.info('request refused', { errorId, status, code: body.code, reason: body.message });
    }
    if (status === 503) response.setHeader('Retry-After', '5');
    if (!response.headersSent) response.status(status).json(body);
  }

  /**
   * A webhook body the parser refused (bad JSON, too large) never reaches its controller: record it
   * here, so bad input is on the ledger like every other refused request.
   */
  private recordUnparsedWebhook(request: Request & { rawBody?: Buffer }, reason: string): void {
    const source = request.path.split('/')[2] as Source | undefined;
    if (!request.path.startsWith('/webhooks/') || !source || !SOURCES.includes(source)) return;
    const raw = request.rawBody;
    const eventKey = raw ? `unparsed:${createHash('sha256').update(raw).digest('hex')}` : `unparsed:${randomUUID()}`;
    this.ledger
      .record(
        { source, eventKey, eventType: 'UNPARSED', transport: { kind: 'webhook' }, raw: raw?.toString('utf8') },
        'invalid',
        reason,
      )
      .catch((error: unknown) => this.logger.warning('could not record a refused webhook body', { error }));
  }

  private describe(exception: unknown, errorId: string): { status: number; body: ErrorBody } {
    if (exception instanceof AppError) {
      return {
        status: exception.status,
        body: { code: exception.code, message: exception.message, errorId, details: exception.details },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = HTTP_CODES[status] ?? (status >= 500 ? 'internal' : 'validation_failed');
      const message = status >= 500 ? 'Internal error' : exception.message;
      return { status, body: { code, message, errorId } };
    }
    // body-parser errors (too large, bad JSON) carry `status` and `type` but are not HttpExceptions.
    const bodyParser = exception as { status?: number; type?: string; expose?: boolean; message?: string };
    if (bodyParser?.expose && typeof bodyParser.status === 'number' && bodyParser.status < 500) {
      const code = HTTP_CODES[bodyParser.status] ?? 'validation_failed';
      return { status: bodyParser.status, body: { code, message: bodyParser.message ?? 'Bad request', errorId } };
    }
    return { status: 500, body: { code: 'internal', message: 'Internal error', errorId } };
  }
}

/** body-parser's errors (`type: 'entity.parse.failed'`, `'entity.too.large'`, …), as Nest wraps them (`cause`) or not. */
function isBodyParserError(exception: unknown): boolean {
  const candidates = [exception, (exception as { cause?: unknown })?.cause];
  return candidates.some((e) => {
    const type = (e as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' && type.startsWith('entity.');
  });
}
