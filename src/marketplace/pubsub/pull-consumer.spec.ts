import { describe, expect, it } from '@jest/globals';
import { PULL_DEFAULTS, slowHandlerReport } from './pull-consumer.js';

describe('slowHandlerReport', () => {
  const now = 1_000_000_000;
  const limitMs = PULL_DEFAULTS.slowHandlerSeconds * 1000;

  it('should report nothing while every handler is younger than the limit', () => {
    expect(slowHandlerReport([], now)).toBeNull();
    expect(slowHandlerReport([{ messageId: 'a', started: now - limitMs }], now)).toBeNull();
  });

  it('should count the handlers over the limit, oldest first, and name at most ten', () => {
    const handlers = [
      { messageId: 'young', started: now - 1_000 },
      ...Array.from({ length: 12 }, (_, i) => ({ messageId: `m${i}`, started: now - limitMs - 1_000 * (i + 1) })),
    ];
    const report = slowHandlerReport(handlers, now);
    expect(report).toEqual({
      count: 12,
      oldestSeconds: PULL_DEFAULTS.slowHandlerSeconds + 12,
      messageIds: ['m11', 'm10', 'm9', 'm8', 'm7', 'm6', 'm5', 'm4', 'm3', 'm2'],
    });
  });
});
