/**
 * The access contract (docs/firestore.md, `access/{subjectKey}`) as pure functions: decode a document's
 * data into typed entries, then apply the validity windows at a given time. No I/O: both entry points
 * (server SDK and browser SDK) feed document data in.
 */
import { AccessDocumentError } from './errors.js';

/** Sources the service knows today; a later contract version may add one, so any string is kept. */
export type Source = 'gcp' | 'purchasely' | 'easycart' | 'getcourse';
/** Statuses an entry of a usable entitlement has today (`active`, `pending_plan_change`, `pending_cancellation`). */
export type AccessStatus = 'active' | 'pending_plan_change' | 'pending_cancellation';

/** One usable entitlement of the subject, as the access document lists it. */
export interface AccessEntry {
  /** The entitlement's id, `{source}:{externalId}` (`entitlements/{documentId(id)}`). Never the map key. */
  readonly entitlementId: string;
  /** The key of the entry in the document's map: the entitlement's document id (the id, or `h:<sha256>`). */
  readonly key: string;
  readonly source: Source | (string & {});
  /** The product's own names (config/products.yaml). */
  readonly product: string;
  readonly plan: string | null;
  readonly status: AccessStatus | (string & {});
  /** The access window the source gave; `null` = open on that side. */
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  /**
   * When access ends: `validUntil` plus the source's grace (the time a renewal may take to arrive;
   * the service's `lifecycle.graceHours`), `null` = open. Usability is decided on this, not on
   * `validUntil`. Documents written before the field existed lack it: it is then `validUntil`.
   */
  readonly accessUntil: Date | null;
}

/** An access document as read, before any window is applied. `exists: false` = no document (no access). */
export interface AccessDocument {
  readonly subjectKey: string;
  readonly exists: boolean;
  /** +1 on every write; 0 when there is no document. */
  readonly version: number;
  readonly updatedAt: Date | null;
  readonly entries: readonly AccessEntry[];
  /** Entries that did not have the contract's shape: they grant nothing. */
  readonly ignored: readonly IgnoredEntry[];
}

export interface IgnoredEntry {
  readonly key: string;
  readonly reason: string;
}

/** What one product is usable as. */
export interface ProductAccess {
  readonly product: string;
  /** Distinct plans, sorted (`null` for an entitlement without a plan). */
  readonly plans: readonly (string | null)[];
  readonly entitlements: readonly AccessEntry[];
}

/** The answer to "what may this subject use at `at`?". */
export interface CurrentAccess {
  readonly subjectKey: string;
  /** The document's version (0: no document). */
  readonly version: number;
  readonly updatedAt: Date | null;
  /** The time the windows were applied at. */
  readonly at: Date;
  /** Entries usable at `at` (`validFrom ≤ at < validUntil`), sorted by product, plan, entitlement id. */
  readonly entitlements: readonly AccessEntry[];
  /** The same by product name. */
  readonly products: ReadonlyMap<string, ProductAccess>;
  /** Whether the subject may use `product` (in `plan`, or one of `plans`, when given) at `at`. */
  has(product: string, plan?: string | readonly string[]): boolean;
  /** The next time a window of this document opens or closes: the answer changes then without any write. */
  readonly nextChangeAt: Date | null;
  readonly ignored: readonly IgnoredEntry[];
}

/** Shapes of the SDKs' `Timestamp` (server and browser) and plain `Date`. */
interface TimestampLike {
  toMillis(): number;
}

type Field = { ok: true; value: Date | null } | { ok: false };

function timeField(value: unknown): Field {
  if (value === null || value === undefined) return { ok: true, value: null };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? { ok: false } : { ok: true, value };
  if (typeof value === 'object' && typeof (value as TimestampLike).toMillis === 'function') {
    const ms = (value as TimestampLike).toMillis();
    return Number.isFinite(ms) ? { ok: true, value: new Date(ms) } : { ok: false };
  }
  return { ok: false };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function missingAccessDocument(subjectKey: string): AccessDocument {
  return Object.freeze({ subjectKey, exists: false, version: 0, updatedAt: null, entries: [], ignored: [] });
}

/**
 * Decodes the data of `access/{accessDocumentId(subjectKey)}` (`undefined`: no document). A document
 * that is not the one asked for or lacks the contract's fields throws `AccessDocumentError`; a single
 * malformed entry is left out (listed in `ignored`), so it grants nothing and hides nothing else.
 */
export function decodeAccessDocument(subjectKey: string, data: unknown): AccessDocument {
  if (data === undefined || data === null) return missingAccessDocument(subjectKey);
  const fail = (why: string) => new AccessDocumentError(`access document of ${subjectKey}: ${why}`, subjectKey);
  if (!isObject(data)) throw fail('not a map');
  // A hashed document id (`h:<sha256>`) is checked against the key it was written for.
  if (data.subjectKey !== subjectKey) throw fail(`written for another subject key (${String(data.subjectKey)})`);
  const version = data.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw fail('`version` is not a positive integer');
  }
  const updatedAt = timeField(data.updatedAt);
  if (!updatedAt.ok || !updatedAt.value) throw fail('`updatedAt` is not a timestamp');
  if (!isObject(data.entitlements)) throw fail('`entitlements` is not a map');

  const entries: AccessEntry[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const [key, raw] of Object.entries(data.entitlements)) {
    const entry = decodeEntry(key, raw);
    if (typeof entry === 'string') ignored.push(Object.freeze({ key, reason: entry }));
    else entries.push(entry);
  }
  entries.sort(byProductPlanId);
  return Object.freeze({
    subjectKey,
    exists: true,
    version,
    updatedAt: updatedAt.value,
    entries: Object.freeze(entries),
    ignored: Object.freeze(ignored),
  });
}

/** The entry, or why it grants nothing. */
function decodeEntry(key: string, raw: unknown): AccessEntry | string {
  if (!isObject(raw)) return 'not a map';
  // Entries written before map keys became document ids had no `entitlementId`: their key was the id.
  const entitlementId = raw.entitlementId === undefined ? key : raw.entitlementId;
  if (typeof entitlementId !== 'string' || !entitlementId) return '`entitlementId` is not a string';
  if (typeof raw.product !== 'string' || !raw.product) return '`product` is not a string';
  if (raw.plan !== null && raw.plan !== undefined && typeof raw.plan !== 'string') return '`plan` is not a string';
  if (typeof raw.source !== 'string') return '`source` is not a string';
  if (typeof raw.status !== 'string') return '`status` is not a string';
  const validFrom = timeField(raw.validFrom);
  const validUntil = timeField(raw.validUntil);
  if (!validFrom.ok) return '`validFrom` is not a timestamp';
  if (!validUntil.ok) return '`validUntil` is not a timestamp';
  const accessUntil = raw.accessUntil === undefined ? validUntil : timeField(raw.accessUntil);
  if (!accessUntil.ok) return '`accessUntil` is not a timestamp';
  if ((accessUntil.value === null) !== (validUntil.value === null)) {
    return '`accessUntil` and `validUntil` disagree on whether the window is open';
  }
  return Object.freeze({
    entitlementId,
    key,
    source: raw.source,
    product: raw.product,
    plan: (raw.plan as string | null | undefined) ?? null,
    status: raw.status,
    validFrom: validFrom.value,
    validUntil: validUntil.value,
    accessUntil: accessUntil.value,
  });
}

function byProductPlanId(a: AccessEntry, b: AccessEntry): number {
  return (
    compare(a.product, b.product) || compare(a.plan ?? '', b.plan ?? '') || compare(a.entitlementId, b.entitlementId)
  );
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Whether `entry`'s window contains `atMs`: `validFrom ≤ at < accessUntil` (the service's own rule;
 * `accessUntil` is `validUntil` plus the source's grace).
 */
export function isUsableAt(entry: AccessEntry, atMs: number): boolean {
  if (entry.validFrom && entry.validFrom.getTime() > atMs) return false;
  if (entry.accessUntil && entry.accessUntil.getTime() <= atMs) return false;
  return true;
}

/** The document's answer at `at`: entries whose window contains it, by product, and when that changes next. */
export function accessAt(doc: AccessDocument, at: Date): CurrentAccess {
  const atMs = at.getTime();
  const usable: AccessEntry[] = [];
  let next = Infinity;
  for (const e of doc.entries) {
    if (isUsableAt(e, atMs)) usable.push(e);
    const from = e.validFrom?.getTime() ?? -Infinity;
    const until = e.accessUntil?.getTime() ?? Infinity;
    if (from > atMs && from < next) next = from;
    if (until > atMs && until < next) next = until;
  }
  const products = new Map<string, ProductAccess>();
  for (const e of usable) {
    const p = products.get(e.product);
    if (p) {
      (p.entitlements as AccessEntry[]).push(e);
      if (!p.plans.includes(e.plan)) (p.plans as (string | null)[]).push(e.plan);
    } else {
      products.set(e.product, { product: e.product, plans: [e.plan], entitlements: [e] });
    }
  }
  return {
    subjectKey: doc.subjectKey,
    version: doc.version,
    updatedAt: doc.updatedAt,
    at,
    entitlements: usable,
    products,
    has(product: string, plan?: string | readonly string[]): boolean {
      const p = products.get(product);
      if (!p) return false;
      if (plan === undefined) return true;
      const wanted: readonly string[] = typeof plan === 'string' ? [plan] : plan;
      return p.plans.some((have) => have !== null && wanted.includes(have));
    },
    nextChangeAt: next === Infinity ? null : new Date(next),
    ignored: doc.ignored,
  };
}

/** A short fingerprint of what is usable (entitlement keys with plan and window), to tell a real change. */
export function usableFingerprint(access: CurrentAccess): string {
  return access.entitlements
    .map((e) => `${e.key}|${e.plan}|${e.validFrom?.getTime()}|${e.accessUntil?.getTime()}`)
    .join('\n');
}
