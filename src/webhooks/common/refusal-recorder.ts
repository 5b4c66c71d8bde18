import { Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { TokenBuckets } from '../../common/security/token-buckets.js';
import { AppConfig } from '../../config/app-config.js';
import { Clock } from '../../entitlements/clock.js';
import type { Source } from '../../entitlements/entitlement.js';
import { RefusalStore } from './refusal-store.js';
import { RefusalTally, type RefusedRequest } from './refusal-tally.js';

/** Per-client buckets kept in memory at most (full ones are dropped first). */
const MAX_CLIENT_BUCKETS = 10_000;
/** A flush that cannot finish in this time gives up; its counts are kept for the next one. */
const FLUSH_DEADLINE_MS = 8_000;

/**
 * Refused webhook requests: counted in memory (RefusalTally), written as aggregates every
 * REFUSAL_FLUSH_SECONDS and at shutdown, and rate-limited. Only requests that *failed*
 * verification take from the buckets (per source, and per source and client address), and the
 * signature is always checked first, so a correctly signed request is never throttled, however
 * many forged ones arrive beside it.
 */
@Injectable()
export class RefusalRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly tally: RefusalTally;
  private readonly perSource: TokenBuckets;
  private readonly perClient: TokenBuckets;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: RefusalStore,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
    private readonly config: AppConfig,
  ) {
    const env = config.env;
    this.tally = new RefusalTally(env.REFUSAL_SAMPLES_PER_MINUTE);
    const perMinute = env.WEBHOOK_REFUSALS_PER_MINUTE;
    this.perSource = new TokenBuckets({ perMinute, burst: perMinute, maxBuckets: 100 });
    const perClient = env.WEBHOOK_REFUSALS_PER_CLIENT_PER_MINUTE;
    this.perClient = new TokenBuckets({ perMinute: perClient, burst: perClient, maxBuckets: MAX_CLIENT_BUCKETS });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.env.REFUSAL_FLUSH_SECONDS * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * A request that failed verification: counted, and the refusal to answer. Over the rate limit,
   * that is a 429 with `retryAfterSeconds` (the error filter sends `Retry-After`) instead of `refusal`.
   */
  refuseUnverified(
    source: Source,
    reason: string,
    client: string,
    request: RefusedRequest,
    refusal: AppError,
  ): AppError {
    const now = this.clock.now();
    const ms = now.getTime();
    // Both buckets take a token, so a flood from many addresses still meets the per-source limit.
    const bySource = this.perSource.take(source, ms);
    const byClient = this.perClient.take(`${source}\u0000${client}`, ms);
    const over = !bySource.ok ? bySource : !byClient.ok ? byClient : undefined;
    this.tally.count(source, reason, now, request, over !== undefined);
    if (!over) return refusal;
    return new AppError('rate_limited', `Too many refused ${source} requests; retry in ${over.retryAfterSec} s`, {
      retryAfterSeconds: over.retryAfterSec,
    });
  }

  /** A request refused before verification could run (a body the parser refused): counted only. */
  count(source: Source, reason: string, request: RefusedRequest): void {
    this.tally.count(source, reason, this.clock.now(), request);
  }

  /** Writes what was counted since the last flush (one flush at a time); a failed write is retried next time. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (!this.tally.pending) return;
    const batches = this.tally.drain();
    for (const b of batches) {
      // One line per source and reason per flush. `outcome: invalid` keeps the "Invalid events" alert
      // (docs/operations.md) firing on refusals as it did when each one was a ledger record.
      this.logger.warning('webhook requests refused', {
        source: b.source,
        outcome: 'invalid',
        reason: b.reason,
        count: b.count,
        throttled: b.throttled,
        sampled: b.samples.length,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.recordRefusals(batches, this.clock.now()),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('refusal flush timed out')), FLUSH_DEADLINE_MS);
        }),
      ]);
    } catch (error) {
      // A write that lands after its deadline is counted twice: these counts are evidence, not accounting.
      this.tally.restore(batches);
      this.logger.warning('could not write refused webhook requests; kept for the next flush', { error });
    } finally {
      clearTimeout(timer);
    }
  }
}
