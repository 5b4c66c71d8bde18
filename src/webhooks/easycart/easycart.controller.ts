import { createHash } from 'node:crypto';
import { Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import type { HttpRequest } from '../../common/http.js';
import { AppConfig } from '../../config/app-config.js';
import { Catalog } from '../../entitlements/catalog.js';
import { Clock } from '../../entitlements/clock.js';
import { SubjectKeys } from '../../entitlements/subject.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import { RefusalRecorder } from '../common/refusal-recorder.js';
import { WebhookIntake } from '../common/webhook-intake.js';
import { mapEasyCart, type MappedEasyCart } from './easycart.mapper.js';
import { verifyEasyCartRequest, type EasyCartCredentials, type EasyCartVerdict } from './easycart.signature.js';

export interface EasyCartAnswer {
  outcome: LedgerResult['outcome'];
  eventKey: string;
  results: LedgerResult[];
}

/**
 * `POST /webhooks/easycart` (signed with `X-Webhook-Signature`) and `POST /webhooks/easycart/:token`
 * (stores without a signing key). Every authenticated request ends in the event ledger, malformed
 * ones included; unauthenticated ones are counted by the RefusalRecorder.
 */
@Controller('webhooks/easycart')
export class EasyCartController {
  private readonly credentials: EasyCartCredentials;

  constructor(
    private readonly intake: WebhookIntake,
    private readonly refusals: RefusalRecorder,
    private readonly catalog: Catalog,
    private readonly subjects: SubjectKeys,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.credentials = {
      signingKeys: config.env.EASYCART_SIGNING_KEYS ?? [],
      urlToken: config.env.EASYCART_URL_TOKEN,
    };
  }

  @Post()
  @HttpCode(200)
  receive(
    @Req() req: HttpRequest,
    @Headers('x-webhook-signature') signature: string | undefined,
  ): Promise<EasyCartAnswer> {
    return this.handle(req, signature, undefined);
  }

  @Post(':token')
  @HttpCode(200)
  receiveWithToken(
    @Req() req: HttpRequest,
    @Headers('x-webhook-signature') signature: string | undefined,
    @Param('token') token: string,
  ): Promise<EasyCartAnswer> {
    return this.handle(req, signature, token);
  }

  private async handle(
    req: HttpRequest,
    signature: string | undefined,
    pathToken: string | undefined,
  ): Promise<EasyCartAnswer> {
    const raw = req.rawBody ?? Buffer.alloc(0);
    const body = parseJson(raw);
    const verdict = verifyEasyCartRequest(this.credentials, {
      signature,
      pathToken,
      rawBody: raw,
      compactBody: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!verdict.ok) {
      // Not authenticated: counted and sampled, never written per request (docs/operations.md, "Security").
      throw this.refusals.refuseUnverified(
        'easycart',
        verdict.problem,
        req.ip,
        { raw, contentType: req.headers['content-type'], url: req.url, signed: signature !== undefined },
        refusal(verdict.problem),
      );
    }
    if (body === undefined) {
      const error = new AppError('validation_failed', 'Invalid payload: (body): must be a JSON object', {
        fields: [{ field: '(body)', problem: 'must be a JSON object' }],
      });
      await this.refuse(`malformed:${sha256(raw)}`, 'unknown', raw, error);
      throw error;
    }

    let result: MappedEasyCart;
    try {
      result = mapEasyCart(body, {
        resolve: (...args) => this.catalog.resolve(...args),
        receivedAt: this.clock.now(),
        subjects: this.subjects,
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const eventKey = `malformed:${sha256(raw)}`;
      const recorded = await this.refuse(eventKey, claimedEvent(body), raw, error);
      // Already final under this key: an approver resolved it (docs/input-rules.md). The repeat is a duplicate.
      if (recorded?.outcome === 'duplicate') return { outcome: 'duplicate' as const, eventKey, results: [recorded] };
      throw error;
    }
    const event = this.inbound(result.eventKey, result.eventType, raw);
    const intake = await this.intake.accept(event, result.mapped);
    return {
      outcome: intake.outcome,
      eventKey: result.eventKey,
      results: intake.results,
    };
  }

  private inbound(eventKey: string, eventType: string, raw: Buffer): InboundEvent {
    return {
      source: 'easycart',
      eventKey,
      eventType,
      transport: { kind: 'webhook' },
      raw: raw.toString('utf8'),
    };
  }

  /** Records a request refused for its fields (named on the record); the 400 stands even if the ledger cannot be written. */
  private async refuse(
    eventKey: string,
    eventType: string,
    raw: Buffer,
    error: AppError,
  ): Promise<LedgerResult | null> {
    try {
      return await this.intake.refuse(this.inbound(eventKey, eventType, raw), error);
    } catch (failure) {
      this.logger.warning('could not record a refused EasyCart request', {
        eventKey,
        reason: error.message,
        error: failure,
      });
      return null;
    }
  }

  /** Records a refused request; the refusal stands even if the ledger cannot be written. */
  private async reject(eventKey: string, eventType: string, raw: Buffer, reason: string): Promise<void> {
    try {
      await this.intake.reject(this.inbound(eventKey, eventType, raw), reason);
    } catch (error) {
      this.logger.warning('could not record a refused EasyCart request', {
        eventKey,
        reason,
        error,
      });
    }
  }
}

function refusal(problem: Exclude<EasyCartVerdict, { ok: true }>['problem']): AppError {
  if (problem === 'not_configured') {
    // Never accept unsigned deliveries: without a key or a URL token the endpoint is off.
    return new AppError('not_found', 'EasyCart webhooks are not enabled on this service');
  }
  const what = problem === 'missing_token' || problem === 'bad_token' ? 'token' : 'signature';
  return new AppError('unauthenticated', `Invalid or missing webhook ${what}`);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The `event` an unverified or malformed body claims, for the ledger record only. */
function claimedEvent(body: unknown): string {
  const event = (body as { event?: unknown } | undefined)?.event;
  return typeof event === 'string' && event ? event.slice(0, 64) : 'unknown';
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
