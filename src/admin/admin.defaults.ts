/** Every tunable default of the admin API, in one place (docs/admin-api.md mirrors it). */
export const ADMIN_DEFAULTS = {
  /** URL prefix of every admin route; the guard denies anything under it by default. */
  prefix: 'admin',
  /** Page size of the list endpoints when the caller names none, and the most they may ask for. */
  pageSize: 50,
  maxPageSize: 100,
  /** History entries returned with one entitlement (newest first). */
  historyLimit: 100,
  /**
   * Reasons sent to the Procurement API: it documents 256 bytes and silently truncates longer ones,
   * so the API refuses them (400) rather than let a reason be cut.
   */
  maxReasonBytes: 256,
  /** Rate limiter: buckets kept in memory at most; full (idle) buckets are dropped first when exceeded. */
  maxBuckets: 10_000,
  /** How long a claimed Procurement call may run before another caller may try it (as MarketplaceEvents). */
  actionLeaseMs: 60_000,
} as const;
