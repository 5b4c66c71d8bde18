import { Injectable } from '@nestjs/common';
import { Buffer } from 'node:buffer';
import { AppError } from '../../common/errors/app-error.js';
import { MarketplaceEvents } from '../../marketplace/marketplace-events.service.js';
import { AdminStore } from '../admin-store.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/roles.js';

/** Outcomes the ledger lets run again (ledger-plan: not final). */
const REPLAYABLE = new Set(['invalid', 'failed']);

/**
 * Replays a recorded event through the same path it first took, after the cause is fixed (e.g. a
 * product added to config/products.yaml). Idempotent: the ledger keeps one record per event and
 * re-runs it only while its outcome is invalid or failed; once applied, a replay is refused (409).
 */
@Injectable()
export class EventReplay {
  constructor(
    private readonly admin: AdminStore,
    private readonly events: MarketplaceEvents,
    private readonly audit: AuditTrail,
  ) {}

  replay(principal: Principal, eventId: string) {
    return this.audit.perform(principal, 'event.replay', { type: 'event', id: eventId }, null, async () => {
      const before = await this.admin.getEvent(eventId);
      if (!before) throw new AppError('not_found', `No event ${eventId}`);
      const state = { outcome: before.outcome, reason: before.reason, attempts: before.attempts };
      if (!REPLAYABLE.has(before.outcome)) {
        throw new AppError('conflict', `Only invalid or failed events are replayed; ${eventId} is ${before.outcome}`, {
          event: state,
        });
      }
      if (before.raw === null || before.raw === undefined || before.rawTruncated) {
        throw new AppError('conflict', `The raw payload of ${eventId} was not kept in full; it cannot be replayed`, {
          event: state,
        });
      }
      if (before.source !== 'gcp') {
        // The webhook sources verify a signature over the exact request; their replay path is not built yet.
        throw new AppError('conflict', `Replay of ${before.source} events is not supported yet`, { event: state });
      }
      const result = await this.events.handle({
        data: Buffer.from(before.raw, 'utf8'),
        // The key of a malformed message is derived from the Pub/Sub message id: reuse it so the same record is updated.
        messageId: before.transport.id ?? before.eventKey,
        transport: 'admin',
      });
      const after = await this.admin.getEvent(eventId);
      const body = {
        eventId,
        before: state,
        result,
        after: after ? { outcome: after.outcome, reason: after.reason, attempts: after.attempts } : null,
      };
      return { body, answer: { result, originalTransport: before.transport } };
    });
  }
}
