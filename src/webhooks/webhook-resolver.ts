import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { AppConfig } from '../config/app-config.js';
import { Catalog } from '../entitlements/catalog.js';
import { Clock } from '../entitlements/clock.js';
import type { Source } from '../entitlements/entitlement.js';
import type { InboundEvent } from '../entitlements/inbound-event.js';
import { boundFields, type Bounds, type Resolution, type WindowOverride } from '../entitlements/input-rules.js';
import { Ledger } from '../entitlements/ledger.js';
import { SubjectKeys } from '../entitlements/subject.js';
import { WebhookIntake, type IntakeResult, type Mapped } from './common/webhook-intake.js';
import { EASYCART_BOUNDS, mapEasyCart, withEasyCartWindow } from './easycart/easycart.mapper.js';
import { GETCOURSE_BOUNDS, mapGetCourse, withGetCourseWindow } from './getcourse/getcourse.mapper.js';
import {
  mapPurchaselyEvent,
  PURCHASELY_BOUNDS,
  purchaselyEventKey,
  readPurchaselyEvent,
  withPurchaselyWindow,
} from './purchasely/purchasely.mapper.js';

export type WebhookSource = Exclude<Source, 'gcp'>;

/** A recorded webhook event refused for its fields, as the admin API hands it over. */
export interface RefusedWebhookEvent {
  source: WebhookSource;
  eventKey: string;
  raw: string;
  refusedFields: readonly string[];
}

export interface ResolvedWebhookEvent {
  result: IntakeResult;
  /** The provider fields the approver's window stood in for. */
  overridden: string[];
}

interface SourceRules {
  bounds: Bounds;
  patch(body: Record<string, unknown>, refused: readonly string[], override: WindowOverride): Record<string, unknown>;
  map(body: Record<string, unknown>): { eventType: string; mapped: Mapped };
}

/**
 * Resolves a webhook event refused for an unusable value in a field that bounds access
 * (docs/input-rules.md): the recorded payload, with the approver's window in place of the refused
 * fields, goes through the source's own mapper and the one ledger under the event's recorded key.
 * The refusal was recorded after the signature or token check, so the payload is authentic.
 */
@Injectable()
export class WebhookResolver {
  private readonly rules: Record<WebhookSource, SourceRules>;

  constructor(
    catalog: Catalog,
    clock: Clock,
    config: AppConfig,
    private readonly intake: WebhookIntake,
    private readonly ledger: Ledger,
    subjects: SubjectKeys,
  ) {
    const resolve = catalog.resolve.bind(catalog);
    this.rules = {
      getcourse: {
        bounds: GETCOURSE_BOUNDS,
        patch: withGetCourseWindow,
        map: (fields) =>
          mapGetCourse(fields, {
            resolve,
            receivedAt: clock.now(),
            timeZone: config.env.GETCOURSE_TIMEZONE,
            subjects,
          }),
      },
      easycart: {
        bounds: EASYCART_BOUNDS,
        patch: withEasyCartWindow,
        map: (body) => mapEasyCart(body, { resolve, receivedAt: clock.now(), subjects }),
      },
      purchasely: {
        bounds: PURCHASELY_BOUNDS,
        patch: withPurchaselyWindow,
        map: (body) => {
          const event = readPurchaselyEvent(body);
          const context = {
            resolve: (product: string, plan: string | null) => resolve('purchasely', product, plan),
            sandbox: config.policy.webhooks.purchasely.sandbox,
          };
          // Keyed like the delivery; the ledger record is the refused one's (see `resolve`).
          return {
            eventType: event.event_name,
            mapped: mapPurchaselyEvent(event, purchaselyEventKey(event, ''), context),
          };
        },
      },
    };
  }

  /** Throws 409 `conflict` when the event cannot be resolved with a window (the message says why). */
  async resolve(event: RefusedWebhookEvent, resolution: Resolution): Promise<ResolvedWebhookEvent> {
    const rules = this.rules[event.source];
    const overridden = boundFields(rules.bounds, event.refusedFields);
    const others = event.refusedFields.filter((f) => !overridden.includes(f));
    if (others.length || !overridden.length) {
      throw new AppError(
        'conflict',
        `The event was refused for ${others.join(', ') || event.refusedFields.join(', ')}: an approver can supply only a start or end of access (${Object.keys(rules.bounds).join(', ')}); the provider must send it again, fixed`,
        { refusedFields: event.refusedFields },
      );
    }
    const startRefused = overridden.some((f) => rules.bounds[f] === 'start');
    if (startRefused && !resolution.validFrom) {
      throw new AppError('conflict', `The event's ${overridden.join(', ')} was refused: give validFrom as well`, {
        refusedFields: event.refusedFields,
      });
    }
    const body = parseRecord(event.raw);
    let remapped: { eventType: string; mapped: Mapped };
    try {
      remapped = rules.map(rules.patch(body, overridden, resolution));
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      throw new AppError('conflict', `Still refused with the approver's window: ${error.message}`, {
        refusedFields: event.refusedFields,
      });
    }
    const { mapped, eventType } = remapped;
    if (mapped.kind === 'invalid') {
      throw new AppError('conflict', `Cannot be applied as configured: ${mapped.reason}`, { reason: mapped.reason });
    }
    const actor = { type: 'admin', id: resolution.actor.id } as const;
    const inbound: InboundEvent = {
      source: event.source,
      eventKey: event.eventKey,
      eventType,
      transport: { kind: 'admin' },
      raw: event.raw,
      resolution,
    };
    const result = await this.intake.accept(
      inbound,
      mapped.kind === 'changes' ? { kind: 'changes', changes: mapped.changes.map((c) => ({ ...c, actor })) } : mapped,
    );
    const settled =
      mapped.kind === 'changes' && mapped.changes.length > 1 ? await this.settle(inbound, result) : result;
    if (settled.outcome === 'duplicate') {
      throw new AppError('conflict', 'The event was resolved meanwhile by another request', { result });
    }
    if (settled.outcome === 'invalid') {
      throw new AppError('conflict', `Not applied: ${result.results.map((r) => r.reason).join('; ')}`, { result });
    }
    return { result, overridden };
  }

  /**
   * A payload of several products was applied under one key per entitlement (`<key>#<id>`): the
   * refused record under the event's own key is closed with the overall outcome and the resolution.
   */
  private async settle(event: InboundEvent, result: IntakeResult): Promise<IntakeResult> {
    const outcomes = result.results.map((r) => r.outcome);
    if (outcomes.includes('invalid')) return { ...result, outcome: 'invalid' };
    // All duplicates: a resolution that stopped before closing this record; it is applied now.
    const outcome = result.outcome === 'duplicate' ? 'applied' : result.outcome;
    const closed = await this.ledger.settle(event, outcome, `resolved: ${outcomes.length} entitlements`);
    return closed.outcome === 'duplicate' ? { ...result, outcome: 'duplicate' } : result;
  }
}

function parseRecord(raw: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AppError('conflict', 'The recorded payload is not a JSON object; it cannot be resolved');
}
