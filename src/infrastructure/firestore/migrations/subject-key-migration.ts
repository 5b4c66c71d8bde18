import {
  FieldPath,
  type DocumentData,
  type DocumentReference,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import { isDeepStrictEqual } from 'node:util';
import { documentId } from '../../../common/document-id.js';
import { emailsIn } from '../../../common/personal-data.js';
import { accessKey, type AccessEntry } from '../../../entitlements/ledger-plan.js';
import { emailSubjectKey } from '../../../entitlements/subject.js';
import { COLLECTIONS, eventDocumentId } from '../collections.js';
import { hasLegacyIds, rewriteDocument, rewriteLegacyIds } from './legacy-ids.js';

/**
 * One-off migration of the documents written before personal identifiers were hashed
 * (docs/operations.md, "Migrate subject keys"): `email:` subject keys become `emailh:` keys, EasyCart
 * entitlement ids lose the e-mail, access map entries are keyed by document id and carry
 * `entitlementId`, event records get `subjectKeys` (erasure finds them). Run by
 * scripts/migrate-subject-keys.mjs while the service runs:
 *
 * - idempotent: a document already in the new form is left alone, so running it twice changes nothing;
 * - resumable: progress is kept in `migrations/subject-keys` after every page; a run stopped (or limited
 *   with `limit`) continues where it stopped; a finished one starts over (and finds nothing to do);
 * - dry run: reads and counts what would change, writes nothing (not even progress).
 *
 * Each entitlement moves in one transaction with its access entries, so the service, which keeps
 * using a legacy id until it is moved (EntitlementChange.legacyExternalId), never sees half a move.
 */

export const MIGRATION_DOC = 'migrations/subject-keys';
const PAGE = 200;
const PHASES = ['entitlements', 'history', 'access', 'events', 'outbox', 'notices'] as const;
type Phase = (typeof PHASES)[number];

/** Fields that hold an e-mail on purpose (until erasure): never rewritten. */
const KEEP = {
  entitlements: new Set(['subject.email', 'details.easycart.buyerEmail']),
  events: new Set(['raw', 'refusals']),
  none: new Set<string>(),
};

export interface MigrationOptions {
  dryRun: boolean;
  /** Stop after examining this many documents (a cautious first run, or a test); resume later. */
  limit?: number;
  /** Ignore the saved progress and start from the first phase. */
  restart?: boolean;
}

export interface PhaseReport {
  examined: number;
  changed: number;
  /** Of `changed`, documents whose id changed (written under the new id, the old one deleted). */
  moved: number;
}

export interface MigrationReport {
  dryRun: boolean;
  complete: boolean;
  phases: Record<Phase, PhaseReport>;
  /** Documents left as they were, with why (e.g. both the legacy and the new id exist). */
  problems: string[];
}

interface Progress {
  phase: Phase | 'done';
  after: string | null;
}

export class SubjectKeyMigration {
  private report!: MigrationReport;
  private budget = Infinity;

  constructor(
    private readonly db: Firestore,
    private readonly secret: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async run(options: MigrationOptions): Promise<MigrationReport> {
    const empty = (): PhaseReport => ({ examined: 0, changed: 0, moved: 0 });
    this.report = {
      dryRun: options.dryRun,
      complete: false,
      phases: Object.fromEntries(PHASES.map((p) => [p, empty()])) as Record<Phase, PhaseReport>,
      problems: [],
    };
    this.budget = options.limit ?? Infinity;
    const saved = options.restart || options.dryRun ? null : await this.progress();
    const start: { phase: Phase; after: string | null } =
      saved && saved.phase !== 'done'
        ? { phase: saved.phase, after: saved.after }
        : { phase: 'entitlements', after: null };
    for (const phase of PHASES.slice(PHASES.indexOf(start.phase))) {
      const after = phase === start.phase ? start.after : null;
      const finished = await this.runPhase(phase, after, options.dryRun);
      if (!finished) return this.report;
    }
    if (!options.dryRun) await this.save({ phase: 'done', after: null }, true);
    this.report.complete = true;
    return this.report;
  }

  /** Pages through one collection (or the history collection group) in id order; false if the budget ran out. */
  private async runPhase(phase: Phase, after: string | null, dryRun: boolean): Promise<boolean> {
    let cursor = after;
    for (;;) {
      if (this.budget <= 0) return false;
      const size = Math.min(PAGE, this.budget);
      const base: Query =
        phase === 'history' ? this.db.collectionGroup(COLLECTIONS.history) : this.db.collection(phase);
      let query = base.orderBy(FieldPath.documentId());
      if (cursor) query = query.startAfter(phase === 'history' ? this.db.doc(cursor) : cursor);
      const snap = await query.limit(size).get();
      for (const doc of snap.docs) {
        this.report.phases[phase].examined++;
        await this.migrate(phase, doc, dryRun);
        cursor = phase === 'history' ? doc.ref.path : doc.id;
      }
      this.budget -= snap.size;
      if (!dryRun && snap.size) await this.save({ phase, after: cursor });
      if (snap.size < size) return true;
    }
  }

  private async migrate(phase: Phase, doc: QueryDocumentSnapshot, dryRun: boolean): Promise<void> {
    switch (phase) {
      case 'entitlements':
        return this.migrateEntitlement(doc, dryRun);
      case 'history':
        return this.rewrite(phase, doc, KEEP.none, this.historyRef(doc), dryRun);
      case 'access':
        return this.migrateAccess(doc, dryRun);
      case 'events':
        return this.migrateEvent(doc, dryRun);
      case 'outbox':
      case 'notices':
        return this.rewrite(phase, doc, KEEP.none, this.renamed(doc.ref), dryRun);
    }
  }

  // ---- entitlements: moved with their access entries, in one transaction

  private async migrateEntitlement(doc: QueryDocumentSnapshot, dryRun: boolean): Promise<void> {
    const old = doc.data();
    const next = rewriteDocument(old, this.secret, KEEP.entitlements) as DocumentData;
    // `externalId` is the id without its `source:` (which the id patterns need to be recognised).
    const prefix = `${String(next.source)}:`;
    if (typeof next.id === 'string' && next.id.startsWith(prefix)) next.externalId = next.id.slice(prefix.length);
    const easycart = (next.details as { easycart?: Record<string, unknown> } | undefined)?.easycart;
    if (easycart && typeof easycart.buyerEmail === 'string' && !easycart.buyerSubjectKey) {
      easycart.buyerSubjectKey = emailSubjectKey(this.secret, easycart.buyerEmail);
    }
    if (isDeepStrictEqual(old, next)) return;
    const target = this.db.collection(COLLECTIONS.entitlements).doc(documentId(String(next.id)));
    const moved = target.path !== doc.ref.path;
    this.count('entitlements', moved);
    if (dryRun) return;

    const oldKey = (old.subject as { key?: string } | null)?.key ?? null;
    const newKey = (next.subject as { key?: string } | null)?.key ?? null;
    await this.db.runTransaction(async (tx) => {
      const oldRef = oldKey ? this.accessRef(oldKey) : null;
      const newRef = newKey ? this.accessRef(newKey) : null;
      const sameDoc = !newRef || oldRef?.path === newRef.path;
      const refs = [doc.ref, target, ...(oldRef ? [oldRef] : []), ...(newRef && !sameDoc ? [newRef] : [])];
      const [current, atTarget, oldAccess, newAccess] = await tx.getAll(...refs);
      if (!current?.exists || !isDeepStrictEqual(current.data(), old)) return; // changed meanwhile: next run
      if (moved && atTarget?.exists) {
        this.report.problems.push(`${doc.ref.path}: ${target.path} exists too; left as is`);
        return;
      }
      tx.set(target, next);
      if (moved) tx.delete(doc.ref);
      if (!oldKey || !oldAccess?.exists) return;
      // The entry moves with the entitlement: out of the legacy document, into the new one.
      const from = { ...(oldAccess.get('entitlements') as Record<string, AccessEntry>) };
      const entry = from[accessKey(String(old.id))] ?? from[String(old.id)];
      delete from[accessKey(String(old.id))];
      delete from[String(old.id)];
      const into = sameDoc ? from : { ...((newAccess?.get('entitlements') as Record<string, AccessEntry>) ?? {}) };
      if (entry) into[accessKey(String(next.id))] = { ...entry, entitlementId: String(next.id) };
      const now = this.now();
      const summary = (key: string, entitlements: Record<string, AccessEntry>, version: number) => ({
        subjectKey: key,
        entitlements,
        products: [...new Set(Object.values(entitlements).map((e) => e.product))].sort(),
        version: version + 1,
        updatedAt: now,
      });
      const oldVersion = Number(oldAccess.get('version') ?? 0);
      if (sameDoc) {
        tx.set(oldAccess.ref, summary(oldKey, into, oldVersion));
        return;
      }
      if (Object.keys(from).length) tx.set(oldAccess.ref, summary(oldKey, from, oldVersion));
      else tx.delete(oldAccess.ref); // its id names the person
      if (newKey && (entry || newAccess?.exists)) {
        tx.set(this.accessRef(newKey), summary(newKey, into, Number(newAccess?.get('version') ?? 0)));
      }
    });
  }

  // ---- access: entries keyed by document id with `entitlementId`; legacy documents merged into the new

  private async migrateAccess(doc: QueryDocumentSnapshot, dryRun: boolean): Promise<void> {
    const old = doc.data();
    const key = rewriteLegacyIds(String(old.subjectKey ?? doc.id), this.secret);
    const entries = (old.entitlements ?? {}) as Record<string, AccessEntry>;
    const rekeyed: Record<string, AccessEntry> = {};
    for (const [k, entry] of Object.entries(entries)) {
      const id = rewriteLegacyIds(entry.entitlementId ?? k, this.secret);
      rekeyed[accessKey(id)] = { ...entry, entitlementId: id };
    }
    const target = this.accessRef(key);
    const moved = target.path !== doc.ref.path;
    if (!moved && key === old.subjectKey && isDeepStrictEqual(rekeyed, entries)) return;
    this.count('access', moved);
    if (dryRun) return;
    await this.db.runTransaction(async (tx) => {
      const [current, atTarget] = moved ? await tx.getAll(doc.ref, target) : [await tx.get(doc.ref), undefined];
      if (!current?.exists || !isDeepStrictEqual(current.data(), old)) return;
      if (moved && !Object.keys(rekeyed).length && !atTarget?.exists) {
        tx.delete(doc.ref); // an empty legacy summary: nothing to carry over, and its id names the person
        return;
      }
      const merged = moved && atTarget?.exists ? { ...(atTarget.get('entitlements') as object), ...rekeyed } : rekeyed;
      const version = Math.max(Number(old.version ?? 0), Number((moved && atTarget?.get('version')) || 0));
      tx.set(target, {
        subjectKey: key,
        entitlements: merged,
        products: [...new Set(Object.values(merged as Record<string, AccessEntry>).map((e) => e.product))].sort(),
        version: version + 1,
        updatedAt: this.now(),
      });
      if (moved) tx.delete(doc.ref);
    });
  }

  // ---- events: legacy ids in keys and fields; `subjectKeys` from the raw payload

  private async migrateEvent(doc: QueryDocumentSnapshot, dryRun: boolean): Promise<void> {
    const old = doc.data();
    const next = rewriteDocument(old, this.secret, KEEP.events) as DocumentData;
    if (typeof old.raw === 'string' && !old.rawErasedAt) {
      const keys = new Set<string>((old.subjectKeys as string[] | undefined) ?? []);
      for (const email of emailsIn(old.raw)) keys.add(emailSubjectKey(this.secret, email));
      next.subjectKeys = [...keys];
    } else if (!Array.isArray(old.subjectKeys)) {
      next.subjectKeys = [];
    }
    const target =
      typeof next.source === 'string' && typeof next.eventKey === 'string' && next.eventKey !== old.eventKey
        ? this.db.collection(COLLECTIONS.events).doc(eventDocumentId(next.source, next.eventKey))
        : this.renamed(doc.ref);
    await this.write('events', doc, next, target, dryRun);
  }

  // ---- shared

  /** Rewrites one document's data (and id) with `rewriteDocument`; no-op when nothing changes. */
  private async rewrite(
    phase: Phase,
    doc: QueryDocumentSnapshot,
    keep: ReadonlySet<string>,
    target: DocumentReference,
    dryRun: boolean,
  ): Promise<void> {
    await this.write(phase, doc, rewriteDocument(doc.data(), this.secret, keep) as DocumentData, target, dryRun);
  }

  private async write(
    phase: Phase,
    doc: QueryDocumentSnapshot,
    next: DocumentData,
    target: DocumentReference,
    dryRun: boolean,
  ): Promise<void> {
    const moved = target.path !== doc.ref.path;
    if (!moved && isDeepStrictEqual(doc.data(), next)) return;
    this.count(phase, moved);
    if (dryRun) return;
    await this.db.runTransaction(async (tx) => {
      const [current, atTarget] = moved ? await tx.getAll(doc.ref, target) : [await tx.get(doc.ref), undefined];
      if (!current?.exists) return;
      // A record the service already wrote under the new id wins (it is the newer one).
      if (!atTarget?.exists) tx.set(target, next);
      if (moved) tx.delete(doc.ref);
    });
  }

  /** The same collection, under the rewritten id (ids that embed a legacy entitlement id or key). */
  private renamed(ref: DocumentReference): DocumentReference {
    if (!hasLegacyIds(ref.id, this.secret)) return ref;
    return ref.parent.doc(documentId(rewriteLegacyIds(ref.id, this.secret)));
  }

  /** A history entry belongs under its entitlement's new document, with a rewritten id of its own. */
  private historyRef(doc: QueryDocumentSnapshot): DocumentReference {
    const parent = doc.ref.parent.parent!;
    const parentId = hasLegacyIds(parent.id, this.secret)
      ? documentId(rewriteLegacyIds(parent.id, this.secret))
      : parent.id;
    const id = hasLegacyIds(doc.id, this.secret) ? documentId(rewriteLegacyIds(doc.id, this.secret)) : doc.id;
    return this.db.collection(COLLECTIONS.entitlements).doc(parentId).collection(COLLECTIONS.history).doc(id);
  }

  private accessRef(subjectKey: string): DocumentReference {
    return this.db.collection(COLLECTIONS.access).doc(documentId(subjectKey));
  }

  private count(phase: Phase, moved: boolean): void {
    this.report.phases[phase].changed++;
    if (moved) this.report.phases[phase].moved++;
  }

  private async progress(): Promise<Progress | null> {
    const snap = await this.db.doc(MIGRATION_DOC).get();
    return snap.exists ? { phase: snap.get('phase') as Progress['phase'], after: snap.get('after') ?? null } : null;
  }

  private async save(progress: Progress, done = false): Promise<void> {
    await this.db
      .doc(MIGRATION_DOC)
      .set({ ...progress, updatedAt: this.now(), ...(done ? { completedAt: this.now() } : {}) }, { merge: true });
  }
}
