import type { Source } from '../entitlements/entitlement.js';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import type { ExpiringEvent } from './lifecycle-events.js';

/** Where the next page of a time-ordered query starts: after (time, document id). */
export interface TimeCursor {
  at: Date;
  id: string;
}

export interface Page<T, C> {
  items: T[];
  /** `null` on the last page. */
  next: C | null;
}

/** One `outbox/{id}` entry waiting to be published: a change event or an expiring notice. */
export interface OutboxEntry {
  id: string;
  event: { type: string; id: string; schemaVersion: number; [field: string]: unknown };
  orderingKey: string;
  createdAt: Date;
  attempts: number;
  leaseUntil: Date | null;
  /** Opaque version of the stored entry; a claim succeeds only if the entry is unchanged since it was read. */
  revision: string;
}

/**
 * What `sendExpiringNotice` did: `sent`; `sentBefore` (found sent, the mark cleared); `changed` (the entitlement's
 * end or mark moved since the query: nothing written, the query finds it again if a notice is due); `notDue`
 * (no longer active or without a subject: nothing written).
 */
export type NoticeOutcome = 'sent' | 'sentBefore' | 'changed' | 'notDue';

/** The jobs whose runs are recorded (`runs/{runId}`); the outbox publisher's own runs are not (every minute). */
export const RECORDED_JOBS = ['expire', 'expiring', 'reconcile', 'usage', 'decisions'] as const;
export type RecordedJob = (typeof RECORDED_JOBS)[number];

/** `runs/{runId}`: one lifecycle run as the admin API shows it (docs/lifecycle.md, "Run records"). */
export interface LifecycleRun {
  runId: string;
  job: RecordedJob;
  startedAt: Date;
  finishedAt: Date;
  /** false: the run could not proceed (the trigger answered 503); `error` says why. */
  ok: boolean;
  error: string | null;
  /** The report's counts, flattened (`expired`, `outcomes.applied`, `drift`, `errors`, `publish.published`, …). */
  figures: Record<string, number>;
  /** The report, JSON-safe, its lists cut at LIFECYCLE_DEFAULTS.runs.maxListItems; null when the run failed. */
  report: Record<string, unknown> | null;
}

/**
 * Persistence port of the lifecycle jobs (expiry and start sweeps, expiring notices, outbox
 * publisher, reconciliation's Firestore side). Specific, indexed queries only; see firestore.indexes.json.
 */
export abstract class LifecycleStore {
  /** Active entitlements of `source` whose `validUntil` ≤ `cutoff`, oldest `validUntil` first. */
  abstract listActiveEndedBy(
    source: Source,
    cutoff: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>>;
  /** Inactive entitlements whose status grants access and whose `validFrom` ≤ `now`: future starts that arrived. */
  abstract listInactiveStartedBy(
    now: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>>;
  /**
   * Active entitlements whose expiring notice is still due and whose `validUntil` (= `pendingNoticeFor`) is in
   * (`from`, `to`], soonest first: the notices not sent yet, never the whole lead window.
   */
  abstract listNoticesDue(
    from: Date,
    to: Date,
    limit: number,
    after: TimeCursor | null,
  ): Promise<Page<EntitlementRecord, TimeCursor>>;
  /**
   * In one transaction: re-read the entitlement and, if it still awaits this notice (`validUntil` and
   * `pendingNoticeFor` as in `candidate`), create the notice's dedup document and its outbox entry (the
   * event `notice` builds from the fresh record) and clear `pendingNoticeFor`. A notice sent before (same
   * entitlement and `validUntil`) is not sent again: the mark is cleared. One notice per entitlement and period.
   */
  abstract sendExpiringNotice(
    candidate: EntitlementRecord,
    notice: (current: EntitlementRecord) => { event: ExpiringEvent; retainUntil: Date } | null,
    now: Date,
  ): Promise<NoticeOutcome>;
  /**
   * One-off backfill of `pendingNoticeFor` (documents written before it existed): active entitlements with
   * `validUntil` > `from`, soonest first; each one lacking the field is marked (unless it changed since it was
   * read: its writer marked it). The items say, per entitlement of the page, whether it was marked.
   */
  abstract markPendingNotices(from: Date, limit: number, after: TimeCursor | null): Promise<Page<boolean, TimeCursor>>;
  /** Outbox entries not published yet, oldest first. */
  abstract listUnpublished(limit: number, after: TimeCursor | null): Promise<Page<OutboxEntry, TimeCursor>>;
  /** Lease the entry to this publisher; `false` when it changed since it was read (another publisher took it). */
  abstract claimOutboxEntry(entry: OutboxEntry, leaseUntil: Date): Promise<boolean>;
  abstract markPublished(id: string, messageId: string, now: Date, expireAt: Date): Promise<void>;
  /** Keep the entry for the next run: attempts + 1, the error, the lease released. */
  abstract markPublishFailed(id: string, error: string, now: Date): Promise<void>;
  /** Writes (or overwrites) `runs/{runId}`, kept until `expireAt` (TTL). */
  abstract recordRun(run: LifecycleRun, expireAt: Date): Promise<void>;
  /** Where `job`'s unfinished pass stopped (opaque text written by the job), or `null` (start a new pass). */
  abstract loadCursor(job: string): Promise<string | null>;
  /** `null` when the pass finished: the next run starts a new one. */
  abstract saveCursor(job: string, cursor: string | null, now: Date): Promise<void>;
  /** Reconciliation: the ids of Google's live entitlements seen so far in pass `passId`, saved as chunk `chunk`. */
  abstract saveSeenIds(job: string, passId: string, chunk: number, ids: string[]): Promise<void>;
  abstract loadSeenIds(job: string, passId: string): Promise<string[]>;
  /** Drops every saved chunk of `job` (the pass finished or a new one starts). */
  abstract clearSeenIds(job: string): Promise<void>;
  /** Entitlements by id in one batched read (reconciliation compares a page of Google's list at once); null if missing. */
  abstract getEntitlements(ids: string[]): Promise<(EntitlementRecord | null)[]>;
  /**
   * Marketplace entitlements that may wait for an admin (status `pending_approval` or `pending_plan_change`),
   * status by status and by id within each (opaque cursor): the decision check's candidates (few: each is a person's
   * to-do or a plan change before its cycle ends).
   */
  abstract listPendingMarketplaceDecisions(
    limit: number,
    after: string | null,
  ): Promise<Page<EntitlementRecord, string>>;
  /**
   * Stored Marketplace entitlements whose status is not final (what Google should still know), status by status and by
   * id within each. The cursor is opaque. One whose status changes during a walk may be read twice, or, moving to a
   * status already walked, not at all in that walk (it changed by an event, so it is current; the next walk reads it).
   */
  abstract listLiveMarketplaceEntitlements(
    limit: number,
    after: string | null,
  ): Promise<Page<EntitlementRecord, string>>;
}
