import { createHash } from 'node:crypto';
import type { UsageMetricConfig } from '../config/usage.schema.js';

/**
 * The pure core of usage reporting: windows, operation ids, sums, and what Service Control's answers mean.
 * No SDK, no clock: every time comes in as an argument.
 */

export type MetricType = UsageMetricConfig['type'];

/** A metric as one entitlement reports it. */
export interface ReportedMetric {
  metric: string;
  serviceControlName: string;
  type: MetricType;
}

/** `usage/{entitlementId}/records/{recordId}` as the reporter reads it. */
export interface UsageRecord {
  id: string;
  metric: string;
  value: number;
  time: Date;
}

export type WindowState = 'collecting' | 'pending' | 'sending' | 'reported' | 'refused' | 'uncertain';
/** States after which a window never changes again. */
export const FINAL_WINDOW_STATES: readonly WindowState[] = ['reported', 'refused', 'uncertain'];

/** `usage/{entitlementId}/windows/{metric}:{startMs}`: one Service Control operation. */
export interface UsageWindow {
  id: string;
  entitlementId: string;
  metric: string;
  serviceControlName: string;
  type: MetricType;
  start: Date;
  end: Date;
  /** int64: decimal string (exact, any size); double: the number as a string. */
  value: string;
  records: number;
  /** Records whose own time was before `start`: arrived after their window had been reported. */
  lateRecords: number;
  operationId: string;
  state: WindowState;
  /** The entitlement ended: the last window, reported up to the moment the reporter saw it end. */
  final: boolean;
  attempts: number;
  lastError: string | null;
  checkErrors: CheckError[];
  createdAt: Date;
  updatedAt: Date;
  reportedAt: Date | null;
  leaseUntil: Date | null;
}

export function windowId(metric: string, start: Date): string {
  return `${metric}:${start.getTime()}`;
}

/** Fixed namespace of our operation ids (a random v4 UUID, chosen once: changing it would change every id). */
const NAMESPACE = '6f1d3c52-8a4e-4b7f-9c1a-2e5d7b9f0a13';

/**
 * The window's operation id, the same for its check and its report and for every attempt: an RFC 4122 version-5
 * UUID of (entitlement, metric, window start), as Service Control's `Operation.operation_id` recommends "where an
 * operation is computed from existing information and an idempotent id is desirable for deduplication".
 */
export function operationId(entitlementId: string, metric: string, start: Date): string {
  const ns = Buffer.from(NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(`${entitlementId}\n${metric}\n${start.toISOString()}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The last window boundary at or before `now` (windows are aligned to the epoch: hourly windows end on the hour). */
export function closedUntil(now: Date, windowMs: number): Date {
  return new Date(Math.floor(now.getTime() / windowMs) * windowMs);
}

/** Where a metric's next window starts: the previous report's end, else when reporting began (on the grid). */
export function nextWindowStart(checkpoint: Date | null, since: Date, windowMs: number): Date {
  return checkpoint ?? closedUntil(since, windowMs);
}

/** Why a value cannot be reported for a metric of this type, or null when it can. */
export function valueProblem(type: MetricType, value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'value must be a finite number';
  if (value < 0) return 'value must not be negative (usage is a delta, added up per window)';
  if (type === 'int64' && !Number.isSafeInteger(value)) return 'value must be a whole number (int64 metric)';
  return null;
}

/** Adds a record's value to a window's sum: exact for int64 (BigInt), IEEE for double. */
export function addValue(type: MetricType, sum: string, value: number): string {
  if (type === 'int64') return (BigInt(sum) + BigInt(value)).toString();
  return String(Number(sum) + value);
}

export type RecordDecision =
  | { kind: 'bind'; metric: ReportedMetric; windowStart: Date; late: boolean }
  | { kind: 'leave' }
  | { kind: 'reject'; reason: string };

export interface BindContext {
  metrics: ReadonlyMap<string, ReportedMetric>;
  /** Per metric: where its open window starts. */
  starts: ReadonlyMap<string, Date>;
  /** Metrics whose window at that start is no longer collecting (being sent): their records wait for the next. */
  closedMetrics: ReadonlySet<string>;
  /** Records timed before this are bound (unless `final`, where every valid record is). */
  end: Date;
  final: boolean;
  now: Date;
  maxFutureMs: number;
}

/**
 * What happens to one pending record in a collection pass. A record of a metric the plan does not report, or with a
 * value or time that cannot be billed, is refused (kept, with the reason: never reported, never retried); a record
 * timed at or after the window's end waits; any other is bound to its metric's open window, even when its own time
 * lies in a window already reported (a late record goes into the next window, never lost, never counted twice).
 */
export function decideRecord(
  record: { metric?: unknown; value?: unknown; time?: unknown },
  ctx: BindContext,
): RecordDecision {
  if (typeof record.metric !== 'string') return { kind: 'reject', reason: 'metric missing' };
  const metric = ctx.metrics.get(record.metric);
  if (!metric) return { kind: 'reject', reason: `metric "${record.metric.slice(0, 64)}" is not reported by this plan` };
  const problem = valueProblem(metric.type, record.value);
  if (problem) return { kind: 'reject', reason: problem };
  if (!(record.time instanceof Date) || Number.isNaN(record.time.getTime()))
    return { kind: 'reject', reason: 'time missing' };
  if (record.time.getTime() > ctx.now.getTime() + ctx.maxFutureMs)
    return { kind: 'reject', reason: 'time too far in the future' };
  if (ctx.closedMetrics.has(metric.metric)) return { kind: 'leave' };
  if (!ctx.final && record.time.getTime() >= ctx.end.getTime()) return { kind: 'leave' };
  const windowStart = ctx.starts.get(metric.metric)!;
  // The metric's window has not closed yet (reporting began inside the current window).
  if (ctx.end.getTime() <= windowStart.getTime()) return { kind: 'leave' };
  return { kind: 'bind', metric, windowStart, late: record.time.getTime() < windowStart.getTime() };
}

/** A Service Control `Operation` (v1) for one window. Reserved Marketplace labels go on report only. */
export function serviceControlOperation(
  window: Pick<UsageWindow, 'operationId' | 'serviceControlName' | 'type' | 'value' | 'start' | 'end'>,
  consumerId: string,
  userLabels?: Record<string, string>,
) {
  const metricValue = window.type === 'int64' ? { int64Value: window.value } : { doubleValue: Number(window.value) };
  return {
    operationId: window.operationId,
    operationName: 'Usage Report',
    consumerId,
    startTime: window.start.toISOString(),
    endTime: window.end.toISOString(),
    metricValueSets: [{ metricName: window.serviceControlName, metricValues: [metricValue] }],
    ...(userLabels && Object.keys(userLabels).length ? { userLabels } : {}),
  };
}

export interface CheckError {
  code: string;
  detail: string | null;
  subject: string | null;
}

/** `CheckError.Code`s that say only that Google could not decide now: try the window again on the next run. */
const TRANSIENT_CHECK_CODES = new Set([
  'NAMESPACE_LOOKUP_UNAVAILABLE',
  'SERVICE_STATUS_UNAVAILABLE',
  'BILLING_STATUS_UNAVAILABLE',
  'CLOUD_RESOURCE_MANAGER_BACKEND_UNAVAILABLE',
  'RESOURCE_EXHAUSTED',
]);

/**
 * What `services.check`'s `checkErrors` mean for the window: none → report it; only transient codes → try again
 * next run; anything else (SERVICE_NOT_ACTIVATED, BILLING_DISABLED, PROJECT_DELETED, CONSUMER_INVALID, …: the
 * customer's service is off, suspended or gone) → stop reporting this entitlement, nothing is billed.
 */
export function checkVerdict(errors: readonly CheckError[]): 'report' | 'retry' | 'stop' {
  if (errors.length === 0) return 'report';
  return errors.every((e) => TRANSIENT_CHECK_CODES.has(e.code)) ? 'retry' : 'stop';
}

/**
 * What a failed `services.report` call means. `not_sent`: the request never reached Google, or Google answered
 * that it did not process it (429, 401/403: our credentials) → the same window is sent again later. `refused`: a
 * definite 4xx about the operation itself → never billed, never resent. `unknown`: no answer, or a 5xx, which
 * Google documents as "a general non-deterministic failure … impossible to know which Operations succeeded" →
 * the window becomes `uncertain` and is not sent again (see docs/usage-reporting.md, "Exactly once").
 */
export type ReportFailure = 'not_sent' | 'refused' | 'unknown';

export function reportFailure(httpStatus: number | undefined, networkCode: string | undefined): ReportFailure {
  if (httpStatus === undefined) {
    return networkCode && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(networkCode) ? 'not_sent' : 'unknown';
  }
  if (httpStatus === 429 || httpStatus === 401 || httpStatus === 403) return 'not_sent';
  if (httpStatus >= 400 && httpStatus < 500) return 'refused';
  return 'unknown';
}
