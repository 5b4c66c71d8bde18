import {
  FieldValue,
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Transaction,
} from '@google-cloud/firestore';
import { Buffer } from 'node:buffer';
import type { Outcome } from '../../entitlements/entitlement.js';
import { MAX_RAW_BYTES, type InboundEvent } from '../../entitlements/inbound-event.js';
import { isFinalOutcome } from '../../entitlements/ledger-plan.js';
import type { AppConfig } from '../../config/app-config.js';
import { COLLECTIONS, eventDocumentId } from './collections.js';

/** How long an inbound event record lives before Firestore's TTL policy removes it (`EVENT_RETENTION_DAYS`). */
export function eventRetentionMs(config: AppConfig): number {
  return config.env.EVENT_RETENTION_DAYS * 86_400_000;
}

export function eventRef(db: Firestore, event: InboundEvent): DocumentReference {
  return db.collection(COLLECTIONS.events).doc(eventDocumentId(event.source, event.eventKey));
}

export function priorOutcome(snap: DocumentSnapshot | undefined): { outcome: Outcome } | null {
  return snap?.exists ? { outcome: snap.get('outcome') as Outcome } : null;
}

/**
 * Writes the event ledger record: `create()` the first time, an update on a replay of an invalid or failed event.
 * `refusedFields` is written when a refusal names them and kept afterwards; an approver's `resolution` only
 * with a final outcome (a resolution that is refused again leaves the event unresolved).
 */
export function writeEventRecord(
  tx: Transaction,
  ref: DocumentReference,
  snap: DocumentSnapshot | undefined,
  record: {
    event: InboundEvent;
    outcome: Outcome;
    reason?: string;
    entitlementId?: string;
    now: Date;
    retentionMs: number;
  },
): void {
  const { event, outcome, reason, entitlementId, now, retentionMs } = record;
  const raw = capRaw(event.raw);
  const data = {
    source: event.source,
    eventKey: event.eventKey,
    eventType: event.eventType,
    transport: event.transport,
    outcome,
    reason: reason ?? null,
    entitlementId: entitlementId ?? null,
    raw: raw.text,
    rawTruncated: raw.truncated,
    subjectKeys: event.subjectKeys ?? [],
    updatedAt: now,
    expireAt: Timestamp.fromMillis(now.getTime() + retentionMs),
    ...(event.refusedFields?.length ? { refusedFields: event.refusedFields } : {}),
    ...(event.resolution && isFinalOutcome(outcome) ? { resolution: event.resolution } : {}),
  };
  if (snap?.exists) tx.update(ref, { ...data, attempts: FieldValue.increment(1) });
  else tx.create(ref, { ...data, receivedAt: now, attempts: 1 });
}

function capRaw(raw: string | undefined): { text: string | null; truncated: boolean } {
  if (raw === undefined) return { text: null, truncated: false };
  const bytes = Buffer.from(raw, 'utf8');
  if (bytes.length <= MAX_RAW_BYTES) return { text: raw, truncated: false };
  return { text: bytes.subarray(0, MAX_RAW_BYTES).toString('utf8'), truncated: true };
}
