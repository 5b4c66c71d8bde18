import { createHash } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { Ledger } from '../../src/entitlements/ledger.js';
import type { EntitlementChange } from '../../src/entitlements/entitlement.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { UsageStore } from '../../src/usage/usage-store.js';
import type { UsageWindow } from '../../src/usage/usage-windows.js';
import { startFakeServiceControl, type FakeServiceControl } from '../../tools/fake-service-control/server.js';
import { memoryLogger, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';
import { change, eventFor } from '../support/changes.js';

export const HOUR = 3_600_000;
export const SERVICE = 'demo-product.endpoints.demo-entitlements.cloud.goog';
export const USAGE_KEY = 'usage-test-key-0123456789abcdefghijklmnop';
export const VIEWER_KEY = 'viewer-test-key-0123456789abcdefghijklmn';

export interface UsageApp {
  running: RunningApp;
  clock: TestClock;
  jobs: LifecycleJobs;
  usage: UsageStore;
  db: Firestore;
  fake: FakeServiceControl;
  projectId: string;
  env: Record<string, string>;
  /** A live Marketplace entitlement on `plan` with a usageReportingId. */
  buy(id: string, options?: { plan?: string; consumerId?: string }): Promise<string>;
  cancel(id: string): Promise<void>;
  post(records: unknown[]): Promise<{ status: number; body: Record<string, unknown> }>;
  windows(entitlementId: string): Promise<UsageWindow[]>;
  /** GET an admin path with the viewer key. */
  admin(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** The real bootstrap() on a project of its own, usage reporting on, pointed at a fake Service Control. */
export async function startUsageApp(
  options: { now?: Date; fake?: FakeServiceControl; projectId?: string } = {},
): Promise<UsageApp> {
  const fake = options.fake ?? (await startFakeServiceControl());
  const clock = new TestClock(options.now ?? new Date('2026-11-01T10:20:00Z'));
  const env = {
    USAGE_REPORTING: 'true',
    SERVICE_CONTROL_ROOT_URL: fake.url,
    SERVICE_CONTROL_STATIC_TOKEN: 'test',
    USAGE_API_KEYS: USAGE_KEY,
    ADMIN_API_KEYS: `usage-viewer:viewer:${createHash('sha256').update(VIEWER_KEY).digest('hex')}`,
    ...(options.projectId ? { GOOGLE_CLOUD_PROJECT: options.projectId } : {}),
  };
  const config = testConfig(env);
  const running = await startApp({ config, clock, logger: memoryLogger('error').logger });
  const ledger = running.app.get(Ledger);
  const db = running.app.get(Firestore);
  const apply = (c: EntitlementChange) => ledger.apply(c, eventFor(c));
  const gcp = (id: string, plan: string, consumerId: string, status: 'active' | 'cancelled', at: Date) =>
    change({
      source: 'gcp',
      externalId: id,
      eventType: status === 'active' ? 'ENTITLEMENT_ACTIVE' : 'ENTITLEMENT_CANCELLED',
      sourceTime: at,
      subject: { key: `gcp-account:acc-${id}`, accountId: `acc-${id}` },
      product: { product: 'demo', plan, providerProduct: SERVICE, providerPlan: plan },
      status,
      providerState: status === 'active' ? 'ENTITLEMENT_ACTIVE' : 'ENTITLEMENT_CANCELLED',
      validFrom: new Date(at.getTime() - 24 * HOUR),
      actor: { type: 'provider', id: 'gcp-marketplace' },
      details: { marketplace: { usageReportingId: consumerId } },
    });
  const plans = new Map<string, { plan: string; consumerId: string }>();
  return {
    running,
    clock,
    jobs: running.app.get(LifecycleJobs),
    usage: running.app.get(UsageStore),
    db,
    fake,
    projectId: config.env.GOOGLE_CLOUD_PROJECT,
    env: { ...env, GOOGLE_CLOUD_PROJECT: config.env.GOOGLE_CLOUD_PROJECT },
    async buy(id, { plan = 'pro', consumerId = `project_number:${id.replace(/\D/g, '') || '1'}` } = {}) {
      plans.set(id, { plan, consumerId });
      const result = await apply(gcp(id, plan, consumerId, 'active', clock.now()));
      if (result.outcome !== 'applied') throw new Error(`buy ${id}: ${result.outcome}`);
      return `gcp:${id}`;
    },
    async cancel(id) {
      const { plan, consumerId } = plans.get(id)!;
      const result = await apply(gcp(id, plan, consumerId, 'cancelled', clock.now()));
      if (result.outcome !== 'applied') throw new Error(`cancel ${id}: ${result.outcome}`);
    },
    async post(records) {
      const res = await fetch(`${running.url}/usage/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${USAGE_KEY}` },
        body: JSON.stringify({ records }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async admin(path) {
      const res = await fetch(`${running.url}${path}`, { headers: { 'x-api-key': VIEWER_KEY } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async windows(entitlementId) {
      const snap = await db.collection('usage').doc(entitlementId).collection('windows').get();
      return snap.docs
        .map((d) => fromFirestore<UsageWindow>(d.data()))
        .sort((a, b) => a.metric.localeCompare(b.metric) || a.start.getTime() - b.start.getTime());
    },
    async close() {
      await running.close();
      if (!options.fake) await fake.close();
    },
  };
}

/** What the fake billed for an operation id (reports accepted), and how often it was reported at all. */
export function reportsOf(fake: FakeServiceControl, operationId: string) {
  const all = fake.received.filter((r) => r.method === 'report' && r.operation.operationId === operationId);
  return { received: all.length, billed: all.filter((r) => r.errors.length === 0 && r.status === 200).length };
}
