import { randomUUID } from 'node:crypto';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
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
  constructor(private readonly logger: AppLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const errorId = randomUUID();
    const { status, body } = this.describe(exception, errorId);
    if (status >= 500) {
      this.logger.failure('request failed', { errorId, status, error: exception });
    } else {
      this.logger.info('request refused', { errorId, status, code: body.code, reason: body.message });
    }
    if (status === 503) response.setHeader('Retry-After', '5');
    if (!response.headersSent) response.status(status).json(body);
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
