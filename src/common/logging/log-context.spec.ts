import { describe, expect, it } from '@jest/globals';
import { logContext, newTrace, traceFromHeaders } from './log-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('traceFromHeaders', () => {
  it('should read W3C traceparent first, with its span and sampled flag', () => {
    expect(
      traceFromHeaders(
        { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, cloudTrace: `${'1'.repeat(32)}/1;o=1` },
        'proj',
      ),
    ).toEqual({ trace: `projects/proj/traces/${TRACE}`, spanId: '00f067aa0ba902b7', sampled: true });
  });

  it('should read X-Cloud-Trace-Context, its decimal span id written as 16 hex digits', () => {
    expect(traceFromHeaders({ cloudTrace: `${TRACE.toUpperCase()}/17;o=0` }, 'proj')).toEqual({
      trace: `projects/proj/traces/${TRACE}`,
      spanId: '0000000000000011',
      sampled: false,
    });
    expect(traceFromHeaders({ cloudTrace: `${TRACE}/18446744073709551615` }, 'proj').spanId).toBe('ffffffffffffffff');
    const noSpan = traceFromHeaders({ cloudTrace: TRACE }, 'proj');
    expect(noSpan.trace).toBe(`projects/proj/traces/${TRACE}`);
    expect(noSpan.spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('should start a trace of its own for a missing or malformed header', () => {
    for (const headers of [
      {},
      { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
      { traceparent: `ff-${TRACE}-00f067aa0ba902b7-01` },
      { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01` },
      { traceparent: `00-${TRACE}-00f067aa0ba902b7` },
      { cloudTrace: 'not-a-trace/1' },
      { cloudTrace: `${TRACE}/1;o=1\nInjected: x` },
      { cloudTrace: `${TRACE}/${'9'.repeat(5000)}` },
    ]) {
      const context = traceFromHeaders(headers, 'proj');
      expect(context.trace).toMatch(/^projects\/proj\/traces\/[0-9a-f]{32}$/);
      expect(context.trace).not.toContain(TRACE);
      expect(context.spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(newTrace('p').trace).not.toBe(newTrace('p').trace);
  });
});

describe('logContext', () => {
  it('should keep each delivery’s context apart across awaits, and annotate only the current one', async () => {
    const seen: (string | undefined)[] = [];
    const delivery = (key: string, delay: number) =>
      logContext.run(newTrace('p'), async () => {
        logContext.annotate({ eventKey: key });
        await new Promise((resolve) => setTimeout(resolve, delay));
        seen.push(logContext.current()?.eventKey);
      });
    await Promise.all([delivery('a', 20), delivery('b', 1)]);
    expect(seen).toEqual(['b', 'a']);
    logContext.annotate({ eventKey: 'outside' });
    expect(logContext.current()).toBeUndefined();
  });

  it('should fork a copy for a part of a delivery, or start a trace when there is none', () => {
    const parent = newTrace('p');
    logContext.run(parent, () =>
      logContext.fork('p', { job: 'publish' }, () => {
        expect(logContext.current()).toEqual({ ...parent, job: 'publish' });
      }),
    );
    expect(parent).not.toHaveProperty('job');
    logContext.fork('p', { job: 'expire' }, () => {
      expect(logContext.current()?.trace).toMatch(/^projects\/p\/traces\/[0-9a-f]{32}$/);
    });
  });
});
