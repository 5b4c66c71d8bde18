/**
 * Timestamps as the Procurement API writes them: RFC 3339 in UTC with microseconds
 * (`2026-11-02T10:15:30.123456Z`). Consumers order events by `updateTime`, so every
 * change must get a strictly later value even when two changes land in the same millisecond.
 */

export type Clock = () => string;

export function formatMicros(micros: number): string {
  const millis = Math.floor(micros / 1000);
  const extra = String(micros % 1000).padStart(3, '0');
  return new Date(millis).toISOString().replace(/Z$/, `${extra}Z`);
}

export function parseTimestamp(value: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(value);
  if (!match?.[1]) throw new RangeError(`Not an RFC 3339 UTC timestamp: ${value}`);
  const fraction = (match[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${match[1]}Z`) * 1000 + Number(fraction);
}

/** A clock whose readings strictly increase, driven by `nowMillis` (wall time by default). */
export function monotonicClock(nowMillis: () => number = Date.now): Clock {
  let last = 0;
  return () => {
    last = Math.max(nowMillis() * 1000, last + 1);
    return formatMicros(last);
  };
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function isIsoDuration(value: string): boolean {
  return value !== 'P' && value !== 'PT' && DURATION.test(value);
}

/** Adds an ISO-8601 duration such as `P1Y`, `P2Y3M` or `P30D` to an RFC 3339 timestamp. */
export function addDuration(timestamp: string, duration: string): string {
  const match = DURATION.exec(duration);
  if (!match || !isIsoDuration(duration)) throw new RangeError(`Not an ISO-8601 duration: ${duration}`);
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  const micros = parseTimestamp(timestamp);
  const date = new Date(Math.floor(micros / 1000));
  date.setUTCFullYear(date.getUTCFullYear() + (years ?? 0), date.getUTCMonth() + (months ?? 0));
  date.setUTCDate(date.getUTCDate() + 7 * (weeks ?? 0) + (days ?? 0));
  date.setUTCHours(
    date.getUTCHours() + (hours ?? 0),
    date.getUTCMinutes() + (minutes ?? 0),
    date.getUTCSeconds() + (seconds ?? 0),
  );
  return formatMicros(date.getTime() * 1000 + (micros % 1000));
}
