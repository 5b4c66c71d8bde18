import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { AppConfig } from '../../config/app-config.js';
import { Catalog } from '../../entitlements/catalog.js';
import { Clock } from '../../entitlements/clock.js';
import type { Outcome } from '../../entitlements/entitlement.js';
import type { InboundEvent } from '../../entitlements/inbound-event.js';
import { RefusalRecorder } from '../common/refusal-recorder.js';
import { WebhookIntake } from '../common/webhook-intake.js';
import { mapPurchaselyEvent, purchaselyEventKey, rawBodyKey, readPurchaselyEvent } from './purchasely.mapper.js';
import type { PurchaselyEvent } from './purchasely.schema.js';
import { verifyPurchaselySignature, type PurchaselySignedRequest } from './purchasely.signature.js';

export interface PurchaselyDelivery extends Omit<PurchaselySignedRequest, 'rawBody'> {
  /** `undefined` when the body parser kept no raw body (a content type other than JSON or text). */
  rawBody: Buffer | undefined;
  /** The client's address (rate limit of refused requests), the request URL and its Content-Type (samples). */
  client: string;
  url: string;
  contentType?: string;
}

/** What the endpoint answers with 200: the ledger's outcome (Purchasely only needs the status). */
export interface PurchaselyAck {
  outcome: Outcome;
  eventKey: string;
  entitlementId?: string;
  reason?: string;
}

/** Event type recorded when a body carries no usable `event_name`. */
const UNKNOWN_EVENT = 'UNKNOWN';

/**
 * One Purchasely delivery: verify, validate, map, hand to the ledger. Answers (through
 * `AppError`) 503 when no secret is configured, 401 on a bad signature, 400 on a body that is not
 * a Purchasely v3 event; everything the ledger decides (applied, duplicate, stale, ignored,
 * invalid) is a 200. Store failures surface as TransientError (503) so Purchasely retries.
 */
@Injectable()
export class PurchaselyWebhook {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly catalog: Catalog,
    private readonly intake: WebhookIntake,
    private readonly refusals: RefusalRecorder,
    private readonly logger: AppLogger,
  ) {}

  async handle(delivery: PurchaselyDelivery): Promise<PurchaselyAck> {
    const secrets = this.config.env.PURCHASELY_SECRETS ?? [];
    if (!secrets.length) {
      // 503, not 404: Purchasely keeps retrying (up to ~20 days) instead of dropping the event.
      throw new AppError(
        'unavailable',
        'The Purchasely webhook is not configured on this service (PURCHASELY_SECRETS is not set)',
      );
    }
    const { rawBody } = delivery;
    if (!rawBody) {
      throw new AppError('validation_failed', 'Invalid payload: (body): expected Content-Type: application/json', {
        fields: [{ field: '(body)', problem: 'expected Content-Type: application/json' }],
      });
    }
    const raw = rawBody.toString('utf8');
    const json = parseJson(raw);

    const verdict = verifyPurchaselySignature(
      { ...delivery, rawBody },
      {
        secrets,
        now: this.clock.now(),
        toleranceSeconds: this.config.policy.webhooks.timestampToleranceSeconds,
        allowDeprecated: this.config.env.PURCHASELY_ALLOW_DEPRECATED_SIGNATURES,
      },
    );
    if (!verdict.ok) {
      // Not authenticated: counted and sampled, never written per request (docs/operations.md, "Security").
      throw this.refusals.refuseUnverified(
        'purchasely',
        verdict.problem,
        delivery.client,
        {
          raw: rawBody,
          contentType: delivery.contentType,
          url: delivery.url,
          signed: delivery.signature !== undefined,
        },
        new AppError('unauthenticated', `Purchasely signature rejected: ${verdict.reason}`),
      );
    }
    if (verdict.scheme !== 'timestamp-body') {
      this.logger.warning('Purchasely request accepted with a deprecated signature scheme', {
        source: 'purchasely',
        scheme: verdict.scheme,
      });
    }

    const read = await this.validate(json, raw);
    if (!read.ok) return read.ack;
    const payload = read.event;
    const eventKey = purchaselyEventKey(payload, raw);
    const mapped = mapPurchaselyEvent(payload, eventKey, {
      resolve: (product, plan) => this.catalog.resolve('purchasely', product, plan),
      sandbox: this.config.policy.webhooks.purchasely.sandbox,
    });
    const { outcome, results } = await this.intake.accept(this.inbound(eventKey, payload.event_name, raw), mapped);
    const first = results[0];
    return { outcome, eventKey, entitlementId: first?.entitlementId, reason: first?.reason };
  }

  /**
   * Schema and strict-expiry check of a verified body; a refusal is recorded `invalid` with the
   * fields it names before the 400 (which Purchasely retries). Once an approver has resolved that
   * event (docs/input-rules.md), its record is final and the retry is acknowledged as a duplicate.
   */
  private async validate(
    json: unknown,
    raw: string,
  ): Promise<{ ok: true; event: PurchaselyEvent } | { ok: false; ack: PurchaselyAck }> {
    try {
      if (json === undefined) {
        throw new AppError('validation_failed', 'Invalid payload: (body): not JSON', {
          fields: [{ field: '(body)', problem: 'not JSON' }],
        });
      }
      return { ok: true, event: readPurchaselyEvent(json) };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { eventId, eventName } = looseFields(json);
      const eventKey = eventId ?? rawBodyKey(raw);
      const recorded = await this.intake.refuse(this.inbound(eventKey, eventName ?? UNKNOWN_EVENT, raw), error);
      if (recorded.outcome === 'duplicate') return { ok: false, ack: { outcome: 'duplicate', eventKey } };
      throw error;
    }
  }

  private inbound(eventKey: string, eventType: string, raw: string): InboundEvent {
    return { source: 'purchasely', eventKey, eventType, transport: { kind: 'webhook', id: eventKey }, raw };
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** `event_id` and `event_name` of a body that did not pass the schema, when they look usable. */
function looseFields(json: unknown): { eventId?: string; eventName?: string } {
  if (!json || typeof json !== 'object') return {};
  const { event_id: id, event_name: name } = json as Record<string, unknown>;
  const usable = (v: unknown, max: number) =>
    typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
  return { eventId: usable(id, 256), eventName: usable(name, 100) };
}
