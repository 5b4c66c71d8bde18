export interface RateLimit {
  /** Sustained requests per minute. */
  perMinute: number;
  /** Requests an idle caller may make at once. */
  burst: number;
  /** Buckets kept at most (one per caller); full buckets are dropped first. */
  maxBuckets: number;
}

export type Take = { ok: true; remaining: number } | { ok: false; retryAfterSec: number };

/**
 * A token bucket per key (a caller, a client address, a webhook source), in memory: each Cloud Run
 * instance limits on its own, so the limit across the service is this times the instance count.
 * Enough to stop a runaway script, a leaked key or a flood of forged requests; not an accounting quota.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(private readonly limit: RateLimit) {
    this.perMs = limit.perMinute / 60_000;
  }

  take(key: string, nowMs: number): Take {
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: nowMs };
    const tokens = Math.min(this.limit.burst, bucket.tokens + Math.max(0, nowMs - bucket.at) * this.perMs);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: nowMs });
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: nowMs });
    if (this.buckets.size > this.limit.maxBuckets) this.prune(nowMs);
    return { ok: true, remaining: Math.floor(tokens - 1) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (nowMs - bucket.at) * this.perMs >= this.limit.burst) this.buckets.delete(key);
    }
    // Still too many callers at once: forget the oldest (Map keeps insertion order).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.limit.maxBuckets) break;
      this.buckets.delete(key);
    }
  }
}
