import { describe, expect, it } from '@jest/globals';
import { boundFields, epochInstant, parseRfc3339 } from './input-rules.js';

describe('parseRfc3339', () => {
  it('should read RFC 3339 date-times with a zone, up to nanoseconds, as the Procurement API and Purchasely write them', () => {
    expect(parseRfc3339('2026-11-21T14:00:00Z')).toEqual(new Date('2026-11-21T14:00:00Z'));
    expect(parseRfc3339('2026-11-21T14:00:00.045123456Z')).toEqual(new Date('2026-11-21T14:00:00.045Z'));
    expect(parseRfc3339('2026-11-21T17:00:00+03:00')).toEqual(new Date('2026-11-21T14:00:00Z'));
    expect(parseRfc3339('2026-11-21t09:00:00-05:00')).toEqual(new Date('2026-11-21T14:00:00Z'));
  });

  it('should refuse what Date.parse reads leniently: no zone, no time, words, numbers, off-calendar days', () => {
    for (const text of [
      '2026-11-21T14:00:00',
      '2026-11-21',
      '2026',
      '12',
      'Dec 1 2026',
      '1764666000',
      '2026-02-30T10:00:00Z',
      '2026-11-21T24:00:00Z',
      '2026-11-21T14:00:00+24:00',
      ' 2026-11-21T14:00:00Z',
      '',
    ]) {
      expect({ text, parsed: parseRfc3339(text) }).toEqual({ text, parsed: null });
    }
  });
});

describe('epochInstant', () => {
  it('should read seconds and milliseconds of this era', () => {
    expect(epochInstant(1_764_666_000, 's')).toEqual(new Date('2025-12-02T09:00:00Z'));
    expect(epochInstant(1_764_666_000_000, 'ms')).toEqual(new Date('2025-12-02T09:00:00Z'));
  });

  it('should refuse numbers in a unit the provider never sends', () => {
    expect(epochInstant(1_764_666_000, 'ms')).toBeNull(); // seconds in a milliseconds field
    expect(epochInstant(1_764_666_000_000_000, 'ms')).toBeNull(); // microseconds: the year 57 890
    expect(epochInstant(1_764_666_000_000, 's')).toBeNull(); // milliseconds in a seconds field
    expect(epochInstant(30, 's')).toBeNull(); // a duration
    for (const n of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(epochInstant(n, 'ms')).toBeNull();
  });
});

describe('boundFields', () => {
  it('should keep the refused fields that bound access, in order', () => {
    expect(boundFields({ finish_at: 'end', start_at: 'start' }, ['email', 'start_at', 'finish_at'])).toEqual([
      'start_at',
      'finish_at',
    ]);
  });
});
