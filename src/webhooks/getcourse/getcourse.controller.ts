import { createHash } from 'node:crypto';
import { Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { Catalog } from '../../entitlements/catalog.js';
import { Clock } from '../../entitlements/clock.js';
import { SubjectKeys } from '../../entitlements/subject.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import { RefusalRecorder } from '../common/refusal-recorder.js';
import { WebhookIntake } from '../common/webhook-intake.js';
import { mapGetCourse, type MappedGetCourse } from './getcourse.mapper.js';
import { getCourseFields } from './getcourse.schema.js';
import { GetCourseSettings } from './getcourse.settings.js';
import { verifyGetCourseToken } from './getcourse.token.js';
import type { HttpRequest } from '../../common/http.js';

export interface GetCourseAnswer {
  outcome: LedgerResult['outcome'];
  eventKey: string;
  results: LedgerResult[];
}

/**
 * GetCourse «Call URL» callbacks: `GET|POST /webhooks/getcourse/<token>?event=…` with the fields
 * in the query, a form or a JSON body. The contract is ours: docs/integrations/getcourse.md.
 */
@Controller('webhooks/getcourse')
export class GetCourseController {
  constructor(
    private readonly intake: WebhookIntake,
    private readonly refusals: RefusalRecorder,
    private readonly catalog: Catalog,
    private readonly subjects: SubjectKeys,
    private readonly clock: Clock,
    private readonly settings: GetCourseSettings,
    private readonly logger: AppLogger,
  ) {}

  @Get(':token')
  @HttpCode(200)
  receiveGet(@Req() req: HttpRequest, @Param('token') token: string): Promise<GetCourseAnswer> {
    return this.handle(req, token);
  }

  @Post(':token')
  @HttpCode(200)
  receivePost(@Req() req: HttpRequest, @Param('token') token: string): Promise<GetCourseAnswer> {
    return this.handle(req, token);
  }

  /** Without the path token: refused (and recorded) like a wrong one. */
  @Get()
  receiveGetWithoutToken(@Req() req: HttpRequest): Promise<GetCourseAnswer> {
    return this.handle(req, undefined);
  }

  @Post()
  receivePostWithoutToken(@Req() req: HttpRequest): Promise<GetCourseAnswer> {
    return this.handle(req, undefined);
  }

  private async handle(req: HttpRequest, token: string | undefined): Promise<GetCourseAnswer> {
    const fields = getCourseFields(req.query, req.body);
    // The secret lives in the path; a `token` field is never used, and never stored.
    delete fields.token;
    const raw = JSON.stringify(fields);
    const verdict = verifyGetCourseToken(this.settings.pathToken, token);
    if (!verdict.ok) {
      // Not authenticated: counted and sampled, never written per request (docs/operations.md, "Security").
      throw this.refusals.refuseUnverified(
        'getcourse',
        verdict.problem,
        req.ip,
        { raw, contentType: req.headers['content-type'], url: req.url },
        verdict.problem === 'not_configured'
          ? new AppError('not_found', 'GetCourse callbacks are not enabled on this service')
          : new AppError('unauthenticated', 'Invalid or missing callback token'),
      );
    }

    let result: MappedGetCourse;
    try {
      result = mapGetCourse(fields, {
        resolve: (...args) => this.catalog.resolve(...args),
        receivedAt: this.clock.now(),
        timeZone: this.settings.timeZone,
        subjects: this.subjects,
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const eventKey = `malformed:${sha256(raw)}`;
      const recorded = await this.refuse(eventKey, claimedEvent(fields), raw, error);
      // Already final under this key: an approver resolved it (docs/input-rules.md). The repeat is a duplicate.
      if (recorded?.outcome === 'duplicate') return { outcome: 'duplicate', eventKey, results: [recorded] };
      throw error;
    }
    const event = inbound(result.eventKey, result.eventType, raw);
    const intake = await this.intake.accept(event, result.mapped);
    return {
      outcome: intake.outcome,
      eventKey: result.eventKey,
      results: intake.results,
    };
  }

  /** Records a callback refused for its fields (named on the record); the 400 stands even if the ledger cannot be written. */
  private async refuse(
    eventKey: string,
    eventType: string,
    raw: string,
    error: AppError,
  ): Promise<LedgerResult | null> {
    try {
      return await this.intake.refuse(inbound(eventKey, eventType, raw), error);
    } catch (failure) {
      this.logger.warning('could not record a refused GetCourse callback', {
        eventKey,
        reason: error.message,
        error: failure,
      });
      return null;
    }
  }

  /** Records a refused request; the refusal stands even if the ledger cannot be written. */
  private async reject(eventKey: string, eventType: string, raw: string, reason: string): Promise<void> {
    try {
      await this.intake.reject(inbound(eventKey, eventType, raw), reason);
    } catch (error) {
      this.logger.warning('could not record a refused GetCourse callback', {
        eventKey,
        reason,
        error,
      });
    }
  }
}

/** `raw` is the merged field record as JSON: what `mapGetCourse` takes, so a replay can re-run it. */
function inbound(eventKey: string, eventType: string, raw: string): InboundEvent {
  return {
    source: 'getcourse',
    eventKey,
    eventType,
    transport: { kind: 'webhook' },
    raw,
  };
}

function claimedEvent(fields: Record<string, unknown>): string {
  return typeof fields.event === 'string' && fields.event.trim() ? fields.event.trim().slice(0, 64) : 'unknown';
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
