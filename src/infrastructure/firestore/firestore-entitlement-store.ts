import { Firestore, type DocumentReference } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { entitlementId, graceMs, type EntitlementChange, type Outcome } from '../../entitlements/entitlement.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
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
import { AlreadyExists, readWithDeadline, TransactionRunner, withDeadline } from './transaction-runner.js';

@Injectable()
export class FirestoreEntitlementStore extends EntitlementStore {
  private readonly retentionMs: number;
  private readonly graceHours: AppConfig['policy']['lifecycle']['graceHours'];

  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = eventRetentionMs(config);
    this.graceHours = config.policy.lifecycle.graceHours;
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
    return this.duplicateOnRace(newId, () =>
      this.runner.run(`apply ${newId}`, lockKeys, async (tx) => {
        let change = proposed;
        let id = newId;
        const evRef = eventRef(this.db, event);
        let entitlementRef = this.entitlementRef(newId);
        const legacyRef = legacyId ? this.entitlementRef(legacyId) : null;
        const accountRef = change.subject.accountId
          ? this.db.collection(COLLECTIONS.accounts).doc(documentId(change.subject.accountId))
          : null;
        // One round trip for the usual case: the change's own subject is read with the rest; only a
        // moved or linked subject costs a second read.
        const likelyKey = change.erase ? null : change.subject.key;
        const likelyRef = likelyKey ? this.accessRef(likelyKey) : null;
        const refs = [evRef, entitlementRef, legacyRef, accountRef, likelyRef];
        const present = refs.filter(Boolean) as DocumentReference[];
        const snaps = await tx.getAll(...present);
        const snapOf = (ref: DocumentReference | null) => (ref ? snaps[present.indexOf(ref)] : undefined);
        const eventSnap = snapOf(evRef);
        let entitlementSnap = snapOf(entitlementRef);
        const legacySnap = snapOf(legacyRef);
        if (!entitlementSnap?.exists && legacySnap?.exists && legacyRef && proposed.legacyExternalId) {
          // Stored before personal identifiers in ids were hashed, not migrated yet: keep writing there.
          change = { ...proposed, externalId: proposed.legacyExternalId };
          id = legacyId!;
          entitlementRef = legacyRef;
          entitlementSnap = legacySnap;
        }
        const accountSnap = snapOf(accountRef);
        const likelySnap = snapOf(likelyRef);
        const existing = entitlementSnap?.exists ? fromFirestore<EntitlementRecord>(entitlementSnap.data()) : null;
        // The order's own link wins over the account's (several orders of one account may go to different users).
        const linkedSubjectKey =
          linkedSubjectOf(accountSnap?.exists ? (accountSnap.data() as AccountLinks) : null, change.subject.orderId)
            ?.key ?? null;
        const keys = accessKeysToRead(change, existing, linkedSubjectKey);
        const accessByKey = new Map<string, AccessSummary | null>();
        if (likelyKey && likelySnap)
          accessByKey.set(likelyKey, likelySnap.exists ? fromFirestore<AccessSummary>(likelySnap.data()) : null);
        const missing = keys.filter((k) => !accessByKey.has(k));
        const more = missing.length ? await tx.getAll(...missing.map((k) => this.accessRef(k))) : [];
        missing.forEach((k, i) =>
          accessByKey.set(k, more[i]?.exists ? fromFirestore<AccessSummary>(more[i]!.data()) : null),
        );

        const plan = planApply({
          change,
          priorEvent: priorOutcome(eventSnap),
          existing,
          linkedSubjectKey,
          accessByKey,
          now,
          graceMs: graceMs(this.graceHours, change.source),
        });
        if (plan.outcome === 'duplicate') return { outcome: 'duplicate', entitlementId: id };

        const reason = plan.outcome === 'applied' ? undefined : plan.reason;
        // A late delivery for an erased entitlement keeps its record (dedup) but nothing of the person.
        const kept = existing?.erasedAt ? { ...event, raw: undefined, subjectKeys: [] } : event;
        const record = {
          event: kept,
          outcome: plan.outcome,
          reason,
          entitlementId: id,
          now,
          retentionMs: this.retentionMs,
        };
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
        // A purchase or plan change that now waits for a person: told through the outbox too.
        const waiting = decisionWaitingEvent(evRef.id, plan);
        if (waiting) {
          tx.create(this.db.collection(COLLECTIONS.outbox).doc(`${evRef.id}-waiting`), {
            event: waiting,
            orderingKey: plan.entitlement.id,
            createdAt: now,
            publishedAt: null,
            attempts: 0,
          });
        }
        return { outcome: 'applied', entitlementId: id, ...(waiting ? { waiting } : {}) };
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

  private entitlementRef(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.entitlements).doc(documentId(id));
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
