import { Firestore } from '@google-cloud/firestore';
import { Ledger } from '../../src/entitlements/ledger.js';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import type { EntitlementChange } from '../../src/entitlements/entitlement.js';
import type { LedgerResult } from '../../src/entitlements/inbound-event.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { LifecycleStore } from '../../src/lifecycle/lifecycle-store.js';
import { memoryLogger, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';
import { eventFor } from '../support/changes.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const T0 = new Date('2026-11-01T00:00:00Z');

export interface LifecycleApp {
  running: RunningApp;
  clock: TestClock;
  jobs: LifecycleJobs;
  ledger: Ledger;
  store: EntitlementStore;
  lifecycle: LifecycleStore;
  db: Firestore;
  projectId: string;
  logLines: () => Record<string, unknown>[];
  apply(change: EntitlementChange): Promise<LedgerResult>;
  close(): Promise<void>;
}

/** The real bootstrap() on a project of its own (or a given one, for a second "instance"), with a controllable clock. */
export async function startLifecycleApp(
  options: { env?: Record<string, string>; clock?: TestClock } = {},
): Promise<LifecycleApp> {
  const clock = options.clock ?? new TestClock(T0);
  const config = testConfig(options.env);
  const { logger, lines } = memoryLogger('info');
  const running = await startApp({ config, clock, logger });
  const ledger = running.app.get(Ledger);
  return {
    running,
    clock,
    jobs: running.app.get(LifecycleJobs),
    ledger,
    store: running.app.get(EntitlementStore),
    lifecycle: running.app.get(LifecycleStore),
    db: running.app.get(Firestore),
    projectId: config.env.GOOGLE_CLOUD_PROJECT,
    logLines: lines,
    apply: (change) => ledger.apply(change, eventFor(change)),
    close: () => running.close(),
  };
}

export interface OutboxDoc {
  id: string;
  event: {
    type: string;
    id: string;
    entitlementVersion: number;
    state: { status: string; active: boolean };
    [k: string]: unknown;
  };
  orderingKey: string;
  publishedAt: Date | null;
  attempts: number;
  lastError?: string;
  expireAt?: Date;
  messageId?: string;
}

export async function outboxOf(db: Firestore, entitlementId?: string): Promise<OutboxDoc[]> {
  const base = db.collection('outbox');
  const snap = await (entitlementId ? base.where('orderingKey', '==', entitlementId) : base).get();
  return snap.docs
    .map((d) => ({ id: d.id, ...fromFirestore<Omit<OutboxDoc, 'id'>>(d.data()) }))
    .sort(
      (a, b) => a.event.entitlementVersion - b.event.entitlementVersion || a.event.type.localeCompare(b.event.type),
    );
}

export async function historyOf(db: Firestore, entitlementId: string): Promise<Record<string, unknown>[]> {
  const snap = await db.collection('entitlements').doc(entitlementId).collection('history').orderBy('at').get();
  return snap.docs.map((d) => fromFirestore<Record<string, unknown>>(d.data()));
}
