import type { EntitlementChange, Outcome } from './entitlement.js';
import type { InboundEvent, LedgerResult } from './inbound-event.js';
import type { AccessSummary, EntitlementRecord } from './ledger-plan.js';

/** Persistence port of the ledger. The Firestore adapter implements it; nothing else touches the SDK. */
export abstract class EntitlementStore {
  /**
   * Apply one change and record its event in a single transaction (dedup, stale guard, access summary); changes of
   * one subject arriving at once may share that transaction, each with the outcome it would have alone.
   */
  abstract applyChange(change: EntitlementChange, event: InboundEvent, now: Date): Promise<LedgerResult>;
  /** Record an event that changes no entitlement (ignored, invalid, failed); a repeat of a final record is a duplicate. */
  abstract recordEvent(event: InboundEvent, outcome: Outcome, reason: string, now: Date): Promise<LedgerResult>;
  /** The recorded outcome of an inbound event, or null if it was never recorded. */
  abstract getEventOutcome(source: string, eventKey: string): Promise<Outcome | null>;
  abstract getEntitlement(id: string): Promise<EntitlementRecord | null>;
  abstract getAccess(subjectKey: string): Promise<AccessSummary | null>;
  /** Cheap round trip for readiness. */
  abstract ping(): Promise<void>;
}
