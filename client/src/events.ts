/**
 * Typed decoder of the outbound change events (docs/change-events.md): `entitlement.changed` and
 * `entitlement.expiring`, schema version 1. Hand-written validation, no dependency: every field the
 * contract defines is checked, fields it does not define are dropped (the contract only adds fields
 * within a schema version), and an unknown schema version is refused before anything else is read.
 */
import { ChangeEventError } from './errors.js';
import type { AccessStatus, Source } from './access.js';

/** The schema version this client reads. */
export const SUPPORTED_SCHEMA_VERSION = 1;
/** Largest event accepted, in bytes of JSON (the service's events are well under 2 KiB). */
export const MAX_EVENT_BYTES = 64 * 1024;

export type EntitlementStatus =
  AccessStatus | 'pending_approval' | 'suspended' | 'expired' | 'cancelled' | 'rejected' | (string & {});

/** An entitlement's state as an event carries it. */
export interface EntitlementState {
  readonly status: EntitlementStatus;
  /** The status grants access and the window contained the time of the change. */
  readonly active: boolean;
  readonly product: string;
  readonly plan: string | null;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  /** `null` once the customer's data was erased. */
  readonly subjectKey: string | null;
}

interface EventBase {
  readonly schemaVersion: 1;
  /** Unique and stable: deduplicate on it (delivery is at least once). */
  readonly id: string;
  readonly entitlementId: string;
  readonly source: Source | (string & {});
  /** The entitlement's version: keep the highest seen. */
  readonly entitlementVersion: number;
  readonly state: EntitlementState;
  readonly occurredAt: Date;
}

export interface EntitlementChangedEvent extends EventBase {
  readonly type: 'entitlement.changed';
  /** The state before the change; `null` for the first change of an entitlement. */
  readonly previous: EntitlementState | null;
  readonly sourceEvent: { readonly source: string; readonly key: string; readonly type: string };
}

export interface EntitlementExpiringEvent extends EventBase {
  readonly type: 'entitlement.expiring';
  /** The end of access the source gave. */
  readonly validUntil: Date;
  /** When the expiry sweep ends access if nothing renews it first (`validUntil` + the source's grace). */
  readonly accessEndsAt: Date;
}

export type ChangeEvent = EntitlementChangedEvent | EntitlementExpiringEvent;

/** A Pub/Sub message as `@google-cloud/pubsub` (or a push request's `message`, data decoded) gives it. */
export interface ChangeEventMessage {
  data: Uint8Array | string;
  attributes?: Readonly<Record<string, string>> | null;
}

const EVENT_TYPES = ['entitlement.changed', 'entitlement.expiring'] as const;

/**
 * Decodes one event: its JSON (bytes or text) or an already parsed value. Throws `ChangeEventError`:
 * `unsupported_schema_version` (another schema version: upgrade this client), `unknown_type` (a type
 * added within schema version 1: ack and ignore it) or `malformed`.
 */
export function decodeChangeEvent(input: Uint8Array | string | object): ChangeEvent {
  return decodeValue(parse(input), undefined);
}

/**
 * Decodes a Pub/Sub message of the `entitlement-changes` topic: the `schemaVersion` attribute is checked
 * before the body is parsed, and `type` and `schemaVersion` attributes must agree with the body.
 */
export function decodeChangeMessage(message: ChangeEventMessage): ChangeEvent {
  if (typeof message !== 'object' || message === null) throw malformed('', 'expected a Pub/Sub message');
  const attributes = message.attributes ?? {};
  const attrVersion = attributes.schemaVersion;
  if (attrVersion !== undefined && attrVersion !== String(SUPPORTED_SCHEMA_VERSION)) {
    throw unsupported(attrVersion);
  }
  return decodeValue(parse(message.data), attributes);
}

function parse(input: Uint8Array | string | object): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    // A string's UTF-8 length is at most 3 bytes per UTF-16 unit: count exactly only when that bound is over.
    const tooLarge =
      typeof input === 'string'
        ? input.length * 3 > MAX_EVENT_BYTES && new TextEncoder().encode(input).byteLength > MAX_EVENT_BYTES
        : input.byteLength > MAX_EVENT_BYTES;
    if (tooLarge) {
      throw malformed('', `larger than ${MAX_EVENT_BYTES} bytes`);
    }
    let text: string;
    try {
      text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw malformed('', 'not UTF-8');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw malformed('', 'not JSON');
    }
  }
  return input;
}

function decodeValue(value: unknown, attributes: Readonly<Record<string, string>> | undefined): ChangeEvent {
  const r = new Reader(value, '');
  // The schema version first: a later version may change anything else.
  const version = r.field('schemaVersion');
  if (version !== SUPPORTED_SCHEMA_VERSION) {
    if (typeof version === 'number') throw unsupported(version);
    throw malformed('schemaVersion', 'missing or not a number');
  }
  const type = r.field('type');
  if (typeof type !== 'string') throw malformed('type', 'missing or not a string');
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new ChangeEventError(
      'unknown_type',
      `change event type ${JSON.stringify(type)} is not known to this client`,
      {
        schemaVersion: version,
        type,
      },
    );
  }
  if (attributes?.type !== undefined && attributes.type !== type) {
    throw malformed('type', `the body says ${type}, the message attribute ${attributes.type}`);
  }
  const base = {
    schemaVersion: SUPPORTED_SCHEMA_VERSION as 1,
    id: r.string('id'),
    entitlementId: r.string('entitlementId'),
    source: r.string('source'),
    entitlementVersion: r.positiveInteger('entitlementVersion'),
    state: state(r.object('state')),
    occurredAt: r.date('occurredAt'),
  };
  if (attributes?.eventId !== undefined && attributes.eventId !== base.id) {
    throw malformed('id', 'differs from the eventId attribute');
  }
  if (type === 'entitlement.changed') {
    const previous = r.nullableObject('previous');
    const sourceEvent = r.object('sourceEvent');
    return Object.freeze({
      ...base,
      type,
      previous: previous ? state(previous) : null,
      sourceEvent: Object.freeze({
        source: sourceEvent.string('source'),
        key: sourceEvent.string('key'),
        type: sourceEvent.string('type'),
      }),
    });
  }
  return Object.freeze({
    ...base,
    type: 'entitlement.expiring' as const,
    validUntil: r.date('validUntil'),
    accessEndsAt: r.date('accessEndsAt'),
  });
}

function state(r: Reader): EntitlementState {
  return Object.freeze({
    status: r.string('status'),
    active: r.boolean('active'),
    product: r.string('product'),
    plan: r.nullableString('plan'),
    validFrom: r.nullableDate('validFrom'),
    validUntil: r.nullableDate('validUntil'),
    subjectKey: r.nullableString('subjectKey'),
  });
}

/** `2026-11-01T00:00:00.000Z`: UTC, as the service writes them (`Date.prototype.toISOString`). */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

class Reader {
  private readonly obj: Record<string, unknown>;
  constructor(
    value: unknown,
    private readonly path: string,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw malformed(path, 'expected an object');
    }
    this.obj = value as Record<string, unknown>;
  }
  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
  field(name: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.obj, name) ? this.obj[name] : undefined;
  }
  string(name: string): string {
    const v = this.field(name);
    if (typeof v !== 'string' || v.length === 0) throw malformed(this.at(name), 'expected a non-empty string');
    return v;
  }
  nullableString(name: string): string | null {
    const v = this.field(name);
    if (v === null) return null;
    if (typeof v !== 'string') throw malformed(this.at(name), 'expected a string or null');
    return v;
  }
  boolean(name: string): boolean {
    const v = this.field(name);
    if (typeof v !== 'boolean') throw malformed(this.at(name), 'expected true or false');
    return v;
  }
  positiveInteger(name: string): number {
    const v = this.field(name);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw malformed(this.at(name), 'expected a positive integer');
    }
    return v;
  }
  date(name: string): Date {
    const d = this.nullableDate(name);
    if (!d) throw malformed(this.at(name), 'expected an ISO 8601 UTC date-time');
    return d;
  }
  nullableDate(name: string): Date | null {
    const v = this.field(name);
    if (v === null) return null;
    const d = typeof v === 'string' && ISO_UTC.test(v) ? new Date(v) : null;
    if (!d || Number.isNaN(d.getTime())) {
      throw malformed(this.at(name), 'expected an ISO 8601 UTC date-time (e.g. 2026-11-01T00:00:00.000Z) or null');
    }
    return d;
  }
  object(name: string): Reader {
    return new Reader(this.field(name), this.at(name));
  }
  nullableObject(name: string): Reader | null {
    return this.field(name) === null ? null : this.object(name);
  }
}

function malformed(path: string, why: string): ChangeEventError {
  return new ChangeEventError('malformed', `change event${path ? ` field ${path}` : ''}: ${why}`, { path });
}

function unsupported(version: unknown): ChangeEventError {
  return new ChangeEventError(
    'unsupported_schema_version',
    `change event schema version ${JSON.stringify(version)} is not supported: this client reads version ${SUPPORTED_SCHEMA_VERSION}; ` +
      'upgrade @marketplace-entitlements/client (docs/change-events.md, "Versioning")',
    { schemaVersion: version },
  );
}
