import {
  FieldValue,
  Firestore,
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Transaction,
} from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { Buffer } from 'node:buffer';
import { AppConfig } from '../../config/app-config.js';
import { TransientError } from '../../common/errors/app-error.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { entitlementId, type EntitlementChange, type Outcome } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import { MAX_RAW_BYTES, type InboundEvent, type LedgerResult } from '../../entitlements/inbound-event.js';
import {
  accessKeysToRead,
  isFinalOutcome,
  planApply,
  type AccessSummary,
  type EntitlementRecord,
} from '../../entitlements/ledger-plan.js';
import { COLLECTIONS, documentId, eventDocumentId } from './collections.js';
import { ALREADY_EXISTS, fromFirestore, isTransientFirestoreError } from './firestore-values.js';

/** How long one ledger transaction may take before the caller is told to retry (Purchasely waits 10 s). */
const TRANSACTION_DEADLINE_MS = 8_000;
/**
 * Attempts per transaction (SDK default 5). Contention inside one instance is queued by
 * `KeyedMutex`; what is left comes from other instances.
 */
const TRANSACTION_ATTEMPTS = 10;

@Injectable()
export class FirestoreEntitlementStore extends EntitlementStore {
  private readonly retentionMs: number;
  /** Transactions still running (also those a caller stopped waiting for), so shutdown can let them settle. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue = new KeyedMutex();

  constructor(
    private readonly db: Firestore,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = config.env.EVENT_RETENTION_DAYS * 86_400_000;
  }

  applyChange(change: EntitlementChange, event: InboundEvent, now: Date): Promise<LedgerResult> {
    const id = entitlementId(change.source, change.externalId);
    const lockKeys = [`e:${id}`, `a:${change.subject.key}`, `ev:${event.source}:${event.eventKey}`];
    return this.run(`apply ${id}`, lockKeys, async (tx) => {
      const eventRef = this.eventRef(event);
      const entitlementRef = this.db.collection(COLLECTIONS.entitlements).doc(documentId(id));
      const accountRef = change.subject.accountId
        ? this.db.collection(COLLECTIONS.accounts).doc(documentId(change.subject.accountId))
        : null;
      const [eventSnap, entitlementSnap, accountSnap] = await tx.getAll(
        ...([eventRef, entitlementRef, accountRef].filter(Boolean) as DocumentReference[]),
      );
      const existing = entitlementSnap?.exists ? fromFirestore<EntitlementRecord>(entitlementSnap.data()) : null;
      const linkedSubjectKey = (accountSnap?.get('linkedSubjectKey') as string | undefined) ?? null;
      const keys = accessKeysToRead(change, existing, linkedSubjectKey);
      const accessSnaps = keys.length ? await tx.getAll(...keys.map((k) => this.accessRef(k))) : [];
      const accessByKey = new Map(
        keys.map((k, i) => [k, accessSnaps[i]?.exists ? fromFirestore<AccessSummary>(accessSnaps[i]!.data()) : null]),
      );

      const plan = planApply({
        change,
        priorEvent: priorOutcome(eventSnap),
        existing,
        linkedSubjectKey,
        accessByKey,
        now,
      });
      if (plan.outcome === 'duplicate') return { outcome: 'duplicate', entitlementId: id };

      const reason = plan.outcome === 'applied' ? undefined : plan.reason;
      this.writeEvent(tx, eventRef, eventSnap, event, plan.outcome, reason, now, id);
      if (plan.outcome !== 'applied') return { outcome: plan.outcome, reason, entitlementId: id };

      tx.set(entitlementRef, plan.entitlement);
      tx.set(entitlementRef.collection(COLLECTIONS.history).doc(eventRef.id), plan.history);
      for (const [key, summary] of plan.access) {
        if (summary) tx.set(this.accessRef(key), summary);
        else tx.delete(this.accessRef(key));
      }
      return { outcome: 'applied', entitlementId: id };
    });
  }

  recordEvent(event: InboundEvent, outcome: Outcome, reason: string, now: Date): Promise<LedgerResult> {
    return this.run(`record ${event.source}:${event.eventKey}`, [`ev:${event.source}:${event.eventKey}`], async (tx) => {
      const ref = this.eventRef(event);
      const snap = await tx.get(ref);
      const prior = priorOutcome(snap);
      if (prior && isFinalOutcome(prior.outcome)) return { outcome: 'duplicate' };
      this.writeEvent(tx, ref, snap, event, outcome, reason, now);
      return { outcome, reason };
    });
  }

  async getEntitlement(id: string): Promise<EntitlementRecord | null> {
    const snap = await this.db.collection(COLLECTIONS.entitlements).doc(documentId(id)).get();
    return snap.exists ? fromFirestore<EntitlementRecord>(snap.data()) : null;
  }

  async getAccess(subjectKey: string): Promise<AccessSummary | null> {
    const snap = await this.accessRef(subjectKey).get();
    return snap.exists ? fromFirestore<AccessSummary>(snap.data()) : null;
  }

  async ping(): Promise<void> {
    await withDeadline(this.db.listCollections(), 3_000, 'Firestore did not answer');
  }

  private eventRef(event: InboundEvent): DocumentReference {
    return this.db.collection(COLLECTIONS.events).doc(eventDocumentId(event.source, event.eventKey));
  }

  private accessRef(subjectKey: string): DocumentReference {
    return this.db.collection(COLLECTIONS.access).doc(documentId(subjectKey));
  }

  private writeEvent(
    tx: Transaction,
    ref: DocumentReference,
    snap: DocumentSnapshot | undefined,
    event: InboundEvent,
    outcome: Outcome,
    reason: string | undefined,
    now: Date,
    entitlementDocId?: string,
  ): void {
    const raw = capRaw(event.raw);
    const data = {
      source: event.source,
      eventKey: event.eventKey,
      eventType: event.eventType,
      transport: event.transport,
      outcome,
      reason: reason ?? null,
      entitlementId: entitlementDocId ?? null,
      raw: raw.text,
      rawTruncated: raw.truncated,
      updatedAt: now,
      expireAt: Timestamp.fromMillis(now.getTime() + this.retentionMs),
    };
    if (snap?.exists) {
      // A replay of an event that was invalid or failed before.
      tx.update(ref, { ...data, attempts: FieldValue.increment(1) });
    } else {
      tx.create(ref, { ...data, receivedAt: now, attempts: 1 });
    }
  }

  /** Waits (bounded) for running transactions to settle; called before the client is closed. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!this.inFlight.size) return;
    await withDeadline(Promise.allSettled([...this.inFlight]), timeoutMs, 'drain').catch(() => undefined);
  }

  private async run(
    what: string,
    lockKeys: string[],
    body: (tx: Transaction) => Promise<LedgerResult>,
  ): Promise<LedgerResult> {
    const transaction = this.queue.run(lockKeys, () =>
      this.db.runTransaction(body, { maxAttempts: TRANSACTION_ATTEMPTS }),
    );
    this.inFlight.add(transaction);
    void transaction.then(
      () => this.inFlight.delete(transaction),
      () => this.inFlight.delete(transaction),
    );
    try {
      return await withDeadline(transaction, TRANSACTION_DEADLINE_MS, `Firestore transaction timed out (${what})`);
    } catch (error) {
      // Two deliveries of one event raced: the other transaction created the record first.
      if ((error as { code?: number }).code === ALREADY_EXISTS) return { outcome: 'duplicate' };
      if (error instanceof TransientError) throw error;
      if (isTransientFirestoreError(error)) throw new TransientError(`Firestore unavailable (${what})`, error);
      throw error;
    }
  }
}

function priorOutcome(snap: DocumentSnapshot | undefined): { outcome: Outcome } | null {
  return snap?.exists ? { outcome: snap.get('outcome') as Outcome } : null;
}

function capRaw(raw: string | undefined): { text: string | null; truncated: boolean } {
  if (raw === undefined) return { text: null, truncated: false };
  const bytes = Buffer.from(raw, 'utf8');
  if (bytes.length <= MAX_RAW_BYTES) return { text: raw, truncated: false };
  return { text: bytes.subarray(0, MAX_RAW_BYTES).toString('utf8'), truncated: true };
}

export async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The abandoned work may still settle (commit or fail) after the deadline; never leave it unhandled.
  promise.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
