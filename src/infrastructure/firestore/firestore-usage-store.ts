import { FieldPath, Firestore, Timestamp, type DocumentReference, type Transaction } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import {
  UsageStore,
  type CollectPlan,
  type CollectResult,
  type RecordInput,
  type RecordOutcome,
  type UsagePage,
  type UsageState,
  type UsageStop,
} from '../../usage/usage-store.js';
import {
  addValue,
  decideRecord,
  nextWindowStart,
  operationId,
  windowId,
  type CheckError,
  type ReportedMetric,
  type UsageWindow,
  type WindowState,
} from '../../usage/usage-windows.js';
import { documentId } from './collections.js';
import { fromFirestore } from './firestore-values.js';
import { readWithDeadline, TransactionRunner } from './transaction-runner.js';

/** `usage/{entitlementId}` with `records/{recordId}` (written by the product backend) and `windows/{metric}:{startMs}`. */
const USAGE = 'usage';
const UNFINISHED: WindowState[] = ['collecting', 'pending', 'sending'];

/**
 * Usage records, windows and checkpoints. Records are bound to a window, and a window's sum grows, in the same
 * transaction, so a record is counted in exactly one window whatever crashes or races between instances.
 */
@Injectable()
export class FirestoreUsageStore extends UsageStore {
  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
  ) {
    super();
  }

  async openUsage(entitlementId: string, now: Date): Promise<boolean> {
    const ref = this.usageRef(entitlementId);
    return this.runner.run(`usage open ${entitlementId}`, [`usage:${entitlementId}`], async (tx) => {
      if ((await tx.get(ref)).exists) return false;
      tx.create(ref, {
        entitlementId,
        since: now,
        open: true,
        checkpoints: {},
        stopped: null,
        finalAt: null,
        lastReportedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      return true;
    });
  }

  async openUsageMany(entitlementIds: string[], now: Date): Promise<number> {
    if (!entitlementIds.length) return 0;
    const snaps = await readWithDeadline(this.db.getAll(...entitlementIds.map((id) => this.usageRef(id))));
    const missing = entitlementIds.filter((_, i) => !snaps[i]!.exists);
    const created = await Promise.all(missing.map((id) => this.openUsage(id, now)));
    return created.filter(Boolean).length;
  }

  async getUsage(entitlementId: string): Promise<UsageState | null> {
    const snap = await readWithDeadline(this.usageRef(entitlementId).get());
    return snap.exists ? fromFirestore<UsageState>(snap.data()) : null;
  }

  async listOpenUsage(limit: number, afterId: string | null): Promise<UsagePage<UsageState>> {
    let query = this.db.collection(USAGE).where('open', '==', true).orderBy(FieldPath.documentId());
    if (afterId) query = query.startAfter(afterId);
    const snap = await readWithDeadline(query.limit(limit).get());
    const last = snap.docs.at(-1);
    return {
      items: snap.docs.map((d) => fromFirestore<UsageState>(d.data())),
      next: snap.docs.length === limit && last ? last.id : null,
    };
  }

  async collectChunk(
    entitlementId: string,
    plan: CollectPlan,
    after: string | null,
    limit: number,
  ): Promise<CollectResult> {
    const usageRef = this.usageRef(entitlementId);
    // The page is found outside the transaction (a query inside one locks far more than these documents on the
    // emulator, and costs as much in production); the transaction then reads each record again and binds only
    // those still unreported, so a record bound by another instance meanwhile is left alone.
    let query = usageRef.collection('records').where('reported', '==', false).orderBy(FieldPath.documentId());
    if (after) query = query.startAfter(after);
    const page = await readWithDeadline(query.limit(limit).select().get());
    if (page.empty) return { bound: 0, late: 0, rejected: 0, next: null };
    return this.runner.run(`usage collect ${entitlementId}`, [`usage:${entitlementId}`], async (tx) => {
      const usage = await this.readUsage(tx, usageRef);
      const starts = new Map<string, Date>();
      const windows = new Map<string, { ref: DocumentReference; data: UsageWindow | null }>();
      const metrics = [...plan.metrics.values()];
      const windowSnaps = await Promise.all(
        metrics.map((m) => {
          const start = nextWindowStart(usage.checkpoints[m.metric] ?? null, usage.since, plan.windowMs);
          starts.set(m.metric, start);
          return tx.get(this.windowRef(entitlementId, windowId(m.metric, start)));
        }),
      );
      const closedMetrics = new Set<string>();
      metrics.forEach((m, i) => {
        const snap = windowSnaps[i]!;
        const data = snap.exists ? fromFirestore<UsageWindow>(snap.data()) : null;
        if (data && data.state !== 'collecting') closedMetrics.add(m.metric);
        windows.set(m.metric, { ref: snap.ref, data });
      });
      const records = await tx.getAll(...page.docs.map((d) => d.ref));
      const ctx = {
        metrics: plan.metrics,
        starts,
        closedMetrics,
        end: plan.end,
        final: plan.final,
        now: plan.now,
        maxFutureMs: plan.maxFutureMs,
      };
      const result: CollectResult = { bound: 0, late: 0, rejected: 0, next: null };
      const touched = new Set<string>();
      for (const doc of records) {
        if (!doc.exists || doc.get('reported') !== false) continue;
        const raw = fromFirestore<{ metric?: unknown; value?: unknown; time?: unknown }>(doc.data());
        const decision = decideRecord(raw, ctx);
        if (decision.kind === 'leave') continue;
        if (decision.kind === 'reject') {
          tx.update(doc.ref, { reported: true, rejected: decision.reason, boundAt: plan.now });
          result.rejected++;
          continue;
        }
        const entry = windows.get(decision.metric.metric)!;
        entry.data ??= this.newWindow(entitlementId, decision.metric, decision.windowStart, plan);
        entry.data.value = addValue(decision.metric.type, entry.data.value, raw.value as number);
        entry.data.records++;
        if (decision.late) entry.data.lateRecords++;
        entry.data.end = new Date(Math.max(entry.data.end.getTime(), plan.end.getTime()));
        touched.add(decision.metric.metric);
        tx.update(doc.ref, { reported: true, window: entry.data.id, boundAt: plan.now });
        result.bound++;
        if (decision.late) result.late++;
      }
      for (const metric of touched) {
        const entry = windows.get(metric)!;
        tx.set(entry.ref, { ...entry.data!, updatedAt: plan.now });
      }
      const last = page.docs.at(-1);
      result.next = page.docs.length === limit && last ? last.id : null;
      return result;
    });
  }

  async closeWindows(entitlementId: string, plan: CollectPlan): Promise<void> {
    const usageRef = this.usageRef(entitlementId);
    // Found outside the transaction (as in collectChunk), read again inside it.
    const found = await readWithDeadline(
      usageRef.collection('windows').where('state', '==', 'collecting').select().get(),
    );
    if (found.empty && !plan.final) return;
    await this.runner.run(`usage close ${entitlementId}`, [`usage:${entitlementId}`], async (tx) => {
      const usage = await this.readUsage(tx, usageRef);
      const collecting = found.empty
        ? []
        : (await tx.getAll(...found.docs.map((d) => d.ref))).filter((d) => d.get('state') === 'collecting');
      const finalZeros: { ref: DocumentReference; window: UsageWindow }[] = [];
      if (plan.final) {
        for (const metric of plan.metrics.values()) {
          const checkpoint = usage.checkpoints[metric.metric];
          if (!checkpoint || checkpoint.getTime() >= plan.end.getTime()) continue;
          const ref = this.windowRef(entitlementId, windowId(metric.metric, checkpoint));
          if ((await tx.get(ref)).exists) continue;
          finalZeros.push({ ref, window: this.newWindow(entitlementId, metric, checkpoint, plan) });
        }
      }
      for (const doc of collecting) {
        tx.update(doc.ref, { state: 'pending', final: plan.final, updatedAt: plan.now });
      }
      if (!collecting.length && !finalZeros.length && (!plan.final || usage.finalAt)) return;
      for (const { ref, window } of finalZeros) tx.create(ref, { ...window, state: 'pending', final: true });
      if (plan.final && !usage.finalAt) tx.update(usageRef, { finalAt: plan.now, updatedAt: plan.now });
    });
  }

  async listUnfinishedWindows(entitlementId: string): Promise<UsageWindow[]> {
    const snap = await readWithDeadline(
      this.usageRef(entitlementId).collection('windows').where('state', 'in', UNFINISHED).get(),
    );
    return snap.docs
      .map((d) => fromFirestore<UsageWindow>(d.data()))
      .sort((a, b) => a.start.getTime() - b.start.getTime());
  }

  claimSending(window: UsageWindow, leaseUntil: Date, now: Date): Promise<boolean> {
    const ref = this.windowRef(window.entitlementId, window.id);
    return this.runner.run(`usage send ${window.id}`, [`usage:${window.entitlementId}`], async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists || snap.get('state') !== 'pending') return false;
      tx.update(ref, { state: 'sending', leaseUntil, sendingAt: now, updatedAt: now });
      return true;
    });
  }

  async finishWindow(
    window: UsageWindow,
    outcome: { state: 'reported' | 'refused' | 'uncertain'; error?: string; checkErrors?: CheckError[] },
    now: Date,
  ): Promise<void> {
    const usageRef = this.usageRef(window.entitlementId);
    const ref = this.windowRef(window.entitlementId, window.id);
    await this.runner.run(`usage finish ${window.id}`, [`usage:${window.entitlementId}`], async (tx) => {
      const [snap, usage] = await Promise.all([tx.get(ref), this.readUsage(tx, usageRef)]);
      const state = snap.get('state') as WindowState | undefined;
      if (state !== 'pending' && state !== 'sending') return; // finished by another run already
      tx.update(ref, {
        state: outcome.state,
        leaseUntil: null,
        updatedAt: now,
        ...(outcome.state === 'reported' ? { reportedAt: now } : {}),
        ...(outcome.error !== undefined ? { lastError: outcome.error } : {}),
        ...(outcome.checkErrors ? { checkErrors: outcome.checkErrors } : {}),
      });
      // The checkpoint moves in the same transaction as the window's end: the next window starts exactly here.
      const current = usage.checkpoints[window.metric];
      if (!current || current.getTime() < window.end.getTime()) {
        tx.update(usageRef, new FieldPath('checkpoints', window.metric), window.end, 'updatedAt', now);
      }
      if (outcome.state === 'reported') tx.update(usageRef, { lastReportedAt: now });
    });
  }

  async retryWindow(window: UsageWindow, error: string, now: Date, checkErrors?: CheckError[]): Promise<void> {
    const ref = this.windowRef(window.entitlementId, window.id);
    await this.runner.run(`usage retry ${window.id}`, [`usage:${window.entitlementId}`], async (tx) => {
      const snap = await tx.get(ref);
      const state = snap.get('state') as WindowState | undefined;
      if (state !== 'pending' && state !== 'sending') return;
      tx.update(ref, {
        state: 'pending',
        attempts: ((snap.get('attempts') as number | undefined) ?? 0) + 1,
        lastError: error,
        leaseUntil: null,
        updatedAt: now,
        ...(checkErrors ? { checkErrors } : {}),
      });
    });
  }

  async stopReporting(entitlementId: string, stop: UsageStop, now: Date): Promise<void> {
    await readWithDeadline(this.usageRef(entitlementId).update({ stopped: stop, updatedAt: now }));
  }

  async resumeReporting(entitlementId: string, now: Date): Promise<void> {
    await readWithDeadline(this.usageRef(entitlementId).update({ stopped: null, updatedAt: now }));
  }

  async closeUsage(entitlementId: string, now: Date): Promise<void> {
    await readWithDeadline(this.usageRef(entitlementId).update({ open: false, updatedAt: now }));
  }

  addRecords(entitlementId: string, records: RecordInput[], now: Date): Promise<RecordOutcome[]> {
    const usageRef = this.usageRef(entitlementId);
    const refs = records.map((r) => usageRef.collection('records').doc(r.id));
    return this.runner.run(`usage records ${entitlementId}`, [`usage-records:${entitlementId}`], async (tx) => {
      const snaps = refs.length ? await tx.getAll(...refs) : [];
      const seen = new Map<string, RecordInput>();
      return records.map((record, i) => {
        const earlier = seen.get(record.id);
        const snap = snaps[i]!;
        const stored = earlier ?? (snap.exists ? fromFirestore<RecordInput>(snap.data()) : null);
        if (stored) return sameRecord(stored, record) ? 'duplicate' : 'conflict';
        seen.set(record.id, record);
        tx.create(refs[i]!, {
          metric: record.metric,
          value: record.value,
          time: record.time,
          reported: false,
          receivedAt: now,
        });
        return 'created';
      });
    });
  }

  async listWindows(entitlementId: string, limit: number, cursor: string | null): Promise<UsagePage<UsageWindow>> {
    let query = this.usageRef(entitlementId)
      .collection('windows')
      .orderBy('start', 'desc')
      .orderBy(FieldPath.documentId(), 'desc');
    if (cursor) {
      const [ms, id] = splitCursor(cursor);
      query = query.startAfter(Timestamp.fromMillis(ms), id);
    }
    const snap = await readWithDeadline(query.limit(limit).get());
    const items = snap.docs.map((d) => fromFirestore<UsageWindow>(d.data()));
    const last = items.at(-1);
    return { items, next: items.length === limit && last ? `${last.start.getTime()}~${last.id}` : null };
  }

  async countPendingRecords(entitlementId: string): Promise<number> {
    const snap = await readWithDeadline(
      this.usageRef(entitlementId).collection('records').where('reported', '==', false).count().get(),
    );
    return snap.data().count;
  }

  private newWindow(entitlementId: string, metric: ReportedMetric, start: Date, plan: CollectPlan): UsageWindow {
    return {
      id: windowId(metric.metric, start),
      entitlementId,
      metric: metric.metric,
      serviceControlName: metric.serviceControlName,
      type: metric.type,
      start,
      end: plan.end,
      value: '0',
      records: 0,
      lateRecords: 0,
      operationId: operationId(entitlementId, metric.metric, start),
      state: 'collecting',
      final: plan.final,
      attempts: 0,
      lastError: null,
      checkErrors: [],
      createdAt: plan.now,
      updatedAt: plan.now,
      reportedAt: null,
      leaseUntil: null,
    };
  }

  private async readUsage(tx: Transaction, ref: DocumentReference): Promise<UsageState> {
    const snap = await tx.get(ref);
    if (!snap.exists) throw new Error(`usage document ${ref.id} does not exist`);
    return fromFirestore<UsageState>(snap.data());
  }

  private usageRef(entitlementId: string) {
    return this.db.collection(USAGE).doc(documentId(entitlementId));
  }

  private windowRef(entitlementId: string, id: string) {
    return this.usageRef(entitlementId).collection('windows').doc(id);
  }
}

function sameRecord(a: RecordInput, b: RecordInput): boolean {
  return a.metric === b.metric && a.value === b.value && a.time.getTime() === b.time.getTime();
}

function splitCursor(cursor: string): [number, string] {
  const at = cursor.indexOf('~');
  return [Number(cursor.slice(0, at)), cursor.slice(at + 1)];
}
