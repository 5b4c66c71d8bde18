import {
  FieldPath,
  FieldValue,
  Firestore,
  Timestamp,
  type Query,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { isDocumentId } from '../../common/document-id.js';
import type { EntitlementStatus, Source } from '../../entitlements/entitlement.js';
import type { EntitlementRecord } from '../../entitlements/ledger-plan.js';
import { noticeKey, type ExpiringEvent } from '../../lifecycle/lifecycle-events.js';
import { LIFECYCLE_DEFAULTS } from '../../lifecycle/lifecycle.defaults.js';
import {
  LifecycleStore,
  type LifecycleRun,
  type NoticeOutcome,
  type OutboxEntry,
  type Page,
  type TimeCursor,
} from '../../lifecycle/lifecycle-store.js';
import { forEachLimit } from '../../lifecycle/run-support.js';
import { COLLECTIONS, documentId } from './collections.js';
import { fromFirestore } from './firestore-values.js';
import { AlreadyExists, readWithDeadline, TransactionRunner, withDeadline } from './transaction-runner.js';

/** `notices/{entitlementId}:{validUntil ms}`: one expiring notice per entitlement and period (TTL `expireAt`). */
const NOTICES = 'notices';
const WRITE_DEADLINE_MS = 5_000;

/** Statuses under which an entitlement grants access inside its window (see `isActive`). */
const ACCESS_STATUSES: EntitlementStatus[] = ['active', 'pending_plan_change', 'pending_cancellation'];
/** Marketplace statuses Google should still know about; final ones (cancelled, expired, rejected) are not re-checked. */
const LIVE_MARKETPLACE_STATUSES: EntitlementStatus[] = [...ACCESS_STATUSES, 'pending_approval', 'suspended'];
/** Statuses under which a Marketplace entitlement may wait for an admin (its activation, or a plan change). */
const PENDING_DECISION_STATUSES: EntitlementStatus[] = ['pending_approval', 'pending_plan_change'];

/**
 * The lifecycle jobs' queries and writes. Every query is indexed (firestore.indexes.json) and paged
 * with a cursor on (time field, document id), so items a job leaves unchanged are never read twice in a run.
 */
@Injectable()
export class FirestoreLifecycleStore extends LifecycleStore {
  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
  ) {
    super();
  }

  listActiveEndedBy(
    source: Source,
    cutoff: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>> {
    const query = this.entitlements()
      .where('source', '==', source)
      .where('active', '==', true)
      .where('validUntil', '<=', cutoff);
    return this.timePage(query, 'validUntil', limit, after, (d) => fromFirestore<EntitlementRecord>(d.data()));
  }

  listInactiveStartedBy(
    now: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>> {
    const query = this.entitlements()
      .where('status', 'in', ACCESS_STATUSES)
      .where('active', '==', false)
      .where('validFrom', '<=', now);
    return this.timePage(query, 'validFrom', limit, after, (d) => fromFirestore<EntitlementRecord>(d.data()));
  }

  listNoticesDue(
    from: Date,
    to: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>> {
    const query = this.entitlements()
      .where('active', '==', true)
      .where('pendingNoticeFor', '>', from)
      .where('pendingNoticeFor', '<=', to);
    return this.timePage(query, 'pendingNoticeFor', limit, after, (d) => fromFirestore<EntitlementRecord>(d.data()));
  }

  async sendExpiringNotice(
    candidate: EntitlementRecord,
    notice: (current: EntitlementRecord) => { event: ExpiringEvent; retainUntil: Date } | null,
    now: Date,
  ): Promise<NoticeOutcome> {
    const until = candidate.validUntil?.getTime();
    if (until === undefined) return 'notDue';
    const key = noticeKey(candidate);
    const entitlementRef = this.entitlements().doc(documentId(candidate.id));
    const noticeRef = this.db.collection(NOTICES).doc(documentId(key));
    // Queued behind the ledger's transactions on the same entitlement in this instance (its lock key `e:<id>`).
    const write = this.runner.run<NoticeOutcome>(
      `notice ${key}`,
      [`e:${candidate.id}`, `notice:${key}`],
      async (tx) => {
        const [entitlementSnap, noticeSnap] = await tx.getAll(entitlementRef, noticeRef);
        if (!entitlementSnap?.exists) return 'changed';
        const current = fromFirestore<EntitlementRecord>(entitlementSnap.data());
        if (current.validUntil?.getTime() !== until || current.pendingNoticeFor?.getTime() !== until) return 'changed';
        if (noticeSnap?.exists) {
          tx.update(entitlementRef, { pendingNoticeFor: null });
          return 'sentBefore';
        }
        const due = notice(current);
        if (!due) return 'notDue';
        const { event, retainUntil } = due;
        const outboxRef = this.db.collection(COLLECTIONS.outbox).doc(documentId(event.id));
        tx.create(noticeRef, {
          entitlementId: event.entitlementId,
          validUntil: event.validUntil,
          outboxId: outboxRef.id,
          createdAt: now,
          expireAt: Timestamp.fromDate(retainUntil),
        });
        // Same shape as the ledger's entries (firestore-entitlement-store.ts), so one publisher sends both.
        tx.create(outboxRef, {
          event,
          orderingKey: event.entitlementId,
          createdAt: now,
          publishedAt: null,
          attempts: 0,
        });
        tx.update(entitlementRef, { pendingNoticeFor: null });
        return 'sent';
      },
    );
    try {
      return await write;
    } catch (error) {
      // Another instance created the same notice between our read and our commit.
      if (error instanceof AlreadyExists) return 'sentBefore';
      throw error;
    }
  }

  async markPendingNotices(from: Date, limit: number, after: TimeCursor | null): Promise<Page<boolean, TimeCursor>> {
    const query = this.entitlements().where('active', '==', true).where('validUntil', '>', from);
    const page = await this.timePage(query, 'validUntil', limit, after, (d) => d);
    const marked = new Array<boolean>(page.items.length).fill(false);
    const pending = page.items.map((d, i) => [d, i] as const).filter(([d]) => d.get('pendingNoticeFor') === undefined);
    await forEachLimit(pending, LIFECYCLE_DEFAULTS.concurrency, async ([d, i]) => {
      const validUntil = d.get('validUntil') as Timestamp;
      const subject: unknown = d.get('subject');
      try {
        // Only if unchanged since read: a writer since then (the ledger) set the field itself.
        await withDeadline(
          d.ref.update({ pendingNoticeFor: subject ? validUntil : null }, { lastUpdateTime: d.updateTime }),
          WRITE_DEADLINE_MS,
          'Firestore write timed out (notice backfill)',
        );
        marked[i] = true;
      } catch (error) {
        if ((error as { code?: number }).code !== 9 /* FAILED_PRECONDITION */) throw error;
      }
    });
    return { items: marked, next: page.next };
  }

  listUnpublished(limit: number, after: TimeCursor | null): Promise<Page<OutboxEntry, TimeCursor>> {
    const query = this.db.collection(COLLECTIONS.outbox).where('publishedAt', '==', null);
    return this.timePage(query, 'createdAt', limit, after, (d) => {
      const data = fromFirestore<Omit<OutboxEntry, 'id' | 'revision'>>(d.data());
      return {
        id: d.id,
        event: data.event,
        orderingKey: data.orderingKey,
        createdAt: data.createdAt,
        attempts: data.attempts ?? 0,
        leaseUntil: data.leaseUntil ?? null,
        revision: `${d.updateTime.seconds}.${d.updateTime.nanoseconds}`,
      };
    });
  }

  async claimOutboxEntry(entry: OutboxEntry, leaseUntil: Date): Promise<boolean> {
    const [seconds, nanos] = entry.revision.split('.').map(Number) as [number, number];
    try {
      // A precondition instead of a transaction: one write, and it fails if anyone touched the entry since we read it.
      await withDeadline(
        this.outboxRef(entry.id).update({ leaseUntil }, { lastUpdateTime: new Timestamp(seconds, nanos) }),
        WRITE_DEADLINE_MS,
        'Firestore write timed out',
      );
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 9 /* FAILED_PRECONDITION */) return false;
      throw error;
    }
  }

  async markPublished(id: string, messageId: string, now: Date, expireAt: Date): Promise<void> {
    await withDeadline(
      this.outboxRef(id).update({
        publishedAt: now,
        messageId,
        leaseUntil: null,
        expireAt: Timestamp.fromDate(expireAt),
      }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out',
    );
  }

  async markPublishFailed(id: string, error: string, now: Date): Promise<void> {
    await withDeadline(
      this.outboxRef(id).update({
        attempts: FieldValue.increment(1),
        lastError: error,
        lastAttemptAt: now,
        leaseUntil: null,
      }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out',
    );
  }

  async recordRun(run: LifecycleRun, expireAt: Date): Promise<void> {
    await withDeadline(
      this.db
        .collection(COLLECTIONS.runs)
        .doc(documentId(run.runId))
        .set({ ...run, expireAt }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out (run record)',
    );
  }

  async loadCursor(job: string): Promise<string | null> {
    const snap = await readWithDeadline(this.cursorRef(job).get());
    const cursor: unknown = snap.get('cursor');
    return typeof cursor === 'string' ? cursor : null;
  }

  async saveCursor(job: string, cursor: string | null, now: Date): Promise<void> {
    await withDeadline(
      this.cursorRef(job).set({ job, cursor, savedAt: now }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out (cursor)',
    );
  }

  async saveSeenIds(job: string, passId: string, chunk: number, ids: string[]): Promise<void> {
    await withDeadline(
      this.seenRef(job)
        .doc(documentId(`${passId}-${chunk}`))
        .set({ passId, chunk, ids: ids.join('\n') }),
      WRITE_DEADLINE_MS,
      'Firestore write timed out (cursor)',
    );
  }

  async loadSeenIds(job: string, passId: string): Promise<string[]> {
    const snap = await readWithDeadline(this.seenRef(job).where('passId', '==', passId).get());
    return snap.docs.flatMap((d) => String(d.get('ids') ?? '').split('\n')).filter(Boolean);
  }

  async clearSeenIds(job: string): Promise<void> {
    const snap = await readWithDeadline(this.seenRef(job).select().get());
    if (!snap.size) return;
    const batch = this.db.batch();
    for (const d of snap.docs) batch.delete(d.ref);
    await withDeadline(batch.commit(), WRITE_DEADLINE_MS, 'Firestore write timed out (cursor)');
  }

  async getEntitlements(ids: string[]): Promise<(EntitlementRecord | null)[]> {
    if (!ids.length) return [];
    const snaps = await readWithDeadline(this.db.getAll(...ids.map((id) => this.entitlements().doc(documentId(id)))));
    return snaps.map((s) => (s.exists ? fromFirestore<EntitlementRecord>(s.data()) : null));
  }

  listPendingMarketplaceDecisions(limit: number, after: string | null): Promise<Page<EntitlementRecord, string>> {
    return this.marketplaceByStatus(PENDING_DECISION_STATUSES, limit, after);
  }

  listLiveMarketplaceEntitlements(limit: number, after: string | null): Promise<Page<EntitlementRecord, string>> {
    return this.marketplaceByStatus(LIVE_MARKETPLACE_STATUSES, limit, after);
  }

  /**
   * One page of Marketplace entitlements in one of `statuses`: one status after the other, by document id within each
   * (index: source, status). One equality query per status rather than `status in [...]`: in production the same
   * index ranges and the same documents read; on the emulator, which has no indexes, an `in` query costs ~5× an
   * equality one per page (7.0 s against 1.5 s at 100,000 documents, docs/performance.md "Cost as the work grows").
   * A page may span statuses. The cursor is `<status>/<document id>` (document ids have no `/`). An entitlement whose
   * status changes during a walk may be read twice or, moving back to a status already walked, only in the next walk.
   */
  private async marketplaceByStatus(
    statuses: EntitlementStatus[],
    limit: number,
    after: string | null,
  ): Promise<Page<EntitlementRecord, string>> {
    let { index, afterDoc } = decodeStatusCursor(statuses, after);
    const items: EntitlementRecord[] = [];
    for (; index < statuses.length; index++, afterDoc = null) {
      const status = statuses[index];
      const query = this.entitlements()
        .where('source', '==', 'gcp')
        .where('status', '==', status)
        .orderBy(FieldPath.documentId());
      const snap = await readWithDeadline(
        (afterDoc ? query.startAfter(afterDoc) : query).limit(limit - items.length).get(),
      );
      for (const d of snap.docs) items.push(fromFirestore<EntitlementRecord>(d.data()));
      const last = snap.docs.at(-1);
      if (items.length === limit && last) return { items, next: `${status}/${last.id}` };
    }
    return { items, next: null };
  }

  private entitlements() {
    return this.db.collection(COLLECTIONS.entitlements);
  }

  private cursorRef(job: string) {
    return this.db.collection(COLLECTIONS.cursors).doc(documentId(job));
  }

  /** Few documents (one per 20,000 ids) kept only while a pass is unfinished. */
  private seenRef(job: string) {
    return this.cursorRef(job).collection('seen');
  }

  private outboxRef(id: string) {
    return this.db.collection(COLLECTIONS.outbox).doc(id);
  }

  private async timePage<T>(
    base: Query,
    field: string,
    limit: number,
    after: TimeCursor | null,
    map: (doc: QueryDocumentSnapshot) => T,
  ): Promise<Page<T, TimeCursor>> {
    let query = base.orderBy(field).orderBy(FieldPath.documentId());
    if (after) query = query.startAfter(Timestamp.fromDate(after.at), after.id);
    const snap = await readWithDeadline(query.limit(limit).get());
    const last = snap.docs.at(-1);
    const at = last?.get(field) as Timestamp | undefined;
    return {
      items: snap.docs.map(map),
      next: snap.docs.length === limit && last && at ? { at: at.toDate(), id: last.id } : null,
    };
  }
}

/**
 * Where `marketplaceByStatus` resumes. A cursor it did not write resumes at the first status: a bare document id
 * (stored before statuses were read one by one) after that id, so some entitlements are read twice and none missed;
 * a status no longer in the list, or an id Firestore would refuse, from the start.
 */
function decodeStatusCursor(
  statuses: readonly EntitlementStatus[],
  cursor: string | null,
): { index: number; afterDoc: string | null } {
  const start = { index: 0, afterDoc: null };
  if (!cursor) return start;
  const slash = cursor.indexOf('/');
  const [status, id] = slash < 0 ? [null, cursor] : [cursor.slice(0, slash), cursor.slice(slash + 1)];
  const index = status === null ? 0 : statuses.indexOf(status as EntitlementStatus);
  if (index < 0) return start;
  if (!id) return { index, afterDoc: null };
  return isDocumentId(id) ? { index, afterDoc: id } : start;
}
