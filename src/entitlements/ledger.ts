import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { Clock } from './clock.js';
import type { EntitlementChange, Outcome } from './entitlement.js';
import { EntitlementStore } from './entitlement-store.js';
import type { InboundEvent, LedgerResult } from './inbound-event.js';

/**
 * The one place where entitlements change. Every source ends here with a normalized change;
 * the store applies it exactly once, in source-time order, together with the access summary.
 * Transient store failures surface as `TransientError` (the caller nacks or answers 503).
 */
@Injectable()
export class Ledger {
  constructor(
    private readonly store: EntitlementStore,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  async apply(change: EntitlementChange, event: InboundEvent): Promise<LedgerResult> {
    const result = await this.store.applyChange(change, event, this.clock.now());
    this.logger.info('entitlement change', {
      ...deliveryFields(event),
      eventType: event.eventType,
      outcome: result.outcome,
      entitlementId: result.entitlementId,
      reason: result.reason,
    });
    return result;
  }

  /** Record an event that changes nothing (`ignored`), could not be understood (`invalid`) or could not be carried out (`failed`). */
  async record(
    event: InboundEvent,
    outcome: Exclude<Outcome, 'applied' | 'stale' | 'duplicate'>,
    reason: string,
  ): Promise<LedgerResult> {
    const result = await this.store.recordEvent(event, outcome, reason, this.clock.now());
    const log = outcome === 'ignored' ? this.logger.info.bind(this.logger) : this.logger.warning.bind(this.logger);
    log('inbound event recorded', {
      ...deliveryFields(event),
      eventType: event.eventType,
      outcome: result.outcome,
      reason,
    });
    return result;
  }

  /**
   * Closes the refused record of an event an approver resolved when its changes were applied under
   * keys of their own (one per product); a record already final answers `duplicate`.
   */
  async settle(event: InboundEvent, outcome: Outcome, reason: string): Promise<LedgerResult> {
    const result = await this.store.recordEvent(event, outcome, reason, this.clock.now());
    this.logger.info('inbound event settled', { ...deliveryFields(event), outcome: result.outcome, reason });
    return result;
  }
}

/** What every ledger log line says about the delivery: source, event key, Pub/Sub message id, trace. */
function deliveryFields(event: InboundEvent): Record<string, unknown> {
  const fields: Record<string, unknown> = { source: event.source, eventKey: event.eventKey };
  // The invalid-events metric (docs/operations.md) can break its count down by refused field.
  if (event.refusedFields?.length) fields.fields = event.refusedFields;
  if (event.resolution) fields.resolvedBy = event.resolution.actor.kind;
  if (event.transport.kind.startsWith('pubsub') && event.transport.id) fields.messageId = event.transport.id;
  if (event.trace) fields.trace = event.trace;
  return fields;
}
