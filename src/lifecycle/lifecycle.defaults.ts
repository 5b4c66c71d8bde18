/**
 * Every tunable of the lifecycle jobs in one place. Runs are bounded (a time budget, and pages × page size)
 * so a Cloud Scheduler request finishes well inside Cloud Run's timeout; the next run resumes where it stopped.
 */
export const LIFECYCLE_DEFAULTS = {
  /** Documents per Firestore query page (sweeps, outbox, reconciliation's Firestore pass). */
  pageSize: 200,
  /**
   * Time one run may spend reading further pages (checked between pages). Cloud Run's request timeout and
   * the Scheduler's attempt deadline are 300 s (deploy/service.yaml, scripts/setup-gcp.sh): a job gets 180 s,
   * the publish pass after it 60 s, which leaves a page's worth of work and the run record inside 300 s.
   */
  budgetMs: { job: 180_000, publish: 60_000 },
  /** Ledger applies running at once within a page (the ledger queues changes of one subject itself). */
  concurrency: 8,
  outbox: {
    /** An entry claimed by a publisher is left alone by others for this long (then it is claimable again). */
    leaseMs: 60_000,
    /** Published entries are deleted by Firestore's TTL policy (`outbox.expireAt`) after this. */
    publishedRetentionDays: 7,
    /** Longest `lastError` kept on an entry whose publish failed. */
    maxErrorChars: 500,
  },
  notices: {
    /** `notices/{entitlementId}:{validUntil}` dedup documents expire this long after the period they announce. */
    retentionDaysAfterEnd: 30,
  },
  runs: {
    /** `runs/{runId}` records (what the admin console shows) are deleted by the TTL policy (`runs.expireAt`) after this. */
    retentionDays: 30,
    /** Longest list (drift items, errors) kept in a run record's report; the full report is in the log. */
    maxListItems: 50,
  },
  decisions: {
    /** "decision overdue" lines one check writes at most (the oldest first); the run's count says how many in all. */
    maxLinesPerRun: 100,
  },
  reconcile: {
    /** A run gives up after this many failed items (the Procurement API or Firestore is probably down). */
    maxErrors: 25,
    /**
     * Default of RECONCILE_MAX_GONE_PER_RUN (src/config/env.schema.ts): entitlements one run may end because Google
     * answers 404. More than that smells of a wrong MARKETPLACE_PROVIDER_ID or project rather than of real deletions:
     * the rest are reported, not ended.
     */
    maxGonePerRun: 50,
    /** The in-process timer reconciles on every Nth tick only: it costs Procurement API calls. */
    timerEveryTicks: 10,
  },
} as const;
