import {
  FieldPath,
  FieldValue,
  Firestore,
  type CollectionReference,
  type DocumentSnapshot,
  type Query,
} from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { TransientError } from '../../common/errors/app-error.js';
import {
  AdminStore,
  type ActionRecord,
  type AuditEntry,
  type AccountSummary,
  type AuditRecord,
  type EntitlementFilter,
  type EventCount,
  type EventFilter,
  type EventRecord,
  type Page,
  type PageRequest,
} from '../../admin/admin-store.js';
import { OUTCOMES, SOURCES } from '../../entitlements/entitlement.js';
import type { EntitlementRecord, HistoryEntry } from '../../entitlements/ledger-plan.js';
import type { LifecycleRun, RecordedJob } from '../../lifecycle/lifecycle-store.js';
import type { SignupState } from '../../marketplace/events/accounts.js';
import { COLLECTIONS, documentId } from './collections.js';
import { fromFirestore, isTransientFirestoreError } from './firestore-values.js';
import { readWithDeadline, withDeadline } from './transaction-runner.js';

const WRITE_DEADLINE_MS = 5_000;
/** Event records rewritten per batch when an erasure request removes raw payloads. */
const ERASURE_PAGE = 200;

/** Event fields of a list: everything but the raw payload (up to 32 KB each). */
const EVENT_SUMMARY_FIELDS = [
  'source',
  'eventKey',
  'eventType',
  'outcome',
  'reason',
  'entitlementId',
  'transport',
  'attempts',
  'receivedAt',
  'updatedAt',
  'rawTruncated',
  'refusedFields',
  'resolution',
  'refusals.count',
  'refusals.throttled',
  'refusals.firstAt',
  'refusals.lastAt',
];

/** Account fields of a list: the mirror, not the sign-up token data (`google`). */
const ACCOUNT_SUMMARY_FIELDS = [
  'accountId',
  'provider',
  'state',
  'signup',
  'sourceUpdatedAt',
  'createdAt',
  'updatedAt',
  'version',
  'linkedUserId',
  'linkedSubjectKey',
];

/**
 * The admin API's queries. Lists use equality filters only, in document-id order, so Firestore
 * serves them from its automatic single-field indexes (merged); the audit list orders by `at`
 * (with a target filter it needs the composite index in docs/admin-api.md).
 */
@Injectable()
export class FirestoreAdminStore extends AdminStore {
  constructor(private readonly db: Firestore) {
    super();
  }

  listEntitlements(filter: EntitlementFilter, page: PageRequest): Promise<Page<EntitlementRecord>> {
    let query: Query = this.db.collection(COLLECTIONS.entitlements);
    const equal: [string, string | undefined][] = [
      ['status', filter.status],
      ['source', filter.source],
      ['product', filter.product],
      ['details.marketplace.accountId', filter.accountId],
      ['subject.email', filter.email],
      ['subject.userId', filter.userId],
      ['details.marketplace.approval', filter.approval],
      ['details.marketplace.planChangeApproval', filter.planChangeApproval],
    ];
    for (const [field, value] of equal) if (value !== undefined) query = query.where(field, '==', value);
    return this.byId(query, page, (snap) => fromFirestore<EntitlementRecord>(snap.data()));
  }

  async listHistory(entitlementId: string, limit: number): Promise<(HistoryEntry & { id: string })[]> {
    const snap = await readWithDeadline(
      this.db
        .collection(COLLECTIONS.entitlements)
        .doc(documentId(entitlementId))
        .collection(COLLECTIONS.history)
        .orderBy('at', 'desc')
        .limit(limit)
        .get(),
    );
    return snap.docs.map((d) => ({ id: d.id, ...fromFirestore<HistoryEntry>(d.data()) }));
  }

  listEvents(filter: EventFilter, page: PageRequest): Promise<Page<EventRecord>> {
    let query: Query = this.db.collection(COLLECTIONS.events).where('outcome', '==', filter.outcome);
    if (filter.source) query = query.where('source', '==', filter.source);
    return this.byId(query.select(...EVENT_SUMMARY_FIELDS), page, (snap) => toEvent(snap));
  }

  listEventsOf(entitlementId: string, page: PageRequest): Promise<Page<EventRecord>> {
    const query = this.db.collection(COLLECTIONS.events).where('entitlementId', '==', entitlementId);
    return this.byId(query.select(...EVENT_SUMMARY_FIELDS), page, (snap) => toEvent(snap));
  }

  /**
   * One count aggregation per source and outcome (index `events (source, outcome, receivedAt)`): Firestore
   * bills one read per 1,000 index entries counted, so the console's chart costs little however busy the day.
   */
  async countEvents(since: Date): Promise<EventCount[]> {
    const events = this.db.collection(COLLECTIONS.events);
    const pairs = SOURCES.flatMap((source) => OUTCOMES.map((outcome) => ({ source, outcome })));
    return Promise.all(
      pairs.map(async ({ source, outcome }) => {
        const query = events.where('source', '==', source).where('outcome', '==', outcome);
        const snap = await readWithDeadline(query.where('receivedAt', '>=', since).count().get());
        return { source, outcome, count: snap.data().count };
      }),
    );
  }

  listAccounts(filter: { signup?: SignupState }, page: PageRequest): Promise<Page<AccountSummary>> {
    let query: Query = this.db.collection(COLLECTIONS.accounts);
    if (filter.signup) query = query.where('signup.state', '==', filter.signup);
    return this.byId(query.select(...ACCOUNT_SUMMARY_FIELDS), page, (snap) =>
      fromFirestore<AccountSummary>(snap.data()),
    );
  }

  listRuns(filter: { job?: RecordedJob }, page: PageRequest): Promise<Page<LifecycleRun> | null> {
    const collection = this.db.collection(COLLECTIONS.runs);
    const query = filter.job ? collection.where('job', '==', filter.job) : collection;
    return this.newestFirst(collection, query, 'startedAt', page, (snap) => {
      const { expireAt: _, ...run } = fromFirestore<LifecycleRun & { expireAt?: Date }>(snap.data());
      return run;
    });
  }

  async getEvent(id: string): Promise<EventRecord | null> {
    const snap = await readWithDeadline(this.db.collection(COLLECTIONS.events).doc(id).get());
    return snap.exists ? toEvent(snap) : null;
  }

  async getAction(key: string): Promise<ActionRecord | null> {
    const snap = await readWithDeadline(this.db.collection(COLLECTIONS.actions).doc(documentId(key)).get());
    if (!snap.exists) return null;
    const data = fromFirestore<Partial<ActionRecord>>(snap.data());
    return {
      key,
      kind: data.kind ?? 'unknown',
      claimedAt: data.claimedAt ?? new Date(0),
      completedAt: data.completedAt ?? null,
      result: data.result ?? null,
    };
  }

  async appendAudit(entry: AuditEntry): Promise<string> {
    try {
      const ref = await withDeadline(
        this.db.collection(COLLECTIONS.audit).add(entry),
        5_000,
        'Firestore write timed out (audit)',
      );
      return ref.id;
    } catch (error) {
      if (!(error instanceof TransientError) && isTransientFirestoreError(error))
        throw new TransientError('Firestore unavailable (audit)', error);
      throw error;
    }
  }

  listAudit(filter: { targetId?: string }, page: PageRequest): Promise<Page<AuditRecord> | null> {
    const collection = this.db.collection(COLLECTIONS.audit);
    const query = filter.targetId ? collection.where('target.id', '==', filter.targetId) : collection;
    return this.newestFirst(collection, query, 'at', page, (d) => ({
      id: d.id,
      ...fromFirestore<AuditEntry>(d.data()),
    }));
  }

  /** Ordered by `field`, newest first; the cursor is the last document's id (unknown → null). */
  private async newestFirst<T>(
    collection: CollectionReference,
    query: Query,
    field: string,
    page: PageRequest,
    map: (snap: DocumentSnapshot) => T,
  ): Promise<Page<T> | null> {
    let ordered = query.orderBy(field, 'desc');
    if (page.after) {
      const cursor = await readWithDeadline(collection.doc(page.after).get());
      if (!cursor.exists) return null;
      ordered = ordered.startAfter(cursor);
    }
    const snap = await readWithDeadline(ordered.limit(page.pageSize + 1).get());
    const docs = snap.docs.slice(0, page.pageSize);
    return { items: docs.map(map), next: snap.docs.length > page.pageSize ? (docs.at(-1)?.id ?? null) : null };
  }

  async entitlementsOfSubject(subjectKey: string): Promise<EntitlementRecord[]> {
    const snap = await readWithDeadline(
      this.db.collection(COLLECTIONS.entitlements).where('subject.key', '==', subjectKey).get(),
    );
    return snap.docs.map((d) => fromFirestore<EntitlementRecord>(d.data()));
  }

  async entitlementsBoughtBy(buyerSubjectKey: string): Promise<string[]> {
    const snap = await readWithDeadline(
      this.db
        .collection(COLLECTIONS.entitlements)
        .where('details.easycart.buyerSubjectKey', '==', buyerSubjectKey)
        .select('id')
        .get(),
    );
    return snap.docs.map((d) => d.get('id') as string);
  }

  async forgetBuyer(entitlementId: string, now: Date): Promise<void> {
    await withDeadline(
      this.db
        .collection(COLLECTIONS.entitlements)
        .doc(documentId(entitlementId))
        .update({
          'details.easycart.buyerEmail': null,
          'details.easycart.buyerSubjectKey': null,
          // Every write of an entitlement moves its version (docs/firestore.md).
          version: FieldValue.increment(1),
          updatedAt: now,
        }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out (erasure)',
    );
  }

  async scrubEvents(subjectKey: string, now: Date): Promise<number> {
    let scrubbed = 0;
    // Each page is rewritten without the key, so the next query starts again from the top.
    for (;;) {
      const snap = await readWithDeadline(
        this.db
          .collection(COLLECTIONS.events)
          .where('subjectKeys', 'array-contains', subjectKey)
          .select()
          .limit(ERASURE_PAGE)
          .get(),
      );
      if (snap.empty) return scrubbed;
      const batch = this.db.batch();
      for (const doc of snap.docs) {
        batch.update(doc.ref, { raw: null, rawTruncated: false, rawErasedAt: now, subjectKeys: [], updatedAt: now });
      }
      await withDeadline(batch.commit(), WRITE_DEADLINE_MS, 'Firestore write timed out (erasure)');
      scrubbed += snap.size;
    }
  }

  async deleteAccess(subjectKey: string): Promise<boolean> {
    const ref = this.db.collection(COLLECTIONS.access).doc(documentId(subjectKey));
    const snap = await readWithDeadline(ref.get());
    if (!snap.exists) return false;
    await withDeadline(ref.delete(), WRITE_DEADLINE_MS, 'Firestore write timed out (erasure)');
    return true;
  }

  private async byId<T>(query: Query, page: PageRequest, map: (snap: DocumentSnapshot) => T): Promise<Page<T>> {
    let ordered = query.orderBy(FieldPath.documentId());
    if (page.after) ordered = ordered.startAfter(page.after);
    const snap = await readWithDeadline(ordered.limit(page.pageSize + 1).get());
    const docs = snap.docs.slice(0, page.pageSize);
    return { items: docs.map(map), next: snap.docs.length > page.pageSize ? (docs.at(-1)?.id ?? null) : null };
  }
}

function toEvent(snap: DocumentSnapshot): EventRecord {
  const data = fromFirestore<Record<string, unknown>>(snap.data());
  return {
    id: snap.id,
    source: data.source as EventRecord['source'],
    eventKey: data.eventKey as string,
    eventType: data.eventType as string,
    outcome: data.outcome as EventRecord['outcome'],
    reason: (data.reason as string | null | undefined) ?? null,
    entitlementId: (data.entitlementId as string | null | undefined) ?? null,
    transport: (data.transport as EventRecord['transport'] | undefined) ?? { kind: 'webhook' },
    attempts: (data.attempts as number | undefined) ?? 1,
    receivedAt: data.receivedAt as Date,
    updatedAt: data.updatedAt as Date,
    rawTruncated: data.rawTruncated === true,
    refusedFields: Array.isArray(data.refusedFields) ? (data.refusedFields as string[]) : null,
    resolution: (data.resolution as EventRecord['resolution'] | undefined) ?? null,
    ...('raw' in data ? { raw: (data.raw as string | null) ?? null } : {}),
    ...(data.refusals ? { refusals: data.refusals as EventRecord['refusals'] } : {}),
  };
}
