import { randomUUID } from 'node:crypto';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { SOURCES, type Source } from '../../entitlements/entitlement.js';
import { RefusalRecorder } from '../../webhooks/common/refusal-recorder.js';
import { requestPath, type HttpReply, type HttpRequest } from '../http.js';
import { AppLogger } from '../logging/app-logger.js';
import { logContext } from '../logging/log-context.js';
import { requestContext } from '../logging/request-context.js';
import { redactUrlsInText } from '../logging/redact-url.js';
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

/** Refusal counters of the bodies the parser refused, by status. */
const UNPARSED_REASONS: Record<number, string> = {
  400: 'unparsed_body',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/** The one error body of the API: `{ code, message, errorId, details? }`; no stack, no secret. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    private readonly logger: AppLogger,
    private readonly refusals: RefusalRecorder,
    private readonly config: AppConfig,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<HttpRequest>();
    // A body the parser refused is caught outside the request's context (request-context.ts).
    logContext.run(requestContext(request, this.config.env.GOOGLE_CLOUD_PROJECT), () =>
      this.answer(exception, request, host.switchToHttp().getResponse<HttpReply>()),
    );
  }

  private answer(exception: unknown, request: HttpRequest, reply: HttpReply): void {
    const errorId = randomUUID();
    const { status, body } = this.describe(exception, errorId);
    // Nest's 404 (`Cannot GET /webhooks/getcourse/<token>/?email=…`) and any other message may echo the URL.
    body.message = redactUrlsInText(body.message);
    if (isBodyParserError(exception)) {
      if (status === 415) body.message = unsupportedMediaType(request);
      this.countUnparsedWebhook(request, status);
    }
    if (status >= 500) {
      this.logger.failure('request failed', { errorId, status, error: exception });
    } else {
      this.logger.info('request refused', { errorId, status, code: body.code, reason: body.message });
    }
    if (reply.sent) return;
    if (status === 503) reply.header('Retry-After', '5');
    const retryAfter = body.details?.retryAfterSeconds;
    if (status === 429 && typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
    void reply.status(status).send(body);
  }

  /**
   * A webhook body the parser refused (bad JSON, too large, wrong media type) never reaches its
   * controller, and nobody was authenticated: counted and sampled, like any unauthenticated refusal.
   */
  private countUnparsedWebhook(request: HttpRequest, status: number): void {
    const path = requestPath(request);
    const source = path.split('/')[2] as Source | undefined;
    if (!path.startsWith('/webhooks/') || !source || !SOURCES.includes(source)) return;
    this.refusals.count(source, UNPARSED_REASONS[status] ?? `unparsed_${status}`, {
      raw: request.rawBody,
      contentType: request.headers['content-type'],
      url: request.url,
    });
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
    return { status: 500, body: { code: 'internal', message: 'Internal error', errorId } };
  }
}

/** Content types the service parses (bootstrap.ts); any other body is refused with 415 before routing. */
const ACCEPTED_TYPES = 'application/json, application/x-www-form-urlencoded or text/plain';

function unsupportedMediaType(request: HttpRequest): string {
  const type = request.headers['content-type'];
  const named = type ? `Content-Type ${type.slice(0, 100)}` : 'a body without Content-Type';
  return `Unsupported media type: ${named}; expected ${ACCEPTED_TYPES}`;
}

/**
 * A body Fastify refused before any controller saw it: Nest maps Fastify's content-type parser
 * errors (`FST_ERR_CTP_*`: too large, empty, bad media type) and the JSON parser's SyntaxError to an
 * HttpException whose `cause` is the original error.
 */
function isBodyParserError(exception: unknown): boolean {
  if (!(exception instanceof HttpException)) return false;
  const cause = exception.cause as { code?: unknown } | undefined;
  return cause instanceof SyntaxError || (typeof cause?.code === 'string' && cause.code.startsWith('FST_ERR_CTP_'));
}
