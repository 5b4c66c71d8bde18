import { createHash } from 'node:crypto';
import type { Source } from '../../entitlements/entitlement.js';
import { redactEmails } from '../../common/personal-data.js';
import { redactUrl } from '../../common/logging/redact-url.js';

/**
 * Requests refused before anyone was authenticated (bad or missing signature or token, a body the
 * parser refused) are counted here, in memory, and written as a few aggregate records per flush
 * (RefusalRecorder): a stranger's request costs no Firestore write. What operators need is kept:
 * counts per source and reason, and a bounded, cut, redacted sample of what arrived.
 */

/** Bytes of a refused body a sample keeps at most; never more than half the body, so never all of it. */
export const SAMPLE_BYTES = 256;

export interface RefusedRequest {
  /** The raw body (or, for GetCourse, the merged fields as JSON); absent when the parser kept none. */
  raw?: Buffer | string;
  contentType?: string;
  /** The request URL; stored redacted (redact-url.ts). */
  url: string;
  /** Whether a signature header was sent at all (helps tell "not signed" from "signed with another key"). */
  signed?: boolean;
}

export interface RefusalSample {
  at: Date;
  /** Size of the whole body, and its SHA-256 (to match a provider's delivery log without keeping the body). */
  bytes: number;
  sha256: string | null;
  /** The first bytes of the body (at most SAMPLE_BYTES, at most half of it), e-mail addresses replaced. */
  head: string;
  contentType: string | null;
  url: string;
  signed: boolean | null;
}

/** Refusals of one source for one reason since the last drain. */
export interface RefusalBatch {
  source: Source;
  reason: string;
  count: number;
  /** Of `count`, how many were answered 429 (over the rate limit) instead of their own refusal. */
  throttled: number;
  firstAt: Date;
  lastAt: Date;
  samples: RefusalSample[];
}

interface SampleWindow {
  minute: number;
  taken: number;
}

export class RefusalTally {
  private batches = new Map<string, RefusalBatch>();
  private readonly windows = new Map<Source, SampleWindow>();

  constructor(private readonly samplesPerMinute: number) {}

  count(source: Source, reason: string, now: Date, request: RefusedRequest, throttled = false): void {
    const key = `${source}\u0000${reason}`;
    let batch = this.batches.get(key);
    if (!batch) {
      batch = { source, reason, count: 0, throttled: 0, firstAt: now, lastAt: now, samples: [] };
      this.batches.set(key, batch);
    }
    batch.count++;
    if (throttled) batch.throttled++;
    batch.lastAt = now;
    if (this.takeSample(source, now)) batch.samples.push(sampleOf(request, now));
  }

  /** Whether anything is waiting to be written. */
  get pending(): boolean {
    return this.batches.size > 0;
  }

  /** Everything counted since the last drain; the tally starts again empty. */
  drain(): RefusalBatch[] {
    const out = [...this.batches.values()];
    this.batches = new Map();
    return out;
  }

  /** Puts batches back (their write failed), merged with what was counted since: retried on the next flush. */
  restore(batches: RefusalBatch[]): void {
    for (const b of batches) {
      const key = `${b.source}\u0000${b.reason}`;
      const current = this.batches.get(key);
      if (!current) {
        this.batches.set(key, b);
        continue;
      }
      current.count += b.count;
      current.throttled += b.throttled;
      current.firstAt = b.firstAt < current.firstAt ? b.firstAt : current.firstAt;
      current.samples = [...b.samples, ...current.samples].slice(-this.samplesPerMinute * 2);
    }
  }

  private takeSample(source: Source, now: Date): boolean {
    const minute = Math.floor(now.getTime() / 60_000);
    const window = this.windows.get(source);
    if (!window || window.minute !== minute) {
      this.windows.set(source, { minute, taken: 1 });
      return this.samplesPerMinute > 0;
    }
    if (window.taken >= this.samplesPerMinute) return false;
    window.taken++;
    return true;
  }
}

export function sampleOf(request: RefusedRequest, at: Date): RefusalSample {
  const raw =
    request.raw === undefined ? undefined : Buffer.isBuffer(request.raw) ? request.raw : Buffer.from(request.raw);
  const keep = raw ? Math.min(SAMPLE_BYTES, Math.floor(raw.length / 2)) : 0;
  return {
    at,
    bytes: raw?.length ?? 0,
    sha256: raw ? createHash('sha256').update(raw).digest('hex') : null,
    // A cut may split an e-mail address: redactEmails also replaces a partial one at the end.
    head: raw ? redactEmails(raw.subarray(0, keep).toString('utf8'), { trailing: true }) : '',
    contentType: request.contentType?.slice(0, 100) ?? null,
    url: redactUrl(request.url),
    signed: request.signed ?? null,
  };
}
