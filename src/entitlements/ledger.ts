import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { logContext, type ContextFields } from '../common/logging/log-context.js';
import { emailsIn } from '../common/personal-data.js';
import { Clock } from './clock.js';
import { entitlementId, type EntitlementChange, type Outcome } from './entitlement.js';
import { EntitlementStore } from './entitlement-store.js';
import type { InboundEvent, LedgerResult } from './inbound-event.js';
import { SubjectKeys } from './subject.js';

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
    private readonly subjects: SubjectKeys,
  ) {}

  async apply(change: EntitlementChange, event: InboundEvent): Promise<LedgerResult> {
    logContext.annotate({ ...contextOf(event), entitlementId: entitlementId(change.source, change.externalId) });
    const result = await this.store.applyChange(change, this.withSubjects(event, change.subject.key), this.clock.now());
    this.logger.info('entitlement change', {
      ...deliveryFields(event),
      eventType: event.eventType,
      outcome: result.outcome,
      entitlementId: result.entitlementId,
      reason: result.reason,
    });
    if (result.waiting) {
      const { decision, product, plan, providerPlan, reason, entitlementId: id, source } = result.waiting;
      // What an alert matches (deploy/monitoring/decision-waiting.policy.yaml): a person must decide.
      this.logger.warning('decision waiting', {
        entitlementId: id,
        source,
        decision,
        product,
        plan,
        providerPlan,
        reason,
      });
    }
    return result;
  }

  /** Record an event that changes nothing (`ignored`), could not be understood (`invalid`) or could not be carried out (`failed`). */
  async record(
    event: InboundEvent,
    outcome: Exclude<Outcome, 'applied' | 'stale' | 'duplicate'>,
    reason: string,
  ): Promise<LedgerResult> {
    logContext.annotate(contextOf(event));
    const result = await this.store.recordEvent(this.withSubjects(event), outcome, reason, this.clock.now());
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
    const result = await this.store.recordEvent(this.withSubjects(event), outcome, reason, this.clock.now());
    this.logger.info('inbound event settled', { ...deliveryFields(event), outcome: result.outcome, reason });
    return result;
  }

  /**
   * The subject keys an event record concerns, so an erasure request finds it (`array-contains`) and
   * removes its raw payload: the change's subject, and by rule every e-mail address in the payload
   * (a buyer, an assignee, a malformed body's fields) as its keyed `emailh:` key, never the address.
   */
  private withSubjects(event: InboundEvent, subjectKey?: string): InboundEvent {
    const keys = new Set<string>(subjectKey ? [subjectKey] : []);
    if (event.raw && this.subjects.configured) {
      for (const email of emailsIn(event.raw, MAX_SUBJECT_KEYS)) keys.add(this.subjects.emailKey(email));
    }
    return keys.size ? { ...event, subjectKeys: [...keys].slice(0, MAX_SUBJECT_KEYS) } : event;
  }
}

/** Subject keys kept on one event record at most (a payload naming more people is cut, not refused). */
const MAX_SUBJECT_KEYS = 20;

/** The delivery's fields every later line carries too (log-context.ts). */
function contextOf(event: InboundEvent): ContextFields {
  const fields: ContextFields = { source: event.source, eventKey: event.eventKey };
  if (event.transport.kind.startsWith('pubsub') && event.transport.id) fields.messageId = event.transport.id;
  return fields;
}

/** What every ledger log line says about the delivery: source, event key, Pub/Sub message id (its trace: log-context.ts). */
function deliveryFields(event: InboundEvent): Record<string, unknown> {
  const fields: Record<string, unknown> = { source: event.source, eventKey: event.eventKey };
  // The invalid-events metric (docs/operations.md) can break its count down by refused field.
  if (event.refusedFields?.length) fields.fields = event.refusedFields;
  if (event.resolution) fields.resolvedBy = event.resolution.actor.kind;
  if (event.transport.kind.startsWith('pubsub') && event.transport.id) fields.messageId = event.transport.id;
  return fields;
}
