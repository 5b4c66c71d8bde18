import { describe, expect, it } from '@jest/globals';
import {
  addValue,
  checkVerdict,
  closedUntil,
  decideRecord,
  nextWindowStart,
  operationId,
  reportFailure,
  serviceControlOperation,
  type BindContext,
  type ReportedMetric,
} from './usage-windows.js';

const HOUR = 3_600_000;
const api: ReportedMetric = { metric: 'api_calls', serviceControlName: 'svc.example.com/api_calls', type: 'int64' };
const gib: ReportedMetric = { metric: 'gib', serviceControlName: 'svc.example.com/gib', type: 'double' };
const at = (iso: string) => new Date(iso);

function ctx(overrides: Partial<BindContext> = {}): BindContext {
  return {
    metrics: new Map([
      ['api_calls', api],
      ['gib', gib],
    ]),
    starts: new Map([
      ['api_calls', at('2026-11-01T10:00:00Z')],
      ['gib', at('2026-11-01T10:00:00Z')],
    ]),
    closedMetrics: new Set(),
    end: at('2026-11-01T11:00:00Z'),
    final: false,
    now: at('2026-11-01T11:05:00Z'),
    maxFutureMs: 24 * HOUR,
    ...overrides,
  };
}

describe('usage windows (pure core)', () => {
  it('should derive the same RFC 4122 v5 operation id from the same entitlement, metric and start, and another otherwise', () => {
    const start = at('2026-11-01T10:00:00Z');
    const id = operationId('gcp:e-1', 'api_calls', start);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(operationId('gcp:e-1', 'api_calls', new Date(start))).toBe(id);
    expect(operationId('gcp:e-2', 'api_calls', start)).not.toBe(id);
    expect(operationId('gcp:e-1', 'gib', start)).not.toBe(id);
    expect(operationId('gcp:e-1', 'api_calls', new Date(start.getTime() + HOUR))).not.toBe(id);
  });

  it('should close windows on the grid and start each one at the previous end', () => {
    expect(closedUntil(at('2026-11-01T10:59:59.999Z'), HOUR)).toEqual(at('2026-11-01T10:00:00Z'));
    expect(closedUntil(at('2026-11-01T11:00:00Z'), HOUR)).toEqual(at('2026-11-01T11:00:00Z'));
    expect(nextWindowStart(null, at('2026-11-01T10:20:00Z'), HOUR)).toEqual(at('2026-11-01T10:00:00Z'));
    expect(nextWindowStart(at('2026-11-01T12:00:00Z'), at('2026-11-01T10:20:00Z'), HOUR)).toEqual(
      at('2026-11-01T12:00:00Z'),
    );
  });

  it('should add int64 values exactly beyond 2^53 and doubles as numbers', () => {
    let sum = '0';
    for (let i = 0; i < 4; i++) sum = addValue('int64', sum, Number.MAX_SAFE_INTEGER);
    expect(sum).toBe((BigInt(Number.MAX_SAFE_INTEGER) * 4n).toString());
    expect(addValue('double', '0.5', 0.25)).toBe('0.75');
  });

  it('should bind a record timed inside the window, leave one at or after its end, and bind a late one to the open window', () => {
    expect(decideRecord({ metric: 'api_calls', value: 3, time: at('2026-11-01T10:59:59Z') }, ctx())).toMatchObject({
      kind: 'bind',
      late: false,
    });
    expect(decideRecord({ metric: 'api_calls', value: 3, time: at('2026-11-01T11:00:00Z') }, ctx())).toEqual({
      kind: 'leave',
    });
    expect(decideRecord({ metric: 'api_calls', value: 3, time: at('2026-11-01T08:00:00Z') }, ctx())).toMatchObject({
      kind: 'bind',
      late: true,
      windowStart: at('2026-11-01T10:00:00Z'),
    });
  });

  it('should bind every valid record of a final window, whatever its time before the horizon', () => {
    const final = ctx({ final: true, end: at('2026-11-01T11:05:00Z') });
    expect(decideRecord({ metric: 'api_calls', value: 1, time: at('2026-11-01T11:04:00Z') }, final).kind).toBe('bind');
    expect(decideRecord({ metric: 'api_calls', value: 1, time: at('2026-11-03T00:00:00Z') }, final)).toEqual({
      kind: 'reject',
      reason: 'time too far in the future',
    });
  });

  it('should refuse unknown metrics and values a metric cannot bill, and hold records of a window being sent', () => {
    const t = at('2026-11-01T10:30:00Z');
    expect(decideRecord({ metric: 'bogus', value: 1, time: t }, ctx()).kind).toBe('reject');
    expect(decideRecord({ metric: 'api_calls', value: 1.5, time: t }, ctx()).kind).toBe('reject');
    expect(decideRecord({ metric: 'api_calls', value: -1, time: t }, ctx()).kind).toBe('reject');
    expect(decideRecord({ metric: 'gib', value: 1.5, time: t }, ctx()).kind).toBe('bind');
    expect(decideRecord({ metric: 'api_calls', value: '1', time: t }, ctx()).kind).toBe('reject');
    expect(
      decideRecord({ metric: 'api_calls', value: 1, time: t }, ctx({ closedMetrics: new Set(['api_calls']) })),
    ).toEqual({ kind: 'leave' });
    // Reporting began inside the current window: nothing closes before its end.
    expect(decideRecord({ metric: 'api_calls', value: 1, time: t }, ctx({ end: at('2026-11-01T10:00:00Z') }))).toEqual({
      kind: 'leave',
    });
  });

  it('should build the operation Google documents: int64 as a string, double as a number, labels only when set', () => {
    const window = {
      operationId: 'op-1',
      serviceControlName: api.serviceControlName,
      type: 'int64' as const,
      value: '120',
      start: at('2026-11-01T10:00:00Z'),
      end: at('2026-11-01T11:00:00Z'),
    };
    expect(serviceControlOperation(window, 'project_number:1')).toEqual({
      operationId: 'op-1',
      operationName: 'Usage Report',
      consumerId: 'project_number:1',
      startTime: '2026-11-01T10:00:00.000Z',
      endTime: '2026-11-01T11:00:00.000Z',
      metricValueSets: [{ metricName: 'svc.example.com/api_calls', metricValues: [{ int64Value: '120' }] }],
    });
    const labelled = serviceControlOperation({ ...window, type: 'double', value: '2.5' }, 'c', { k: 'v' });
    expect(labelled.metricValueSets[0]!.metricValues).toEqual([{ doubleValue: 2.5 }]);
    expect(labelled.userLabels).toEqual({ k: 'v' });
  });

  it('should stop on consumer errors, retry on transient ones, and report on none', () => {
    const e = (code: string) => ({ code, detail: null, subject: null });
    expect(checkVerdict([])).toBe('report');
    expect(checkVerdict([e('SERVICE_STATUS_UNAVAILABLE')])).toBe('retry');
    expect(checkVerdict([e('BILLING_DISABLED')])).toBe('stop');
    expect(checkVerdict([e('SERVICE_STATUS_UNAVAILABLE'), e('PROJECT_DELETED')])).toBe('stop');
  });

  it('should treat a report without an answer, or a 5xx, as possibly received (never resent)', () => {
    expect(reportFailure(undefined, 'ECONNREFUSED')).toBe('not_sent');
    expect(reportFailure(undefined, 'ECONNRESET')).toBe('unknown');
    expect(reportFailure(undefined, undefined)).toBe('unknown');
    expect(reportFailure(503, undefined)).toBe('unknown');
    expect(reportFailure(429, undefined)).toBe('not_sent');
    expect(reportFailure(403, undefined)).toBe('not_sent');
    expect(reportFailure(400, undefined)).toBe('refused');
  });
});
