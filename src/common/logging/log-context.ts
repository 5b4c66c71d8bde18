import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * What every log line written while handling one delivery says about it: its trace and span
 * (Cloud Logging groups a request's lines by them), and, once known, the source, event key,
 * Pub/Sub message id, entitlement id, lifecycle job and run id. AppLogger adds the context's
 * fields to every line (framework lines too); fields a call passes itself win.
 */
export interface DeliveryContext {
  /** `projects/<project>/traces/<32 hex>`. */
  trace: string;
  /** 16 hex digits. */
  spanId: string;
  /** Whether the caller sampled the trace (its header said so). */
  sampled?: boolean;
  source?: string;
  eventKey?: string;
  messageId?: string;
  entitlementId?: string;
  job?: string;
  runId?: string;
}

export type ContextFields = Omit<DeliveryContext, 'trace' | 'spanId' | 'sampled'>;

/**
 * Marks a context that spans many events (a lifecycle job): the events it handles do not annotate
 * it, their lines name them themselves. A symbol, so log lines never show it.
 */
const BATCH = Symbol('batch');
type Stored = DeliveryContext & { [BATCH]?: true };
const PER_EVENT = new Set<keyof ContextFields>(['source', 'eventKey', 'messageId', 'entitlementId']);

/**
 * One AsyncLocalStorage for the whole service, entered with one `run` per delivery (an HTTP
 * request, a pulled message, a timer tick), never with `enterWith`; what is learnt later (the
 * event key once the payload is parsed) is written into the same object (`annotate`). The cost
 * was measured against handing a context object down the calls (docs/performance.md, "Log context").
 */
const storage = new AsyncLocalStorage<Stored>();

export const logContext = {
  /** The context of the delivery being handled, if any. */
  current(): DeliveryContext | undefined {
    return storage.getStore();
  },

  /** Runs `work` as one delivery: every line it logs carries `context`. */
  run<T>(context: DeliveryContext, work: () => T): T {
    return storage.run(context, work);
  },

  /**
   * Runs `work` as a part of the current delivery with fields of its own (a lifecycle job inside a
   * Scheduler request, the publish pass inside a job), or as a new trace when there is none (a timer tick).
   */
  fork<T>(projectId: string, fields: ContextFields, work: () => T, options: { batch?: boolean } = {}): T {
    const current = storage.getStore();
    const context: Stored = { ...(current ?? newTrace(projectId)), ...fields };
    if (options.batch) context[BATCH] = true;
    return storage.run(context, work);
  },

  /** Adds what became known about the delivery (no-op outside one). */
  annotate(fields: ContextFields): void {
    const context = storage.getStore();
    if (!context) return;
    for (const [key, value] of Object.entries(fields) as [keyof ContextFields, string | undefined][]) {
      if (value !== undefined && !(context[BATCH] && PER_EVENT.has(key))) context[key] = value;
    }
  },
};

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** X-Cloud-Trace-Context's span id is a decimal uint64. */
const DECIMAL_SPAN = /^\d{1,20}$/;
const MAX_UINT64 = 2n ** 64n - 1n;

/** A trace of its own (a pulled message, a timer tick, a request that brought none). */
export function newTrace(projectId: string): DeliveryContext {
  return { trace: traceName(projectId, randomBytes(16).toString('hex')), spanId: randomBytes(8).toString('hex') };
}

/**
 * The trace a request belongs to: W3C `traceparent` (`00-<trace>-<span>-<flags>`) first, else Google's
 * `X-Cloud-Trace-Context` (`<trace>/<decimal span>;o=1`); a request with neither (or a malformed one)
 * starts a trace of its own. Header values are hostile: anything but the exact shapes is ignored.
 */
export function traceFromHeaders(
  headers: { traceparent?: string; cloudTrace?: string },
  projectId: string,
): DeliveryContext {
  return (
    fromTraceparent(headers.traceparent, projectId) ??
    fromCloudTrace(headers.cloudTrace, projectId) ??
    newTrace(projectId)
  );
}

function fromTraceparent(header: string | undefined, projectId: string): DeliveryContext | undefined {
  if (!header || header.length > 128) return undefined;
  const [version, traceId, spanId, flags] = header.trim().toLowerCase().split('-');
  if (version === undefined || !/^[0-9a-f]{2}$/.test(version) || version === 'ff') return undefined;
  if (!traceId || !TRACE_ID.test(traceId) || traceId === ZERO_TRACE) return undefined;
  if (!spanId || !SPAN_ID.test(spanId) || spanId === ZERO_SPAN) return undefined;
  if (!flags || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  return { trace: traceName(projectId, traceId), spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

function fromCloudTrace(header: string | undefined, projectId: string): DeliveryContext | undefined {
  if (!header || header.length > 128) return undefined;
  const match = /^([0-9a-fA-F]{32})(?:\/(\d+))?(?:;o=([01]))?$/.exec(header.trim());
  if (!match) return undefined;
  const traceId = match[1]!.toLowerCase();
  if (traceId === ZERO_TRACE) return undefined;
  const span = match[2] && DECIMAL_SPAN.test(match[2]) ? BigInt(match[2]) : 0n;
  const spanId = span > 0n && span <= MAX_UINT64 ? span.toString(16).padStart(16, '0') : randomBytes(8).toString('hex');
  return { trace: traceName(projectId, traceId), spanId, ...(match[3] ? { sampled: match[3] === '1' } : {}) };
}

function traceName(projectId: string, traceId: string): string {
  return `projects/${projectId}/traces/${traceId}`;
}
