import { Firestore, type DocumentReference } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { entitlementId, type EntitlementChange, type Outcome } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import {
  accessKeysToRead,
  changeEvent,
  isFinalOutcome,
  planApply,
  type AccessSummary,
  type EntitlementRecord,
} from '../../entitlements/ledger-plan.js';
import { COLLECTIONS, documentId, eventDocumentId } from './collections.js';
import { eventRef, priorOutcome, writeEventRecord } from './event-records.js';
import { fromFirestore } from './firestore-values.js';
import { AlreadyExists, readWithDeadline, TransactionRunner, withDeadline } from './transaction-runner.js';

@Injectable()
export class FirestoreEntitlementStore extends EntitlementStore {
  private readonly retentionMs: number;

  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = config.env.EVENT_RETENTION_DAYS * 86_400_000;
  }

  async applyChange(change: EntitlementChange, event: InboundEvent, now: Date): Promise<LedgerResult> {
    const id = entitlementId(change.source, change.externalId);
    const lockKeys = [`e:${id}`, `a:${change.subject.key}`, `ev:${event.source}:${event.eventKey}`];
    return this.duplicateOnRace(id, () =>
      this.runner.run(`apply ${id}`, lockKeys, async (tx) => {
        const evRef = eventRef(this.db, event);
        const entitlementRef = this.db.collection(COLLECTIONS.entitlements).doc(documentId(id));
        const accountRef = change.subject.accountId
          ? this.db.collection(COLLECTIONS.accounts).doc(documentId(change.subject.accountId))
          : null;
        const [eventSnap, entitlementSnap, accountSnap] = await tx.getAll(
          ...([evRef, entitlementRef, accountRef].filter(Boolean) as DocumentReference[]),
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
        const record = { event, outcome: plan.outcome, reason, entitlementId: id, now, retentionMs: this.retentionMs };
        writeEventRecord(tx, evRef, eventSnap, record);
        if (plan.outcome !== 'applied') return { outcome: plan.outcome, reason, entitlementId: id };

        tx.set(entitlementRef, plan.entitlement);
        tx.set(entitlementRef.collection(COLLECTIONS.history).doc(evRef.id), plan.history);
        for (const [key, summary] of plan.access) {
          if (summary) tx.set(this.accessRef(key), summary);
          else tx.delete(this.accessRef(key));
        }
        if (plan.accessChanged) {
          // The outbox entry commits with the change: publishing later can fail without losing it.
          const outboxEntry = changeEvent(evRef.id, plan, change);
          tx.create(this.db.collection(COLLECTIONS.outbox).doc(evRef.id), {
            event: outboxEntry,
            orderingKey: plan.entitlement.id,
            createdAt: now,
            publishedAt: null,
            attempts: 0,
          });
        }
        return { outcome: 'applied', entitlementId: id };
      }),
    );
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
