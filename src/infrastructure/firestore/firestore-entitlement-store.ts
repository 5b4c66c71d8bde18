import { Firestore, type DocumentReference, type DocumentSnapshot, type Transaction } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { entitlementId, graceMs, type EntitlementChange, type Outcome } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult, TransportKind } from '../../entitlements/inbound-event.js';
import { TransientError } from '../../common/errors/app-error.js';
import {
  accessKeysToRead,
  changeEvent,
  decisionWaitingEvent,
  isFinalOutcome,
  planApply,
  type AccessSummary,
  type EntitlementRecord,
} from '../../entitlements/ledger-plan.js';
import { linkedSubjectOf, type AccountLinks } from '../../entitlements/subject.js';
import { COLLECTIONS, documentId, eventDocumentId } from './collections.js';
import { eventRef, eventRetentionMs, priorOutcome, writeEventRecord } from './event-records.js';
import { fromFirestore } from './firestore-values.js';
import {
  AlreadyExists,
  Batcher,
  DEFAULT_QUEUE_MS,
  readWithDeadline,
  TransactionRunner,
  withDeadline,
} from './transaction-runner.js';

/**
 * How long a change may wait in this instance's queue for its transaction to start, by who waits for the
 * answer (the transaction then has `TRANSACTION_DEADLINE_MS`, 8 s). Pub/Sub: the client library extends a
 * pulled message's lease while it waits, and Pub/Sub waits for a push answer up to the ack deadline (600 s);
 * the pull consumer reports a handler slow after 60 s. HTTP callers (webhooks, admin API, sign-up, Cloud
 * Scheduler): Purchasely waits 10 s, and a transaction on a hot subject takes well under 1 s, so 5 s in the
 * queue answers within ~6 s; only a transaction that hangs (an outage) makes the answer later than that.
 * A caller that gave up is nacked or answered 503, and the redelivery is applied or found `duplicate`.
 */
export const LEDGER_QUEUE_MS: Readonly<Record<TransportKind, number>> = {
  'pubsub-pull': 30_000,
  'pubsub-push': 30_000,
  webhook: 5_000,
  admin: 5_000,
  signup: 5_000,
  scheduler: 5_000,
};

/**
 * Changes per group-commit transaction at most: each writes up to 5 documents (event record, entitlement,
 * history entry, two outbox entries) and the batch its access documents once, well under Firestore's 500
 * writes per commit; 50 raw payloads of at most 32 KB and a 1 MiB access document stay under the 10 MiB request.
 */
export const MAX_CHANGES_PER_TRANSACTION = 50;

/** A change waiting for its (group-commit) transaction. */
interface PendingChange {
  proposed: EntitlementChange;
  event: InboundEvent;
  now: Date;
  newId: string;
  legacyId: string | null;
  /** Its event record's path: two deliveries of one event never share a transaction (the second sees the first). */
  eventPath: string;
}

/** A change of a batch needs an access document the batch did not read: the batch is run one change at a time. */
class BatchReadMiss extends Error {
  constructor(id: string) {
    super(`access document not read for ${id}`);
  }
}

@Injectable()
export class FirestoreEntitlementStore extends EntitlementStore {
  private readonly retentionMs: number;
  private readonly graceHours: AppConfig['policy']['lifecycle']['graceHours'];
  private readonly changes: Batcher<PendingChange, LedgerResult>;

  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = eventRetentionMs(config);
    this.graceHours = config.policy.lifecycle.graceHours;
    this.changes = runner.batcher<PendingChange, LedgerResult>({
      what: (items) =>
        items.length === 1
          ? `apply ${items[0]!.newId}`
          : `apply ${items.length} changes of one subject: ${items[0]!.newId}, …`,
      maxItems: MAX_CHANGES_PER_TRANSACTION,
      fits: (batch, item) => !batch.some((b) => b.eventPath === item.eventPath),
      body: (tx, items) => this.applyBatch(tx, items),
      // A change that fails alone (a record created by a racing delivery, a bug) must not fail the others.
      splitOnFailure: (error) => !(error instanceof TransientError),
    });
  }

  async applyChange(proposed: EntitlementChange, event: InboundEvent, now: Date): Promise<LedgerResult> {
    const newId = entitlementId(proposed.source, proposed.externalId);
    const legacyId =
      proposed.legacyExternalId && proposed.legacyExternalId !== proposed.externalId
        ? entitlementId(proposed.source, proposed.legacyExternalId)
        : null;
    // Every document the transaction reads on its first round trip is queued on in this instance
    // (the account too: account transactions write it), so none of them waits on the emulator's locks.
    const lockKeys = [`e:${newId}`, `a:${proposed.subject.key}`, `ev:${event.source}:${event.eventKey}`];
    if (legacyId) lockKeys.push(`e:${legacyId}`);
    if (proposed.subject.accountId) lockKeys.push(`acct:${proposed.subject.accountId}`);
    const change: PendingChange = { proposed, event, now, newId, legacyId, eventPath: eventRef(this.db, event).path };
    // Changes of one subject queued here at once are applied in one transaction (group commit, `applyBatch`).
    return this.duplicateOnRace(newId, () =>
      this.changes.submit(
        proposed.subject.key,
        change,
        lockKeys,
        LEDGER_QUEUE_MS[event.transport.kind] ?? DEFAULT_QUEUE_MS,
      ),
    );
  }

  /**
   * Applies `items` (changes of one subject, in arrival order) in one transaction, each exactly as if it
   * ran alone after the ones before it: every document is read once, the changes are planned one after
   * the other on what the earlier ones wrote, and each document is written once with its final state. Each
   * change keeps its own event record, history entry and outbox entries; the access document is written once.
   */
  private async applyBatch(tx: Transaction, items: readonly PendingChange[]): Promise<LedgerResult[]> {
    // One round trip for the usual case: every change's event, entitlement (and legacy id), account and
    // own subject; only a moved or linked subject costs a second read.
    const toRead = new Map<string, DocumentReference>();
    const read = (ref: DocumentReference) => (toRead.set(ref.path, ref), ref);
    for (const item of items) {
      read(eventRef(this.db, item.event));
      read(this.entitlementRef(item.newId));
      if (item.legacyId) read(this.entitlementRef(item.legacyId));
      if (item.proposed.subject.accountId) read(this.accountRef(item.proposed.subject.accountId));
      if (!item.proposed.erase) read(this.accessRef(item.proposed.subject.key));
    }
    const refs = [...toRead.values()];
    const snaps = new Map<string, DocumentSnapshot>();
    (await tx.getAll(...refs)).forEach((snap, i) => snaps.set(refs[i]!.path, snap));

    // What each document holds as the batch goes: first what was read, then what an earlier change wrote.
    const entitlements = new Map<string, EntitlementRecord | null>();
    const entitlementOf = (id: string): EntitlementRecord | null => {
      const path = this.entitlementRef(id).path;
      if (!entitlements.has(path)) {
        const snap = snaps.get(path);
        entitlements.set(path, snap?.exists ? fromFirestore<EntitlementRecord>(snap.data()) : null);
      }
      return entitlements.get(path)!;
    };
    const linkedKeyOf = (item: PendingChange) => {
      const accountId = item.proposed.subject.accountId;
      const snap = accountId ? snaps.get(this.accountRef(accountId).path) : undefined;
      // The order's own link wins over the account's (several orders of one account may go to different users).
      return (
        linkedSubjectOf(snap?.exists ? (snap.data() as AccountLinks) : null, item.proposed.subject.orderId)?.key ?? null
      );
    };
    /** The entitlement a change writes: its id, or the legacy id it was stored under before ids were hashed. */
    const targetOf = (item: PendingChange) => {
      if (!entitlementOf(item.newId) && item.legacyId && item.proposed.legacyExternalId && entitlementOf(item.legacyId))
        // Stored before personal identifiers in ids were hashed, not migrated yet: keep writing there.
        return { id: item.legacyId, change: { ...item.proposed, externalId: item.proposed.legacyExternalId } };
      return { id: item.newId, change: item.proposed };
    };

    /** Access summaries by subject key: read (null: no document), then as the earlier changes left them. */
    const access = new Map<string, AccessSummary | null>();
    for (const item of items) {
      if (item.proposed.erase) continue;
      const snap = snaps.get(this.accessRef(item.proposed.subject.key).path);
      access.set(item.proposed.subject.key, snap?.exists ? fromFirestore<AccessSummary>(snap.data()) : null);
    }
    const missing = new Set<string>();
    for (const item of items) {
      const { id, change } = targetOf(item);
      for (const key of accessKeysToRead(change, entitlementOf(id), linkedKeyOf(item)))
        if (!access.has(key)) missing.add(key);
    }
    if (missing.size) {
      const keys = [...missing];
      (await tx.getAll(...keys.map((k) => this.accessRef(k)))).forEach((snap, i) =>
        access.set(keys[i]!, snap.exists ? fromFirestore<AccessSummary>(snap.data()) : null),
      );
    }

    // All reads are done: plan each change on the state the earlier ones left, then write.
    const results: LedgerResult[] = [];
    const written = new Set<string>();
    const writtenEntitlements = new Map<string, EntitlementRecord>();
    for (const item of items) {
      const evRef = eventRef(this.db, item.event);
      const eventSnap = snaps.get(evRef.path);
      const { id, change } = targetOf(item);
      const entitlementRef = this.entitlementRef(id);
      const existing = entitlementOf(id);
      const linkedSubjectKey = linkedKeyOf(item);
      const keys = accessKeysToRead(change, existing, linkedSubjectKey);
      // An earlier change of the batch moved the entitlement to a subject nobody read: never plan on a guess.
      if (keys.some((k) => !access.has(k))) throw new BatchReadMiss(id);
      const plan = planApply({
        change,
        priorEvent: priorOutcome(eventSnap),
        existing,
        linkedSubjectKey,
        accessByKey: access,
        now: item.now,
        graceMs: graceMs(this.graceHours, change.source),
      });
      if (plan.outcome === 'duplicate') {
        results.push({ outcome: 'duplicate', entitlementId: id });
        continue;
      }
      const reason = plan.outcome === 'applied' ? undefined : plan.reason;
      // A late delivery for an erased entitlement keeps its record (dedup) but nothing of the person.
      const kept = existing?.erasedAt ? { ...item.event, raw: undefined, subjectKeys: [] } : item.event;
      const record = {
        event: kept,
        outcome: plan.outcome,
        reason,
        entitlementId: id,
        now: item.now,
        retentionMs: this.retentionMs,
      };
      writeEventRecord(tx, evRef, eventSnap, record);
      if (plan.outcome !== 'applied') {
        results.push({ outcome: plan.outcome, reason, entitlementId: id });
        continue;
      }

      entitlements.set(entitlementRef.path, plan.entitlement);
      writtenEntitlements.set(entitlementRef.path, plan.entitlement);
      tx.set(entitlementRef.collection(COLLECTIONS.history).doc(evRef.id), plan.history);
      for (const [key, summary] of plan.access) {
        access.set(key, summary);
        written.add(key);
      }
      if (plan.accessChanged) {
        // The outbox entry commits with the change: publishing later can fail without losing it.
        const outboxEntry = changeEvent(evRef.id, plan, change);
        tx.create(this.db.collection(COLLECTIONS.outbox).doc(evRef.id), {
          event: outboxEntry,
          orderingKey: plan.entitlement.id,
          createdAt: item.now,
          publishedAt: null,
          attempts: 0,
        });
      }
      // A purchase or plan change that now waits for a person: told through the outbox too.
      const waiting = decisionWaitingEvent(evRef.id, plan);
      if (waiting) {
        tx.create(this.db.collection(COLLECTIONS.outbox).doc(`${evRef.id}-waiting`), {
          event: waiting,
          orderingKey: plan.entitlement.id,
          createdAt: item.now,
          publishedAt: null,
          attempts: 0,
        });
      }
      results.push({ outcome: 'applied', entitlementId: id, ...(waiting ? { waiting } : {}) });
    }
    // Each entitlement and access document once, with what the last change of the batch left in it.
    for (const [path, record] of writtenEntitlements) tx.set(this.db.doc(path), record);
    for (const key of written) {
      const summary = access.get(key);
      if (summary) tx.set(this.accessRef(key), summary);
      else tx.delete(this.accessRef(key));
    }
    return results;
  }

  recordEvent(event: InboundEvent, outcome: Outcome, reason: string, now: Date): Promise<LedgerResult> {
    return this.duplicateOnRace(undefined, () =>
      this.runner.run(
        `record ${event.source}:${event.eventKey}`,
        [`ev:${event.source}:${event.eventKey}`],
        async (tx) => {
          const ref = eventRef(this.db, event);
          const snap = await tx.get(ref);
          const prior = priorOutcome(snap);
          if (prior && isFinalOutcome(prior.outcome)) return { outcome: 'duplicate' };
          writeEventRecord(tx, ref, snap, { event, outcome, reason, now, retentionMs: this.retentionMs });
          return { outcome, reason };
        },
      ),
    );
  }

  async getEventOutcome(source: string, eventKey: string): Promise<Outcome | null> {
    const snap = await readWithDeadline(
      this.db.collection(COLLECTIONS.events).doc(eventDocumentId(source, eventKey)).get(),
    );
    return snap.exists ? (snap.get('outcome') as Outcome) : null;
  }

  async getEntitlement(id: string): Promise<EntitlementRecord | null> {
    const snap = await readWithDeadline(this.db.collection(COLLECTIONS.entitlements).doc(documentId(id)).get());
    return snap.exists ? fromFirestore<EntitlementRecord>(snap.data()) : null;
  }

  async getAccess(subjectKey: string): Promise<AccessSummary | null> {
    const snap = await readWithDeadline(this.accessRef(subjectKey).get());
    return snap.exists ? fromFirestore<AccessSummary>(snap.data()) : null;
  }

  async ping(): Promise<void> {
    await withDeadline(this.db.listCollections(), 3_000, 'Firestore did not answer');
  }

  private entitlementRef(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.entitlements).doc(documentId(id));
  }

  private accountRef(accountId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.accounts).doc(documentId(accountId));
  }

  private accessRef(subjectKey: string): DocumentReference {
    return this.db.collection(COLLECTIONS.access).doc(documentId(subjectKey));
  }

  private async duplicateOnRace(id: string | undefined, fn: () => Promise<LedgerResult>): Promise<LedgerResult> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof AlreadyExists) return { outcome: 'duplicate', entitlementId: id };
      throw error;
    }
  }
}
