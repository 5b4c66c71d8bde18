import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../src/bootstrap.js';
import { STATUSES } from '../src/entitlements/entitlement.js';
import { EntitlementStore } from '../src/entitlements/entitlement-store.js';
import { Ledger } from '../src/entitlements/ledger.js';
import { accessKey } from '../src/entitlements/ledger-plan.js';
import { expectAccess, policyGraceMs } from './support/access-rules.js';
import { memoryLogger, testConfig, TestClock } from './support/app.js';
import { change, eventFor } from './support/changes.js';
import { accessInvariantViolations } from './support/invariants.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');

/** The access rules end to end: Ledger.apply on the Firestore emulator, the access summary read back. */
describe('access summaries through the ledger, status by status', () => {
  const clock = new TestClock(NOW);
  let app: NestFastifyApplication;
  let ledger: Ledger;
  let store: EntitlementStore;
  let db: Firestore;

  beforeAll(async () => {
    app = await bootstrap({ config: testConfig(), clock, logger: memoryLogger().logger });
    await app.init();
    ledger = app.get(Ledger);
    store = app.get(EntitlementStore);
    db = app.get(Firestore);
  });
  afterAll(() => app.close());

  const products = async (key: string) => (await store.getAccess(key))?.products ?? [];

  it('should list an entitlement in access/ under exactly the statuses the rule grants, and drop it when it leaves them', async () => {
    const got: Record<string, string[]> = {};
    const want: Record<string, string[]> = {};
    for (const status of STATUSES) {
      const subject = { key: `user:status-${status}` };
      const grant = change({ externalId: `status-${status}`, subject, validFrom: null });
      expect((await ledger.apply(grant, eventFor(grant))).outcome).toBe('applied');
      const to = change({
        externalId: `status-${status}`,
        subject,
        status,
        providerState: status,
        validFrom: null,
        sourceTime: new Date(grant.sourceTime.getTime() + 1_000),
      });
      expect((await ledger.apply(to, eventFor(to))).outcome).toBe('applied');
      got[status] = await products(subject.key);
      want[status] = expectAccess({ status, validFrom: null, validUntil: null }, NOW) ? ['demo'] : [];
    }
    expect(got).toEqual(want);
    expect(await accessInvariantViolations(db)).toEqual([]);
  });

  it('should end access exactly at validUntil (no grace: Marketplace), keep it one millisecond before, and start it exactly at validFrom', async () => {
    const apply = async (externalId: string, window: { validFrom?: Date | null; validUntil?: Date | null }) => {
      const c = change({
        source: 'gcp',
        externalId,
        subject: { key: `user:${externalId}` },
        validFrom: null,
        ...window,
      });
      expect((await ledger.apply(c, eventFor(c))).outcome).toBe('applied');
      return products(`user:${externalId}`);
    };
    expect(await apply('ends-now', { validUntil: NOW })).toEqual([]);
    expect(await apply('ends-next-ms', { validUntil: new Date(NOW.getTime() + 1) })).toEqual(['demo']);
    expect(await apply('starts-now', { validFrom: NOW })).toEqual(['demo']);
    expect(await apply('starts-next-ms', { validFrom: new Date(NOW.getTime() + 1) })).toEqual([]);
    expect(await store.getEntitlement('gcp:ends-now')).toMatchObject({ status: 'active', active: false });
    expect((await store.getAccess('user:ends-next-ms'))?.entitlements[accessKey('gcp:ends-next-ms')]).toMatchObject({
      validUntil: new Date(NOW.getTime() + 1),
    });
  });

  it('should end access exactly at validUntil + the source grace (Purchasely, config/policy.yaml)', async () => {
    const grace = policyGraceMs('purchasely');
    expect(grace).toBeGreaterThan(0);
    const apply = async (externalId: string, validUntil: Date) => {
      const c = change({ externalId, subject: { key: `user:${externalId}` }, validFrom: null, validUntil });
      expect((await ledger.apply(c, eventFor(c))).outcome).toBe('applied');
      return products(`user:${externalId}`);
    };
    expect(await apply('grace-ends-now', new Date(NOW.getTime() - grace))).toEqual([]);
    expect(await apply('grace-ends-next-ms', new Date(NOW.getTime() - grace + 1))).toEqual(['demo']);
    expect(await accessInvariantViolations(db)).toEqual([]);
  });
});
