import type { CheckError, ReportedMetric, UsageWindow } from './usage-windows.js';

/** Why reporting stopped for an entitlement: `services.check` refused its consumer. */
export interface UsageStop {
  reason: string;
  codes: string[];
  at: Date;
  /** The entitlement's version then: reporting resumes by itself once the entitlement changes (Google reinstated it). */
  entitlementVersion: number;
}

/** `usage/{entitlementId}`: the reporter's state for one entitlement (docs/usage-reporting.md). */
export interface UsageState {
  entitlementId: string;
  /** When reporting began: the first window of each metric starts at this time's window boundary. */
  since: Date;
  /** false once the final report of an ended entitlement is done. */
  open: boolean;
  /** Per metric: the `endTime` of its last report (the next window's `startTime`). */
  checkpoints: Record<string, Date>;
  stopped: UsageStop | null;
  finalAt: Date | null;
  lastReportedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface UsagePage<T> {
  items: T[];
  next: string | null;
}

/** What one collection pass binds: the metrics the plan reports, up to when, and whether it is the final one. */
export interface CollectPlan {
  metrics: ReadonlyMap<string, ReportedMetric>;
  end: Date;
  final: boolean;
  now: Date;
  windowMs: number;
  maxFutureMs: number;
}

export interface CollectResult {
  bound: number;
  late: number;
  rejected: number;
  /** Where the next chunk starts (record id), or null when this was the last. */
  next: string | null;
}

/** A record as the product backend sends it (HTTP intake). */
export interface RecordInput {
  id: string;
  metric: string;
  value: number;
  time: Date;
}
export type RecordOutcome = 'created' | 'duplicate' | 'conflict';

/**
 * Persistence port of usage reporting. Every write that binds records, ends a window or moves a checkpoint is one
 * Firestore transaction; no method calls anything remote.
 */
export abstract class UsageStore {
  /** Creates `usage/{id}` (open, since `now`) unless it exists; true when it was created. */
  abstract openUsage(entitlementId: string, now: Date): Promise<boolean>;
  /** `openUsage` for many, with one read of them all first; how many were created. */
  abstract openUsageMany(entitlementIds: string[], now: Date): Promise<number>;
  abstract getUsage(entitlementId: string): Promise<UsageState | null>;
  /** Open usage documents, by id. */
  abstract listOpenUsage(limit: number, afterId: string | null): Promise<UsagePage<UsageState>>;
  /** One transaction: binds up to `limit` pending records (after record id `after`) to their metric's open window. */
  abstract collectChunk(
    entitlementId: string,
    plan: CollectPlan,
    after: string | null,
    limit: number,
  ): Promise<CollectResult>;
  /**
   * One transaction: the entitlement's collecting windows become pending (their sums fixed). When `plan.final`, a
   * zero window is added for each metric reported before that has none, so Google gets a last report, and the usage
   * document records `finalAt`.
   */
  abstract closeWindows(entitlementId: string, plan: CollectPlan): Promise<void>;
  /** The entitlement's windows not final yet (collecting, pending, sending). */
  abstract listUnfinishedWindows(entitlementId: string): Promise<UsageWindow[]>;
  /** pending → sending with a lease, only if the window is still pending; false when another sender has it. */
  abstract claimSending(window: UsageWindow, leaseUntil: Date, now: Date): Promise<boolean>;
  /** One transaction: the window's final state and its metric's checkpoint (= its end). */
  abstract finishWindow(
    window: UsageWindow,
    outcome: { state: 'reported' | 'refused' | 'uncertain'; error?: string; checkErrors?: CheckError[] },
    now: Date,
  ): Promise<void>;
  /** The window stays pending for the next run: attempts + 1, the error kept. */
  abstract retryWindow(window: UsageWindow, error: string, now: Date, checkErrors?: CheckError[]): Promise<void>;
  abstract stopReporting(entitlementId: string, stop: UsageStop, now: Date): Promise<void>;
  abstract resumeReporting(entitlementId: string, now: Date): Promise<void>;
  abstract closeUsage(entitlementId: string, now: Date): Promise<void>;
  /** One transaction: creates each record that does not exist; an existing id is `duplicate` (same content) or `conflict`. */
  abstract addRecords(entitlementId: string, records: RecordInput[], now: Date): Promise<RecordOutcome[]>;
  /** The entitlement's windows, newest start first. */
  abstract listWindows(entitlementId: string, limit: number, cursor: string | null): Promise<UsagePage<UsageWindow>>;
  /** Records not bound to a window yet. */
  abstract countPendingRecords(entitlementId: string): Promise<number>;
}
