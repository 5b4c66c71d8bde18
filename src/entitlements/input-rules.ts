/**
 * Input rules shared by every source (docs/input-rules.md). A field whose absence widens access
 * (no end date, no start date) is read strictly: a value that is present but unusable (an
 * unsubstituted template variable, an unparseable date, a number in a unit the provider never
 * sends) is refused, never taken as absent. An approver can then resolve the refused event with
 * an explicit window (`WindowOverride`) through the admin API.
 */

/** Which side of the access window a provider field sets. */
export type Bound = 'end' | 'start';

/** The provider fields of one source that bound access, by the provider's own names. */
export type Bounds = Readonly<Record<string, Bound>>;

/** What an approver supplies for a refused event: it stands in for the provider's value. */
export interface WindowOverride {
  /** An explicit end of access, or `null`: explicitly open-ended. */
  validUntil: Date | null;
  /** An explicit start of access; `null` when none was given. */
  validFrom: Date | null;
}

/** The approver's resolution of a refused event, kept on its event record once applied. */
export interface Resolution extends WindowOverride {
  actor: { kind: 'user' | 'api-key'; id: string };
  reason: string;
  at: Date;
}

/** The fields of a refusal that bound access (those an approver may supply), in order. */
export function boundFields(bounds: Bounds, fields: readonly string[]): string[] {
  return fields.filter((f) => Object.hasOwn(bounds, f));
}

export const RFC3339_EXAMPLE = '2026-11-21T14:00:00Z';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 date-time with a zone (`2026-11-21T14:00:00Z`, `…+03:00`, up to nanoseconds), as
 * Google's and Purchasely's APIs write them; `null` for anything else, or a date not on the calendar.
 * Stricter than `Date.parse`, which reads `2026`, `12` or `Dec 1 2026` (in the server's zone) too.
 */
export function parseRfc3339(text: string): Date | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '0', zone = 'Z'] = m;
  const day = new Date(Date.UTC(+y!, +mo! - 1, +d!));
  if (day.getUTCFullYear() !== +y! || day.getUTCMonth() !== +mo! - 1 || day.getUTCDate() !== +d!) return null;
  if (+h! > 23 || +mi! > 59 || +s! > 59) return null;
  const offset =
    zone.toUpperCase() === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6));
  if (Math.abs(offset) >= 24 * 60) return null;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, Math.floor(Number(`0.${frac}`) * 1000));
  const date = new Date(ms - offset * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Plausible Unix times by unit: seconds from 2001-09-09 (10 digits) and milliseconds from 1973-03-03
 * (12–13 digits), both before 2286-11-20. Outside that, the number is in a unit the provider never
 * sends (seconds where milliseconds belong, microseconds, a duration): refused, never read as a date.
 */
const EPOCH_RANGE = { s: [1e9, 1e10], ms: [1e11, 1e13] } as const;

export function epochInstant(value: number, unit: 's' | 'ms'): Date | null {
  const [min, max] = EPOCH_RANGE[unit];
  if (!Number.isFinite(value) || value < min || value >= max) return null;
  return new Date(unit === 's' ? value * 1000 : value);
}
