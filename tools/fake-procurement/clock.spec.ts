import { describe, expect, it } from '@jest/globals';
import { addDuration, formatMicros, isIsoDuration, monotonicClock, parseTimestamp } from './clock.js';

describe('monotonicClock', () => {
  it('should write RFC 3339 timestamps with microseconds in UTC', () => {
    const clock = monotonicClock(() => Date.parse('2026-11-02T10:15:30.123Z'));

    expect(clock()).toBe('2026-11-02T10:15:30.123000Z');
  });

  it('should give strictly increasing readings within the same millisecond', () => {
    const clock = monotonicClock(() => Date.parse('2026-11-02T10:15:30.123Z'));

    const readings = [clock(), clock(), clock()];

    expect(readings).toEqual([
      '2026-11-02T10:15:30.123000Z',
      '2026-11-02T10:15:30.123001Z',
      '2026-11-02T10:15:30.123002Z',
    ]);
    expect([...readings].sort()).toEqual(readings);
  });

  it('should never go backwards when the wall clock does', () => {
    let now = Date.parse('2026-11-02T10:15:30.500Z');
    const clock = monotonicClock(() => now);
    const first = clock();
    now -= 1000;

    expect(parseTimestamp(clock())).toBeGreaterThan(parseTimestamp(first));
  });
});

describe('parseTimestamp', () => {
  it('should read timestamps with 0, 3, 6 or 9 fractional digits', () => {
    expect(parseTimestamp('2026-11-02T10:14:00Z')).toBe(Date.parse('2026-11-02T10:14:00Z') * 1000);
    expect(parseTimestamp('2026-11-02T10:14:00.5Z') - parseTimestamp('2026-11-02T10:14:00Z')).toBe(500_000);
    expect(formatMicros(parseTimestamp('2022-07-18T09:42:51.275760Z'))).toBe('2022-07-18T09:42:51.275760Z');
    expect(formatMicros(parseTimestamp('2022-07-18T09:42:51.275760999Z'))).toBe('2022-07-18T09:42:51.275760Z');
  });

  it('should refuse a timestamp without a UTC designator', () => {
    expect(() => parseTimestamp('2026-11-02T10:14:00+01:00')).toThrow(RangeError);
  });
});

describe('addDuration', () => {
  it('should add calendar years, months and days', () => {
    expect(addDuration('2026-11-02T10:20:00.000001Z', 'P1Y')).toBe('2027-11-02T10:20:00.000001Z');
    expect(addDuration('2026-11-02T10:20:00Z', 'P2Y3M')).toBe('2029-02-02T10:20:00.000000Z');
    expect(addDuration('2026-12-15T00:00:00Z', 'P1M')).toBe('2027-01-15T00:00:00.000000Z');
    expect(addDuration('2026-11-02T00:00:00Z', 'P1W2DT3H')).toBe('2026-11-11T03:00:00.000000Z');
  });

  it('should recognise only ISO-8601 durations', () => {
    expect(isIsoDuration('P1Y')).toBe(true);
    expect(isIsoDuration('PT30M')).toBe(true);
    expect(isIsoDuration('P')).toBe(false);
    expect(isIsoDuration('1 year')).toBe(false);
    expect(() => addDuration('2026-11-02T00:00:00Z', 'monthly')).toThrow(RangeError);
  });
});
