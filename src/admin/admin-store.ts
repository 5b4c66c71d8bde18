import type { EntitlementStatus, Outcome, Source } from '../entitlements/entitlement.js';
import type { TransportKind } from '../entitlements/inbound-event.js';
import type { Resolution } from '../entitlements/input-rules.js';
import type { EntitlementRecord, HistoryEntry } from '../entitlements/ledger-plan.js';
import type { LifecycleRun, RecordedJob } from '../lifecycle/lifecycle-store.js';
import type { SignupState } from '../marketplace/events/accounts.js';
import type { AccountRecord } from '../marketplace/marketplace-store.js';
import type { ApprovalStage } from '../marketplace/events/decision.js';
import type { RefusalSample } from '../webhooks/common/refusal-tally.js';
import type { AdminRole } from './auth/roles.js';

/** A page of a list, in document-id order; `next` is the id to continue after, null on the last page. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface PageRequest {
  pageSize: number;
  /** Continue after this document id (decoded from the caller's opaque cursor). */
  after?: string;
}

export interface EntitlementFilter {
  status?: EntitlementStatus;
  source?: Source;
  product?: string;
  /** Marketplace account (`details.marketplace.accountId`). */
  accountId?: string;
  /** The subject's e-mail (`subject.email`, lowercased) or the product's user id (`subject.userId`): search. */
  email?: string;
  userId?: string;
  /** `details.marketplace.approval` / `.planChangeApproval` (the approval views). */
  approval?: ApprovalStage;
  planChangeApproval?: ApprovalStage;
}

export interface EventFilter {
  outcome: Outcome;
  source?: Source;
}

/** `events/{id}` as the admin API shows it; `raw` only when one event is read. */
export interface EventRecord {
  id: string;
  source: Source;
  eventKey: string;
  eventType: string;
  outcome: Outcome;
  reason: string | null;
  entitlementId: string | null;
  transport: { kind: TransportKind; id?: string };
  attempts: number;
  receivedAt: Date;
  updatedAt: Date;
  rawTruncated: boolean;
  /** The fields a refusal named (docs/input-rules.md); null when the event was not refused for its fields. */
  refusedFields: string[] | null;
  /** Set when an approver resolved the refused event (POST /admin/v1/events/{id}/resolve). */
  resolution: Resolution | null;
  raw?: string | null;
  /** Aggregate of refused (unauthenticated) requests: only on `REFUSED` records; `samples` only when one is read. */
  refusals?: { count: number; throttled: number; firstAt: Date; lastAt: Date; samples?: RefusalSample[] };
}

/** `actions/{key}`: the once-only claim on a Procurement call (MarketplaceStore.claimAction). */
export interface ActionRecord {
  key: string;
  kind: string;
  claimedAt: Date;
  completedAt: Date | null;
  result: Record<string, unknown> | null;
}

export type AuditAction =
  | 'entitlement.approve'
  | 'entitlement.reject'
  | 'planChange.approve'
  | 'planChange.reject'
  | 'account.approve'
  | 'account.reject'
  | 'account.reset'
  | 'event.replay'
  | 'event.resolve'
  | 'subject.erase';

/** `audit/{autoId}`: one admin action, whatever came of it (docs/admin-api.md). */
export interface AuditEntry {
  at: Date;
  actor: { kind: 'user' | 'api-key'; id: string };
  role: AdminRole;
  action: AuditAction;
  target: { type: 'entitlement' | 'account' | 'event' | 'subject'; id: string; plan?: string };
  reason: string | null;
  /** done: the call was made; refused: it no longer applied (nothing called); failed: the call or a read failed. */
  outcome: 'done' | 'refused' | 'failed';
  /** The Procurement API's answer (or the refusal), and what the ledger made of it. */
  answer: Record<string, unknown>;
}

export type AuditRecord = AuditEntry & { id: string };

/** `accounts/{id}` in a list: the mirror without the sign-up token data (`google`). */
export type AccountSummary = Omit<AccountRecord, 'google'>;

/** Inbound events counted by source and outcome (`GET /admin/v1/stats/events`). */
export interface EventCount {
  source: Source;
  outcome: Outcome;
  count: number;
}

/**
 * The admin API's reads and its audit writes. Everything else goes through the ports that own it
 * (EntitlementStore for one entitlement, MarketplaceStore for accounts and claims, the Ledger for changes).
 */
export abstract class AdminStore {
  abstract listEntitlements(filter: EntitlementFilter, page: PageRequest): Promise<Page<EntitlementRecord>>;
  /** Newest first. */
  abstract listHistory(entitlementId: string, limit: number): Promise<(HistoryEntry & { id: string })[]>;
  abstract listEvents(filter: EventFilter, page: PageRequest): Promise<Page<EventRecord>>;
  /** Events that concerned one entitlement (`entitlementId`), without raw payloads, in id order. */
  abstract listEventsOf(entitlementId: string, page: PageRequest): Promise<Page<EventRecord>>;
  /** Events received since `since`, counted per source and outcome (zeros included). */
  abstract countEvents(since: Date): Promise<EventCount[]>;
  abstract listAccounts(filter: { signup?: SignupState }, page: PageRequest): Promise<Page<AccountSummary>>;
  /** Newest first; `after` is a run id. Unknown `after` → null. */
  abstract listRuns(filter: { job?: RecordedJob }, page: PageRequest): Promise<Page<LifecycleRun> | null>;
  /** One event record by its document id, with its raw payload. */
  abstract getEvent(id: string): Promise<EventRecord | null>;
  abstract getAction(key: string): Promise<ActionRecord | null>;
  /** Appends an audit entry; returns its id. */
  abstract appendAudit(entry: AuditEntry): Promise<string>;
  /** Newest first; `after` is an audit entry id. Unknown `after` → null. */
  abstract listAudit(filter: { targetId?: string }, page: PageRequest): Promise<Page<AuditRecord> | null>;

  // Erasure requests (docs/operations.md, "A customer asks for deletion").
  /** Every entitlement stored under this subject key (tombstones excluded: their subject is gone). */
  abstract entitlementsOfSubject(subjectKey: string): Promise<EntitlementRecord[]>;
  /** Ids of entitlements of other people that name this subject as their buyer (EasyCart gifts). */
  abstract entitlementsBoughtBy(buyerSubjectKey: string): Promise<string[]>;
  /** Removes the buyer's e-mail and key from one such entitlement. */
  abstract forgetBuyer(entitlementId: string, now: Date): Promise<void>;
  /**
   * Removes the raw payload of every event record naming this subject key (`subjectKeys`), keeping
   * the record itself (dedup, outcome, times) so a redelivery is still recognised. Returns how many.
   */
  abstract scrubEvents(subjectKey: string, now: Date): Promise<number>;
  /** Deletes `access/{subjectKey}` if it is still there (an empty summary); whether it was. */
  abstract deleteAccess(subjectKey: string): Promise<boolean>;
}
