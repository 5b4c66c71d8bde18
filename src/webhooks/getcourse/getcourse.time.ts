/**
 * GetCourse fills `{object.finish_at}` and friends with the school's local time and no zone:
 * `2026-11-21 14:00:00`. These helpers read such a text and place it in an IANA time zone,
 * with `Intl` only (no date library).
 */

/** A wall-clock time in the school's zone, or an absolute instant when the text carried a zone. */
export type GetCourseTime =
  | {
      kind: 'local';
      year: number;
      month: number;
      day: number;
      hour: number;
      minute: number;
      second: number;
    }
  | { kind: 'absolute'; date: Date };

const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const RU_LOCAL = /^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Accepted: `YYYY-MM-DD HH:MM:SS` (what GetCourse sends), `YYYY-MM-DD HH:MM`, `YYYY-MM-DD`
 * (midnight), `DD.MM.YYYY[ HH:MM[:SS]]` (the Russian display form), and ISO-8601 with `T`; a
 * trailing `Z` or offset makes the time absolute. Anything else, or a date not on the calendar, is null.
 */
export function parseGetCourseTime(text: string): GetCourseTime | null {
  const value = text.trim();
  let parts: [string, string, string, string?, string?, string?];
  let zone: string | undefined;
  const iso = ISO_LOCAL.exec(value);
  const ru = iso ? null : RU_LOCAL.exec(value);
  if (iso) {
    parts = [iso[1]!, iso[2]!, iso[3]!, iso[4], iso[5], iso[6]];
    zone = iso[7];
  } else if (ru) {
    parts = [ru[3]!, ru[2]!, ru[1]!, ru[4], ru[5], ru[6]];
  } else {
    return null;
  }
  const [year, month, day, hour = 0, minute = 0, second = 0] = parts.map((p) =>
    p === undefined ? undefined : Number(p),
  );
  if (!validWallClock(year!, month!, day!, hour, minute, second)) return null;
  if (zone) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.replace(/[+:-]/g, '');
    const offsetMs =
      zone.toUpperCase() === 'Z' ? 0 : sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
    return {
      kind: 'absolute',
      date: new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second) - offsetMs),
    };
  }
  return {
    kind: 'local',
    year: year!,
    month: month!,
    day: day!,
    hour,
    minute,
    second,
  };
}

/**
 * The instant a GetCourse time denotes in `timeZone`. A wall-clock time skipped by a DST jump is
 * read with the offset before the jump (so it lands after the gap); a repeated one takes the
 * earlier instant. Moscow (the usual school zone) has had no DST since 2014.
 */
export function toInstant(time: GetCourseTime, timeZone: string): Date {
  if (time.kind === 'absolute') return time.date;
  const wall = Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second);
  // The offsets a day either side cover both sides of any transition near this time.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const candidates = [before, offsetAt(wall, timeZone), offsetAt(wall + DAY_MS, timeZone)].map((o) => wall - o);
  const real = candidates.filter((t) => t + offsetAt(t, timeZone) === wall).sort((a, b) => a - b);
  return new Date(real[0] ?? wall - before);
}

const DAY_MS = 86_400_000;

/** Whether `name` is an IANA time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `ms`, in milliseconds (Moscow: +3 h). */
function offsetAt(ms: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const shown = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return shown - Math.floor(ms / 1000) * 1000;
}

function validWallClock(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return (
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  );
}
