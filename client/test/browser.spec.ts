import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore as ServerFirestore } from '@google-cloud/firestore';
import { deleteApp, initializeApp, type FirebaseApp } from '@firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getDoc,
  getDocs,
  getFirestore,
  onSnapshot,
  setDoc,
  setLogLevel,
  terminate,
  type Firestore as BrowserFirestore,
} from '@firebase/firestore';
import { TEST_SUBJECT_KEY_SECRET } from '../../test/support/app.js';
import { eventually } from '../../test/support/marketplace.js';
import {
  activate,
  getCourseCall,
  purchaseActive,
  purchaselyDelivery,
  startWebhookStack,
  type WebhookStack,
} from '../../test/support/webhook-senders.js';
import { createBrowserAccess, subjectKey, type CurrentAccess } from '../src/browser.js';
import { subjectKey as serverKeys } from '../src/index.js';

/**
 * The browser variant with the Firebase JS SDK (`@firebase/firestore`, as `firebase/firestore` ships it)
 * against the Firestore emulator running the repository's firestore.rules, signed in as Firebase Auth
 * users through the emulator's mock ID tokens (unsigned, as the emulator accepts); the documents are
 * written by the real service (Purchasely and GetCourse webhooks).
 */
const NOW = new Date('2026-11-20T12:00:00Z');
const [HOST, PORT] = process.env.FIRESTORE_EMULATOR_HOST!.split(':') as [string, string];

/** Loads firestore.rules for one project of the emulator (its REST API; server SDKs stay exempt). */
async function loadRules(projectId: string): Promise<void> {
  const content = readFileSync(new URL('../../firestore.rules', import.meta.url), 'utf8');
  const res = await fetch(`http://${HOST}:${PORT}/emulator/v1/projects/${projectId}:securityRules`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content }] } }),
  });
  if (!res.ok) throw new Error(`loading the rules failed: ${res.status} ${await res.text()}`);
}

describe('browser variant under firestore.rules', () => {
  let stack: WebhookStack;
  let projectId: string;
  const apps: FirebaseApp[] = [];
  const stops: (() => void)[] = [];
  const alice = `alice${randomUUID().replace(/-/g, '')}`.slice(0, 28);
  const aliceEmail = `${alice}@example.com`;

  /** A browser's Firestore, signed in as `uid` (or not signed in). */
  function browser(uid: string | null): BrowserFirestore {
    const app = initializeApp({ projectId, apiKey: 'test-api-key' }, `browser-${apps.length}-${uid}`);
    apps.push(app);
    const db = getFirestore(app);
    connectFirestoreEmulator(db, HOST, Number(PORT), uid ? { mockUserToken: { user_id: uid } } : {});
    return db;
  }
  const accessFor = (db: BrowserFirestore) => createBrowserAccess(db, { doc, getDoc, onSnapshot });

  beforeAll(async () => {
    setLogLevel('error'); // the SDK warns of every refused request, which these tests make on purpose
    stack = await startWebhookStack(NOW);
    projectId = stack.app.config.env.GOOGLE_CLOUD_PROJECT;
    await loadRules(projectId);
    const bought = await purchaselyDelivery(stack.app, stack.clock, activate(NOW, `subs-${alice}`, alice));
    expect(bought.body.outcome).toBe('applied');
    const course = await getCourseCall(stack.app, purchaseActive(String(Date.now()), aliceEmail));
    expect(course.body.outcome).toBe('applied');
  });
  afterAll(async () => {
    for (const stop of stops) stop();
    for (const app of apps) {
      await terminate(getFirestore(app));
      await deleteApp(app);
    }
    await stack?.close();
  });

  it('should let a signed-in user read and watch their own user:<uid> summary', async () => {
    const access = accessFor(browser(alice));
    expect(await access.has(subjectKey.forUser(alice), 'demo', 'monthly')).toBe(true);

    const seen: CurrentAccess[] = [];
    const errors: Error[] = [];
    stops.push(access.watch(subjectKey.forUser(alice), (a) => seen.push(a), { onError: (e) => errors.push(e) }));
    await eventually(async () => seen.at(-1)?.has('demo'));
    const later = new Date(NOW.getTime() + 60_000);
    stack.clock.set(later);
    const revoked = await purchaselyDelivery(
      stack.app,
      stack.clock,
      activate(later, `subs-${alice}`, alice, { event_name: 'DEACTIVATE', subscription_status: 'UNPAID' }),
    );
    expect(revoked.body.outcome).toBe('applied');
    await eventually(async () => seen.at(-1)?.has('demo') === false);
    expect(errors).toEqual([]);
  });

  it("should refuse another user's summary, and every read to a browser that is not signed in", async () => {
    await expect(accessFor(browser(`bob${alice}`)).current(subjectKey.forUser(alice))).rejects.toMatchObject({
      code: 'permission-denied',
    });
    await expect(accessFor(browser(null)).current(subjectKey.forUser(alice))).rejects.toMatchObject({
      code: 'permission-denied',
    });
    const errors: Error[] = [];
    stops.push(
      accessFor(browser(`eve${alice}`)).watch(subjectKey.forUser(alice), () => undefined, {
        onError: (e) => errors.push(e),
      }),
    );
    await eventually(async () => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'permission-denied' });
  });

  it('should keep e-mail keys, lists, writes and every other collection closed, even to the signed-in user', async () => {
    const db = browser(alice);
    const emailKey = serverKeys.forEmail(aliceEmail, { secret: TEST_SUBJECT_KEY_SECRET });
    await expect(accessFor(db).current(emailKey)).rejects.toMatchObject({ code: 'permission-denied' });
    await expect(getDocs(collection(db, 'access'))).rejects.toMatchObject({ code: 'permission-denied' });
    await expect(
      setDoc(doc(db, 'access', subjectKey.forUser(alice)), { subjectKey: subjectKey.forUser(alice), version: 99 }),
    ).rejects.toMatchObject({ code: 'permission-denied' });
    await expect(getDoc(doc(db, 'entitlements', `purchasely:subs-${alice}`))).rejects.toMatchObject({
      code: 'permission-denied',
    });
    // The e-mail key exists: the service wrote it; only the server SDK reads it.
    const server = stack.app.app.get(ServerFirestore);
    expect((await server.collection('access').doc(emailKey).get()).exists).toBe(true);
  });

  it('should refuse, before any read, a key whose document id the service hashes', async () => {
    await expect(accessFor(browser(alice)).current(subjectKey.forUser('tenant/42'))).rejects.toThrow(/hashed id/);
  });
});
