/** Every tunable of usage reporting in one place (docs/usage-reporting.md). */
export const USAGE_DEFAULTS = {
  /** Records bound to windows per Firestore transaction (≤ 500 writes each, with the windows and the usage document). */
  recordsPerChunk: 400,
  /** Chunks one entitlement may take per run; the rest waits for the next run (never lost: late records). */
  maxChunksPerEntitlement: 50,
  /** `usage/{id}` documents per page of a reporter run, and pages per run. */
  pageSize: 200,
  maxPages: 50,
  /** Entitlements reported at once within a page. */
  concurrency: 8,
  /** A record timed further ahead than this is refused (a clock error or a hostile value would block nothing else). */
  maxFutureMs: 24 * 3_600_000,
  /**
   * A window in `sending` whose sender holds no lease any more (it crashed, or its instance was stopped, between
   * the report call and its record) is not sent again: it becomes `uncertain` (docs/usage-reporting.md).
   */
  sendingLeaseMs: 60_000,
  /** Records per `POST /usage/v1/records` request. */
  maxRecordsPerRequest: 500,
  /** Service Control calls: per-request timeout; retries are ours (check only; report is never retried blind). */
  timeoutMs: 10_000,
  /** Windows listed per admin page. */
  adminPageSize: 50,
  /** Longest error text kept on a window. */
  maxErrorChars: 500,
} as const;
