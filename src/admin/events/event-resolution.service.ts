import { Buffer } from 'node:buffer';
import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { Clock } from '../../entitlements/clock.js';
import { boundFields, type Resolution } from '../../entitlements/input-rules.js';
import { MARKETPLACE_BOUNDS } from '../../marketplace/entitlement-state.js';
import { MarketplaceEvents } from '../../marketplace/marketplace-events.service.js';
import { WebhookResolver } from '../../webhooks/webhook-resolver.js';
import { AdminStore, type EventRecord } from '../admin-store.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/roles.js';

export interface ResolveRequest {
  /** An explicit end of access, or `null`: explicitly open-ended. */
  validUntil: Date | null;
  validFrom: Date | null;
  reason: string;
}

/**
 * Resolves an event refused for an unusable value in a field that bounds access
 * (docs/input-rules.md) without waiting for the provider to resend: the approver's explicit
 * window stands in for the refused value, and the event goes through the path it first took (the
 * webhook's mapper, or the Marketplace handler re-reading the entitlement) into the one ledger,
 * under its recorded key. Idempotent: the resolved record is final and carries the resolution; a
 * second resolution answers 409. Audited with the actor and reason whatever comes of it.
 */
@Injectable()
export class EventResolution {
  constructor(
    private readonly admin: AdminStore,
    private readonly marketplace: MarketplaceEvents,
    private readonly webhooks: WebhookResolver,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  resolve(principal: Principal, eventId: string, request: ResolveRequest) {
    const target = { type: 'event', id: eventId } as const;
    return this.audit.perform(principal, 'event.resolve', target, request.reason, async () => {
      const before = await this.admin.getEvent(eventId);
      if (!before) throw new AppError('not_found', `No event ${eventId}`);
      const state = summary(before);
      refuseUnlessResolvable(before, state);
      const resolution: Resolution = {
        actor: { kind: principal.kind, id: principal.id },
        reason: request.reason,
        at: this.clock.now(),
        validUntil: request.validUntil,
        validFrom: request.validFrom,
      };
      let result: { outcome: string; reason?: string };
      let overridden: string[];
      if (before.source === 'gcp') {
        overridden = boundFields(MARKETPLACE_BOUNDS, before.refusedFields ?? []);
        if (overridden.includes('newOfferStartTime') && !request.validFrom) {
          throw new AppError('conflict', `The event's newOfferStartTime was refused: give validFrom as well`, {
            event: state,
          });
        }
        // The message is only a pointer: the handler re-reads the entitlement, and the window stands
        // in for whichever bounding time is still unusable.
        result = await this.marketplace.handle({
          data: Buffer.from(before.raw!, 'utf8'),
          messageId: before.transport.id ?? before.eventKey,
          transport: 'admin',
          resolution,
        });
        if (result.outcome === 'invalid') {
          throw new AppError('conflict', `Still refused: ${result.reason ?? 'invalid'}`, { event: state, result });
        }
        if (result.outcome === 'duplicate') {
          throw new AppError('conflict', 'The event was resolved meanwhile by another request', { event: state });
        }
      } else {
        const resolved = await this.webhooks.resolve(
          { source: before.source, eventKey: before.eventKey, raw: before.raw!, refusedFields: before.refusedFields! },
          resolution,
        );
        result = resolved.result;
        overridden = resolved.overridden;
      }
      const after = await this.admin.getEvent(eventId);
      const window = { validUntil: request.validUntil, validFrom: request.validFrom, overridden };
      return {
        body: { eventId, before: state, window, result, after: after ? summary(after) : null },
        answer: { result, window },
      };
    });
  }
}

function summary(e: EventRecord) {
  return {
    outcome: e.outcome,
    reason: e.reason,
    refusedFields: e.refusedFields,
    resolution: e.resolution,
    attempts: e.attempts,
  };
}

function refuseUnlessResolvable(e: EventRecord, state: ReturnType<typeof summary>): void {
  if (e.resolution) {
    throw new AppError(
      'conflict',
      `${e.id} was already resolved by ${e.resolution.actor.kind} ${e.resolution.actor.id} at ${new Date(e.resolution.at).toISOString()}`,
      { event: state },
    );
  }
  if (e.outcome !== 'invalid') {
    throw new AppError('conflict', `Only refused (invalid) events are resolved; ${e.id} is ${e.outcome}`, {
      event: state,
    });
  }
  if (!e.refusedFields?.length) {
    throw new AppError(
      'conflict',
      `${e.id} was not refused for its fields; nothing an approver could supply (fix the cause and replay it)`,
      { event: state },
    );
  }
  if (e.raw === null || e.raw === undefined || e.rawTruncated) {
    throw new AppError('conflict', `The raw payload of ${e.id} was not kept in full; it cannot be resolved`, {
      event: state,
    });
  }
}
