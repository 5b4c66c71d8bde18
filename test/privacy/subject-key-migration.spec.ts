/* eslint-disable @typescript-eslint/no-explicit-any -- Firestore documents under test */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import { documentId } from '../../src/common/document-id.js';
import { accessKey } from '../../src/entitlements/ledger-plan.js';
import { emailDigest } from '../../src/entitlements/subject.js';
import { SubjectKeyMigration } from '../../src/infrastructure/firestore/migrations/subject-key-migration.js';
import { emailKey, startApp, testConfig, TestClock, TEST_SUBJECT_KEY_SECRET, type RunningApp } from '../support/app.js';
import { accessInvariantViolations } from '../support/invariants.js';

/**
 * The one-off migration (scripts/migrate-subject-keys.mjs) against the emulator, on documents in the
 * shapes the service wrote before e-mails in ids were hashed; and the service meanwhile, which keeps
 * writing to a legacy document until it is moved. ~10 s.
 */
const KEY = 'easycart-signing-key-0001';
const NOW = new Date('2026-11-20T12:00:00Z');
const JANE = 'jane@example.com';
const BUYER = 'buyer@example.com';
const digest = (email: string) => emailDigest(TEST_SUBJECT_KEY_SECRET, email);

/** Every document path and its data. */
async function dump(db: Firestore): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const collection of await db.listCollections()) {
    for (const ref of await collection.listDocuments()) {
      const snap = await ref.get();
      if (snap.exists) out.set(ref.path, snap.data());
      for (const sub of await ref.listCollections()) {
        for (const child of (await sub.get()).docs) out.set(child.ref.path, child.data());
      }
    }
  }
  return out;
}

describe('subject-key migration', () => {
  const clock = new TestClock(NOW);
  let running: RunningApp;
  let db: Firestore;
  const order = randomUUID();
  const legacyId = `easycart:${order}:demo-course:${JANE}`;
  const newId = `easycart:${order}:demo-course:${digest(JANE)}`;
  const expireKey = `expire:${legacyId}:1700000000000`;

  beforeAll(async () => {
    running = await startApp({ clock, config: testConfig({ EASYCART_SIGNING_KEYS: KEY }) });
    db = running.app.get(Firestore);
  });
  afterAll(() => running.close());

  const migration = () => new SubjectKeyMigration(db, TEST_SUBJECT_KEY_SECRET, () => NOW);
  const entitlement = (id: string, externalId: string, subject: Record<string, unknown> | null, extra = {}) => ({
    id,
    source: id.split(':')[0],
    externalId,
    subject,
    product: 'demo',
    plan: null,
    providerProduct: 'demo-course',
    providerPlan: null,
    pendingPlan: null,
    status: 'active',
    active: true,
    providerState: 'product_assigned',
    validFrom: new Date('2026-11-01T00:00:00Z'),
    validUntil: null,
    periodEnd: null,
    sourceUpdatedAt: new Date('2026-11-01T00:00:00Z'),
    version: 1,
    createdAt: NOW,
    updatedAt: NOW,
    lastEvent: { key: 'k', type: 'product_assigned', at: NOW },
    details: {},
    erasedAt: null,
    ...extra,
  });
  const entry = (source: string) => ({
    source,
    product: 'demo',
    plan: null,
    status: 'active',
    validFrom: null,
    validUntil: null,
  });

  /** What the service wrote before: ids and keys with the e-mail, access maps keyed by raw id. */
  async function seedLegacy(): Promise<void> {
    const batch = db.batch();
    const put = (path: string, data: object) => batch.set(db.doc(path), data);
    put(
      `entitlements/${legacyId}`,
      entitlement(
        legacyId,
        legacyId.slice('easycart:'.length),
        { key: `email:${JANE}`, email: JANE },
        {
          details: { easycart: { orderUuid: order, buyerEmail: BUYER } },
        },
      ),
    );
    put(`entitlements/${legacyId}/history/easycart:abc`, { eventKey: 'abc', eventType: 'product_assigned', at: NOW });
    put(`entitlements/${legacyId}/history/easycart:${expireKey}`, {
      eventKey: expireKey,
      eventType: 'EXPIRED',
      at: NOW,
    });
    put(
      'entitlements/getcourse:777:demo-course',
      entitlement('getcourse:777:demo-course', '777:demo-course', { key: `email:${JANE}`, email: JANE }),
    );
    const gone = `easycart:${order}:demo-course:gone@example.com`;
    put(`entitlements/${gone}`, entitlement(gone, gone.slice(9), null, { active: false, erasedAt: NOW }));
    put(`access/email:${JANE}`, {
      subjectKey: `email:${JANE}`,
      entitlements: { [legacyId]: entry('easycart'), 'getcourse:777:demo-course': entry('getcourse') },
      products: ['demo'],
      version: 3,
      updatedAt: NOW,
    });
    put(`entitlements/${documentId('purchasely:sub 1')}`, entitlement('purchasely:sub 1', 'sub 1', { key: 'user:42' }));
    put('access/user:42', {
      subjectKey: 'user:42',
      entitlements: { 'purchasely:sub 1': entry('purchasely') },
      products: ['demo'],
      version: 1,
      updatedAt: NOW,
    });
    put('events/easycart:abc', {
      source: 'easycart',
      eventKey: 'abc',
      eventType: 'product_assigned',
      outcome: 'applied',
      entitlementId: legacyId,
      raw: JSON.stringify({ assignee: { email: JANE }, customer_email: BUYER }),
    });
    put(`events/easycart:${expireKey}`, {
      source: 'easycart',
      eventKey: expireKey,
      eventType: 'EXPIRED',
      outcome: 'applied',
      entitlementId: legacyId,
      raw: null,
    });
    put('outbox/easycart:abc', {
      event: { entitlementId: legacyId, state: { subjectKey: `email:${JANE}` }, previous: null },
      orderingKey: legacyId,
      publishedAt: NOW,
    });
    put(`outbox/expiring:${legacyId}:1700000000000`, {
      event: { id: `expiring:${legacyId}:1700000000000`, entitlementId: legacyId },
      orderingKey: legacyId,
    });
    put(`notices/${legacyId}:1700000000000`, {
      entitlementId: legacyId,
      outboxId: `expiring:${legacyId}:1700000000000`,
    });
    await batch.commit();
  }

  const deliver = async (payload: Record<string, unknown>) => {
    const body = JSON.stringify(payload);
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': hmacSha256Hex(KEY, body) },
      body,
    });
    return (await response.json()) as Record<string, any>;
  };

  it('should change nothing on a dry run, and say what it would change', async () => {
    await seedLegacy();
    const before = await dump(db);
    const report = await migration().run({ dryRun: true });
    expect(await dump(db)).toEqual(before);
    expect(report).toMatchObject({ dryRun: true, complete: true, problems: [] });
    expect(report.phases.entitlements).toMatchObject({ changed: 3, moved: 2 });
    expect(report.phases.events.changed).toBe(2);
  });

  it('should keep writing to a legacy entitlement until it is moved, under the new subject key', async () => {
    const reply = await deliver({
      event: 'subscription_renewed',
      timestamp: 1795176000,
      order_uuid: order,
      product_name: 'demo-course',
      customer_email: BUYER,
      assignee: { email: JANE },
    });
    expect(reply).toMatchObject({ outcome: 'applied', results: [{ entitlementId: legacyId }] });
    expect((await db.doc(`entitlements/${newId}`).get()).exists).toBe(false);
    const stored = (await db.doc(`entitlements/${legacyId}`).get()).data()!;
    expect(stored.subject.key).toBe(emailKey(JANE));
    expect((await db.doc(`access/${emailKey(JANE)}`).get()).get('entitlements')).toHaveProperty([legacyId]);
  });

  it('should migrate in resumable steps, then leave no id holding an e-mail, and change nothing when run again', async () => {
    const partial = await migration().run({ dryRun: false, limit: 3 });
    expect(partial.complete).toBe(false);
    expect((await db.doc('migrations/subject-keys').get()).get('phase')).toBe('entitlements');
    const rest = await migration().run({ dryRun: false });
    expect(rest).toMatchObject({ complete: true, problems: [] });

    const after = await dump(db);
    const withAddress = [...after.keys()].filter((path) => path.includes('@'));
    expect(withAddress).toEqual([]);
    const moved = after.get(`entitlements/${newId}`) as any;
    expect(moved).toMatchObject({
      id: newId,
      externalId: newId.slice('easycart:'.length),
      subject: { key: emailKey(JANE), email: JANE },
      details: { easycart: { buyerEmail: BUYER, buyerSubjectKey: emailKey(BUYER) } },
    });
    const history = [...after.keys()].filter((p) => p.startsWith(`entitlements/${newId}/history/`));
    // Order-free: the renewal's id is a hash, so it sorts anywhere among the others.
    expect(history).toHaveLength(3);
    expect(history).toEqual(
      expect.arrayContaining([
        `entitlements/${newId}/history/easycart:abc`,
        `entitlements/${newId}/history/easycart:expire:${newId}:1700000000000`,
        // The renewal delivered before the migration, written under the legacy id, moved too.
        expect.stringMatching(new RegExp(`^entitlements/${newId}/history/easycart:[0-9a-f]{64}$`)),
      ]),
    );
    const access = after.get(`access/${emailKey(JANE)}`) as any;
    expect(Object.keys(access.entitlements).sort()).toEqual([accessKey(newId), 'getcourse:777:demo-course'].sort());
    expect(access.entitlements[accessKey(newId)].entitlementId).toBe(newId);
    expect((after.get('access/user:42') as any).entitlements).toEqual({
      [accessKey('purchasely:sub 1')]: { ...entry('purchasely'), entitlementId: 'purchasely:sub 1' },
    });
    expect(after.get('events/easycart:abc')).toMatchObject({
      entitlementId: newId,
      subjectKeys: expect.arrayContaining([emailKey(JANE), emailKey(BUYER)]),
    });
    expect(after.get(`events/easycart:expire:${newId}:1700000000000`)).toMatchObject({
      eventKey: `expire:${newId}:1700000000000`,
    });
    expect(after.get('outbox/easycart:abc')).toMatchObject({
      event: { entitlementId: newId, state: { subjectKey: emailKey(JANE) } },
      orderingKey: newId,
    });
    expect(after.get(`notices/${newId}:1700000000000`)).toMatchObject({ entitlementId: newId });
    // The raw payload keeps the addresses (it is what arrived) until an erasure request removes it.
    expect(JSON.stringify(after.get('events/easycart:abc'))).toContain(JANE);
    expect(await accessInvariantViolations(db)).toEqual([]);

    const again = await migration().run({ dryRun: false });
    expect(Object.values(again.phases).map((p) => p.changed)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await dump(db)).toEqual(after);
  });

  it('should let the service go on with the migrated entitlement, not start another', async () => {
    const reply = await deliver({
      event: 'product_access_expired',
      timestamp: 1795176100,
      order_uuid: order,
      product_name: 'demo-course',
      customer_email: BUYER,
      assignee: { email: JANE },
    });
    expect(reply).toMatchObject({ outcome: 'applied', results: [{ entitlementId: newId }] });
    const ids = (await db.collection('entitlements').where('details.easycart.orderUuid', '==', order).get()).docs.map(
      (d) => d.id,
    );
    expect(ids).toEqual([newId]);
  });

  it('should run as a script: refuse without its settings', () => {
    const run = spawnSync(process.execPath, ['scripts/migrate-subject-keys.mjs', '--dry-run'], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('GOOGLE_CLOUD_PROJECT is not set');
    expect(run.stderr).toContain('SUBJECT_KEY_SECRET is not set');
  });
});
