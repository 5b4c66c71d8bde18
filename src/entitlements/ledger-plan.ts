/**
 * The pure half of `Ledger.apply`: given the documents a transaction read, decide what it
 * writes. The Firestore adapter runs this inside one transaction; tests run it directly.
 */
import {
  accessUntil,
  isActive,
  type Actor,
  type EntitlementChange,
  type EntitlementStatus,
  type Outcome,
  type Source,
  type Subject,
  entitlementId,
} from './entitlement.js';
import { documentId } from '../common/document-id.js';

/**
 * The key of an entitlement in an access document's `entitlements` map: the entitlement's document id.
 * A Firestore map key (a field name) may hold at most 1,500 bytes, and the raw id of a long or odd
 * external id does not fit: `documentId` keeps short safe ids as they are and hashes the rest.
 */
export function accessKey(entitlementId: string): string {
  return documentId(entitlementId);
}

export interface EntitlementRecord {
  id: string;
  source: Source;
  externalId: string;
  subject: Subject | null;
  product: string;
  plan: string | null;
  providerProduct: string;
  providerPlan: string | null;
  pendingPlan: { plan: string | null; providerPlan: string } | null;
  status: EntitlementStatus;
  active: boolean;
  providerState: string;
  validFrom: Date | null;
  validUntil: Date | null;
  periodEnd: Date | null;
  sourceUpdatedAt: Date;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  lastEvent: { key: string; type: string; at: Date };
  details: Record<string, unknown>;
  /** Set when the customer's personal data was erased (Marketplace ENTITLEMENT_DELETED / ACCOUNT_DELETED). */
  erasedAt: Date | null;
  /**
   * What waits for an admin's decision and since when (null: nothing). Every applied change writes it;
   * documents last written before it existed lack it (`waitingSince` then falls back to `updatedAt`).
   */
  awaiting?: AwaitingDecision | null;
  /**
   * The `validUntil` whose `entitlement.expiring` notice is still to be sent, `null` once it was sent or
   * when there is none to send. The ledger sets it whenever `validUntil` changes (a renewal is a new notice);
   * the notices job queries it (O(notices due)) and clears it with the notice. Absent on documents written
   * before it existed until the job's one-off backfill (docs/firestore.md) or the next change marks them.
   */
  pendingNoticeFor?: Date | null;
}

/** A Marketplace purchase (its activation) or plan change left to a person, since the change that parked it. */
export interface AwaitingDecision {
  decision: 'entitlement' | 'planChange';
  since: Date;
}

/** What of an entitlement waits for an admin now (the approval state its Marketplace details carry), if anything. */
export function decisionAwaited(e: EntitlementRecord): AwaitingDecision['decision'] | null {
  const m = marketplaceDetails(e);
  if (e.status === 'pending_approval' && m.approval === 'awaiting_admin') return 'entitlement';
  if (m.planChangeApproval === 'awaiting_admin') return 'planChange';
  return null;
}

/** Since when the entitlement's decision waits (null when none does); `updatedAt` for documents older than `awaiting`. */
export function waitingSince(e: EntitlementRecord): Date | null {
  const decision = decisionAwaited(e);
  if (decision === null) return null;
  return e.awaiting?.decision === decision ? e.awaiting.since : e.updatedAt;
}

/** The `awaiting` field after a change: the wait's start carries over while the same decision still waits. */
function awaitingAfter(
  next: EntitlementRecord,
  existing: EntitlementRecord | null,
  now: Date,
): AwaitingDecision | null {
  const decision = decisionAwaited(next);
  if (decision === null) return null;
  const since = existing && decisionAwaited(existing) === decision ? waitingSince(existing) : null;
  return { decision, since: since ?? now };
}

export interface AccessEntry {
  /** The entitlement's id (`{source}:{externalId}`); the map key is its document id (`accessKey`). */
  entitlementId: string;
  source: Source;
  product: string;
  plan: string | null;
  status: EntitlementStatus;
  validFrom: Date | null;
  validUntil: Date | null;
  /**
   * When access ends: `validUntil` + the source's grace at write time (`accessUntil`), `null` when
   * open. Readers cut access here, the instant the expiry sweep ends it; documents written before
   * this field existed lack it (readers then use `validUntil`).
   */
  accessUntil: Date | null;
}

export interface AccessSummary {
  subjectKey: string;
  /** Currently usable entitlements, by `accessKey(entitlement id)`. */
  entitlements: Record<string, AccessEntry>;
  /** Distinct product names of `entitlements`, sorted, for `array-contains` queries. */
  products: string[];
  version: number;
  updatedAt: Date;
}

export interface Snapshot {
  status: EntitlementStatus;
  active: boolean;
  product: string;
  plan: string | null;
  validFrom: Date | null;
  validUntil: Date | null;
}

export interface HistoryEntry {
  eventKey: string;
  eventType: string;
  source: Source;
  actor: Actor;
  at: Date;
  sourceTime: Date;
  before: Snapshot | null;
  after: Snapshot;
  subjectMoved: boolean;
}

/** Schema version of outbound change events (docs/change-events.md). */
export const CHANGE_EVENT_SCHEMA_VERSION = 1;

export interface ChangeEventState extends Snapshot {
  subjectKey: string | null;
  status: Snapshot['status'];
}

/** An outbound `entitlement.changed` event, written to the outbox in the same transaction as the change. */
export interface ChangeEvent {
  schemaVersion: number;
  type: 'entitlement.changed';
  /** Unique and stable: the inbound event's document id (one change event per applied inbound event). */
  id: string;
  entitlementId: string;
  source: Source;
  /** The entitlement's version after the change: consumers keep the highest they have seen. */
  entitlementVersion: number;
  state: ChangeEventState;
  previous: ChangeEventState | null;
  sourceEvent: { source: Source; key: string; type: string };
  occurredAt: Date;
}

/** What the transaction read. `accessByKey` holds every access document named by `accessKeysToRead`. */
export interface PlanInput {
  change: EntitlementChange;
  /** The previous record of this event, if any (outcome only). */
  priorEvent: { outcome: Outcome } | null;
  existing: EntitlementRecord | null;
  /** Product user the Marketplace account is linked to (accounts/{id}.linkedSubjectKey), if any. */
  linkedSubjectKey: string | null;
  accessByKey: ReadonlyMap<string, AccessSummary | null>;
  now: Date;
  /** The change's source's grace in ms (`graceMs(policy.lifecycle.graceHours, source)`); none when absent. */
  graceMs?: number;
}

export type Plan =
  | { outcome: 'duplicate' }
  | { outcome: 'stale' | 'ignored' | 'invalid'; reason: string }
  | {
      outcome: 'applied';
      entitlement: EntitlementRecord;
      history: HistoryEntry;
      /** Access documents to write; `null` deletes the document (erasure). */
      access: Map<string, AccessSummary | null>;
      /** Whether `active`, status, product, plan or window changed: an outbound change event is due. */
      accessChanged: boolean;
      previous: EntitlementRecord | null;
    };

/** Outcomes after which a redelivery of the same event is a duplicate; others may be re-run (replay). */
const FINAL_OUTCOMES: ReadonlySet<Outcome> = new Set(['applied', 'duplicate', 'stale', 'ignored']);

export function isFinalOutcome(outcome: Outcome): boolean {
  return FINAL_OUTCOMES.has(outcome);
}

/** Subject the change lands under: a Marketplace account linked to a product user lands under that user. */
export function effectiveSubject(change: EntitlementChange, linkedSubjectKey: string | null): Subject {
  if (linkedSubjectKey && change.subject.accountId) {
    return { ...change.subject, key: linkedSubjectKey };
  }
  return change.subject;
}

/** Access document keys the transaction must read before it can plan. */
export function accessKeysToRead(
  change: EntitlementChange,
  existing: EntitlementRecord | null,
  linkedSubjectKey: string | null,
): string[] {
  const keys = new Set<string>();
  if (!change.erase) keys.add(effectiveSubject(change, linkedSubjectKey).key);
  if (existing?.subject?.key) keys.add(existing.subject.key);
  return [...keys];
}

export function changeEvent(
  id: string,
  plan: Extract<Plan, { outcome: 'applied' }>,
  change: EntitlementChange,
): ChangeEvent {
  const e = plan.entitlement;
  return {
    schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
    type: 'entitlement.changed',
    id,
    entitlementId: e.id,
    source: e.source,
    entitlementVersion: e.version,
    state: { ...plan.history.after, subjectKey: e.subject?.key ?? null },
    previous:
      plan.previous && plan.history.before
        ? { ...plan.history.before, subjectKey: plan.previous.subject?.key ?? null }
        : null,
    sourceEvent: { source: change.source, key: change.eventKey, type: change.eventType },
    occurredAt: e.updatedAt,
  };
}

/**
 * An outbound `decision.waiting` event: a Marketplace purchase or plan change now waits for a person
 * (docs/change-events.md). Written to the outbox with the change that parked it; the log line
 * `decision waiting` says the same for an alert (docs/operations.md, "On call").
 */
export interface DecisionWaitingEvent {
  schemaVersion: number;
  type: 'decision.waiting';
  /** `waiting:<inbound event document id>`: one per change that parked it. */
  id: string;
  entitlementId: string;
  source: Source;
  entitlementVersion: number;
  /** What waits: the purchase's activation or a plan change. */
  decision: 'entitlement' | 'planChange';
  product: string;
  /** The plan the decision is about (the pending plan of a plan change), in the product's names when mapped. */
  plan: string | null;
  providerPlan: string | null;
  /** Why a person must decide. */
  reason: string;
  subjectKey: string | null;
  waitingSince: Date;
}

const MANUAL_BY_POLICY = 'the approval policy leaves it to an admin (config/policy.yaml, marketplace.approvals)';

/** The `decision.waiting` event due after an applied change, or null when nothing newly waits for a person. */
export function decisionWaitingEvent(
  id: string,
  plan: Extract<Plan, { outcome: 'applied' }>,
): DecisionWaitingEvent | null {
  const e = plan.entitlement;
  const now = marketplaceDetails(e);
  const before = plan.previous ? marketplaceDetails(plan.previous) : {};
  const base = {
    schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
    type: 'decision.waiting' as const,
    id: `waiting:${id}`,
    entitlementId: e.id,
    source: e.source,
    entitlementVersion: e.version,
    product: e.product,
    subjectKey: e.subject?.key ?? null,
    waitingSince: e.awaiting?.since ?? e.updatedAt,
  };
  if (e.status === 'pending_approval' && now.approval === 'awaiting_admin' && before.approval !== 'awaiting_admin') {
    return {
      ...base,
      decision: 'entitlement',
      plan: e.plan,
      providerPlan: e.providerPlan ?? null,
      reason: MANUAL_BY_POLICY,
    };
  }
  if (now.planChangeApproval === 'awaiting_admin' && before.planChangeApproval !== 'awaiting_admin') {
    return {
      ...base,
      decision: 'planChange',
      plan: e.pendingPlan?.plan ?? null,
      providerPlan: e.pendingPlan?.providerPlan ?? null,
      reason:
        typeof now.planChangeReason === 'string' && now.planChangeReason ? now.planChangeReason : MANUAL_BY_POLICY,
    };
  }
  return null;
}

function marketplaceDetails(e: EntitlementRecord): Record<string, unknown> {
  const details = e.details['marketplace'];
  return details && typeof details === 'object' ? (details as Record<string, unknown>) : {};
}

export function planApply(input: PlanInput): Plan {
  const { change, priorEvent, existing, now } = input;
  if (priorEvent && isFinalOutcome(priorEvent.outcome)) return { outcome: 'duplicate' };

  if (existing?.erasedAt) {
    return { outcome: 'ignored', reason: 'entitlement was erased (customer data deleted)' };
  }
  if (existing && change.sourceTime.getTime() < existing.sourceUpdatedAt.getTime()) {
    return {
      outcome: 'stale',
      reason: `source time ${change.sourceTime.toISOString()} is older than the applied ${existing.sourceUpdatedAt.toISOString()}`,
    };
  }
  if (!existing && change.erase) {
    return { outcome: 'ignored', reason: 'nothing stored to erase' };
  }

  const id = entitlementId(change.source, change.externalId);
  const subject: Subject | null = change.erase ? null : effectiveSubject(change, input.linkedSubjectKey);
  const next: EntitlementRecord = {
    id,
    source: change.source,
    externalId: change.externalId,
    subject,
    product: change.product?.product ?? existing?.product ?? '',
    plan: change.product ? change.product.plan : (existing?.plan ?? null),
    providerProduct: change.product?.providerProduct ?? existing?.providerProduct ?? '',
    providerPlan: change.product ? change.product.providerPlan : (existing?.providerPlan ?? null),
    pendingPlan: pick(change.pendingPlan, existing?.pendingPlan ?? null),
    status: change.status,
    active: false,
    providerState: change.providerState,
    validFrom: pick(change.validFrom, existing?.validFrom ?? null),
    validUntil: pick(change.validUntil, existing?.validUntil ?? null),
    periodEnd: pick(change.periodEnd, existing?.periodEnd ?? null),
    sourceUpdatedAt: change.sourceTime,
    version: (existing?.version ?? 0) + 1,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    lastEvent: { key: change.eventKey, type: change.eventType, at: now },
    details: change.erase ? {} : { ...(existing?.details ?? {}), ...(change.details ?? {}) },
    erasedAt: change.erase ? now : null,
  };
  if (!next.product) {
    return { outcome: 'invalid', reason: 'the first change of an entitlement must name its product' };
  }
  const grace = input.graceMs ?? 0;
  next.active = !change.erase && isActive(next, now, grace);
  next.awaiting = awaitingAfter(next, existing, now);
  next.pendingNoticeFor = pendingNotice(existing, next);

  const access = new Map<string, AccessSummary | null>();
  const oldKey = existing?.subject?.key ?? null;
  if (oldKey && oldKey !== subject?.key) {
    access.set(oldKey, withoutEntry(input.accessByKey.get(oldKey) ?? null, oldKey, id, now, change.erase));
  }
  if (subject) {
    access.set(subject.key, withEntry(input.accessByKey.get(subject.key) ?? null, subject.key, id, next, now, grace));
  }

  const before = existing ? snapshot(existing) : null;
  const after = snapshot(next);
  return {
    outcome: 'applied',
    entitlement: next,
    previous: existing,
    history: {
      eventKey: change.eventKey,
      eventType: change.eventType,
      source: change.source,
      actor: change.actor,
      at: now,
      sourceTime: change.sourceTime,
      before,
      after,
      subjectMoved: oldKey !== null && oldKey !== (subject?.key ?? null),
    },
    access,
    accessChanged: !before || !sameSnapshot(before, after) || oldKey !== (subject?.key ?? null),
  };
}

/**
 * The notice still due after this change: none without a subject or an end; the stored mark while the end
 * stays the same (a notice sent stays sent); the new end when it moved. A stored document without the mark
 * (written before it existed) is marked: the notices job finds a notice sent before and clears it.
 */
function pendingNotice(existing: EntitlementRecord | null, next: EntitlementRecord): Date | null {
  if (!next.subject || !next.validUntil) return null;
  const sameEnd = existing?.validUntil?.getTime() === next.validUntil.getTime();
  if (sameEnd && existing?.pendingNoticeFor !== undefined) return existing.pendingNoticeFor;
  return next.validUntil;
}

function pick<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function snapshot(e: EntitlementRecord): Snapshot {
  return {
    status: e.status,
    active: e.active,
    product: e.product,
    plan: e.plan,
    validFrom: e.validFrom,
    validUntil: e.validUntil,
  };
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return (
    a.status === b.status &&
    a.active === b.active &&
    a.product === b.product &&
    a.plan === b.plan &&
    a.validFrom?.getTime() === b.validFrom?.getTime() &&
    a.validUntil?.getTime() === b.validUntil?.getTime()
  );
}

function emptySummary(subjectKey: string, now: Date): AccessSummary {
  return { subjectKey, entitlements: {}, products: [], version: 0, updatedAt: now };
}

/**
 * A copy of an access map as a null-prototype object. Its keys are entitlement ids, unique across
 * the whole service: added to ordinary object literals, each one makes V8 derive a new hidden class
 * from the shared literal shape (a transition list that grows with every entitlement seen; the
 * pipeline's CPU profile charged this function ~60 µs per event). A null-prototype object is kept
 * as a plain dictionary instead, and Firestore writes it like any other map.
 */
function entryMap(from: Record<string, AccessEntry>): Record<string, AccessEntry> {
  return Object.assign(Object.create(null) as Record<string, AccessEntry>, from);
}

function rebuilt(base: AccessSummary, entitlements: Record<string, AccessEntry>, now: Date): AccessSummary {
  const products = [...new Set(Object.values(entitlements).map((e) => e.product))].sort();
  return { subjectKey: base.subjectKey, entitlements, products, version: base.version + 1, updatedAt: now };
}

/** Removes an entitlement's entry, under its key and under the raw id older documents used as key. */
function dropEntry(entitlements: Record<string, AccessEntry>, id: string): void {
  delete entitlements[accessKey(id)];
  delete entitlements[id];
}

function withEntry(
  current: AccessSummary | null,
  key: string,
  id: string,
  e: EntitlementRecord,
  now: Date,
  grace: number,
): AccessSummary {
  const base = current ?? emptySummary(key, now);
  const entitlements = entryMap(base.entitlements);
  dropEntry(entitlements, id);
  if (e.active) {
    entitlements[accessKey(id)] = {
      entitlementId: id,
      source: e.source,
      product: e.product,
      plan: e.plan,
      status: e.status,
      validFrom: e.validFrom,
      validUntil: e.validUntil,
      accessUntil: accessUntil(e.validUntil, grace),
    };
  }
  return rebuilt(base, entitlements, now);
}

function withoutEntry(
  current: AccessSummary | null,
  key: string,
  id: string,
  now: Date,
  erase: boolean | undefined,
): AccessSummary | null {
  const base = current ?? emptySummary(key, now);
  const entitlements = entryMap(base.entitlements);
  dropEntry(entitlements, id);
  // Erasing the last entitlement of a subject deletes its access document: it is personal data.
  if (erase && Object.keys(entitlements).length === 0) return null;
  return rebuilt(base, entitlements, now);
}
