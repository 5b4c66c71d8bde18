import { describe, expect, it } from '@jest/globals';
import { isTimeZone, parseGetCourseTime, toInstant } from './getcourse.time.js';

const at = (text: string, zone: string) => {
  const parsed = parseGetCourseTime(text);
  if (!parsed) throw new Error(`did not parse ${text}`);
  return toInstant(parsed, zone).toISOString();
};

describe('GetCourse local times', () => {
  it('should read the school time in Moscow (UTC+3, no DST)', () => {
    expect(at('2026-11-21 14:00:00', 'Europe/Moscow')).toBe('2026-11-21T11:00:00.000Z');
    expect(at('2026-07-01 00:30:00', 'Europe/Moscow')).toBe('2026-06-30T21:30:00.000Z');
  });

  it('should read the same text in another school zone', () => {
    expect(at('2026-11-21 14:00:00', 'Asia/Yekaterinburg')).toBe('2026-11-21T09:00:00.000Z');
    expect(at('2026-11-21 14:00:00', 'UTC')).toBe('2026-11-21T14:00:00.000Z');
    expect(at('2026-11-21 14:00:00', 'America/New_York')).toBe('2026-11-21T19:00:00.000Z');
  });

  it('should accept the other forms GetCourse shows, and honour an explicit zone', () => {
    expect(at('2026-11-21 14:00', 'Europe/Moscow')).toBe('2026-11-21T11:00:00.000Z');
    expect(at('2026-11-21', 'Europe/Moscow')).toBe('2026-11-20T21:00:00.000Z');
    expect(at('21.11.2026 14:00:00', 'Europe/Moscow')).toBe('2026-11-21T11:00:00.000Z');
    expect(at('21.11.2026', 'Europe/Moscow')).toBe('2026-11-20T21:00:00.000Z');
    expect(at('2026-11-21T14:00:00', 'Europe/Moscow')).toBe('2026-11-21T11:00:00.000Z');
    expect(at('2026-11-21T14:00:00+05:00', 'Europe/Moscow')).toBe('2026-11-21T09:00:00.000Z');
    expect(at('2026-11-21T14:00:00Z', 'Europe/Moscow')).toBe('2026-11-21T14:00:00.000Z');
  });

  it('should place times around a DST change: summer and winter offsets, a skipped hour, a repeated hour', () => {
    expect(at('2026-07-01 12:00:00', 'Europe/Berlin')).toBe('2026-07-01T10:00:00.000Z');
    expect(at('2026-12-01 12:00:00', 'Europe/Berlin')).toBe('2026-12-01T11:00:00.000Z');
    // 02:30 does not exist on 2026-03-29 in Berlin: read with the winter offset, it lands at 03:30 CEST.
    expect(at('2026-03-29 02:30:00', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z');
    // 02:30 happens twice on 2026-10-25: the earlier (CEST) one is taken.
    expect(at('2026-10-25 02:30:00', 'Europe/Berlin')).toBe('2026-10-25T00:30:00.000Z');
  });

  it('should refuse texts that are not dates or not on the calendar', () => {
    for (const text of [
      '2026-02-30 10:00:00',
      '2026-11-21 24:00:00',
      '2026-13-01',
      '31.04.2026',
      'завтра',
      '{object.finish_at}',
      '',
    ]) {
      expect(parseGetCourseTime(text)).toBeNull();
    }
  });

  it('should know IANA zone names and refuse others', () => {
    expect(isTimeZone('Europe/Moscow')).toBe(true);
    expect(isTimeZone('Moscow')).toBe(false);
  });
});
