import { describe, expect, it } from '@jest/globals';
import { TokenBuckets } from './token-buckets.js';

describe('TokenBuckets', () => {
  it('should allow a burst, then one request per refill interval, telling how long to wait', () => {
    const buckets = new TokenBuckets({ perMinute: 60, burst: 3, maxBuckets: 10 });
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => buckets.take('a', t0).ok)).toEqual([true, true, true]);
    expect(buckets.take('a', t0)).toEqual({ ok: false, retryAfterSec: 1 });
    expect(buckets.take('a', t0 + 999).ok).toBe(false);
    expect(buckets.take('a', t0 + 1_000).ok).toBe(true);
    expect(buckets.take('a', t0 + 1_000).ok).toBe(false);
  });

  it('should keep callers apart and never refill above the burst', () => {
    const buckets = new TokenBuckets({ perMinute: 6, burst: 2, maxBuckets: 10 });
    expect(buckets.take('a', 0).ok && buckets.take('a', 0).ok).toBe(true);
    expect(buckets.take('a', 0)).toEqual({ ok: false, retryAfterSec: 10 });
    expect(buckets.take('b', 0).ok).toBe(true);
    const later = 3_600_000;
    expect([1, 2, 3].map(() => buckets.take('a', later).ok)).toEqual([true, true, false]);
  });

  it('should stay bounded, forgetting idle callers first', () => {
    const buckets = new TokenBuckets({ perMinute: 60, burst: 2, maxBuckets: 3 });
    buckets.take('busy', 0);
    buckets.take('busy', 0);
    for (const key of ['x', 'y', 'z', 'w']) buckets.take(key, 5_000);
    expect(buckets.size).toBeLessThanOrEqual(3);
  });
});
