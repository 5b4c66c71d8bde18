import type { Outcome, Source } from './entitlement.js';
import type { Resolution } from './input-rules.js';
import type { DecisionWaitingEvent } from './ledger-plan.js';

export type TransportKind = 'pubsub-pull' | 'pubsub-push' | 'webhook' | 'admin' | 'scheduler' | 'signup';

/** What the event ledger keeps of every inbound event, whatever its outcome. */
export interface InboundEvent {
  source: Source;
  /** Dedup key within the source: the provider's event id, or a derived key (docs/firestore.md). */
  eventKey: string;
  eventType: string;
  transport: { kind: TransportKind; id?: string };
  /** The raw payload as received (the ledger caps its size), for audit and replay. */
  raw?: string;
  /** Subject keys the event concerns (set by the Ledger; erasure looks them up), never personal data itself. */
  subjectKeys?: string[];
  /** A refused input: the fields the refusal names (docs/input-rules.md), kept on the event record. */
  refusedFields?: string[];
  /** An approver's resolution of a refused event (admin API); kept on the record once the outcome is final. */
  resolution?: Resolution;
}

/** Largest raw payload kept in an event record; larger payloads are cut and flagged. */
export const MAX_RAW_BYTES = 32 * 1024;

export interface LedgerResult {
  outcome: Outcome;
  reason?: string;
  entitlementId?: string;
  /** The change left a decision to a person (an outbound `decision.waiting` event was written). */
  waiting?: DecisionWaitingEvent;
}
