import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../src/bootstrap.js';
import { TransientError } from '../src/common/errors/app-error.js';
import type { EntitlementChange } from '../src/entitlements/entitlement.js';
import type { LedgerResult } from '../src/entitlements/inbound-event.js';
import { Ledger } from '../src/entitlements/ledger.js';
import { memoryLogger, testConfig } from './support/app.js';
import { change, eventFor } from './support/changes.js';

/**
 * Two instances (each with its own in-process queue and Firestore client, like two Cloud Run
 * instances) apply the same event at once on the emulator: exactly one applies it.
 */
describe('the same event applied by two instances at once', () => {
  const config = testConfig();
  let apps: NestFastifyApplication[];
  let ledgers: Ledger[];
  let db: Firestore;

  beforeAll(async () => {
    apps = await Promise.all(
      [0, 1].map(async () => {
        const app = await bootstrap({ config, logger: memoryLogger().logger });
        await app.init();
        return app;
      }),
    );
    ledgers = apps.map((a) => a.get(Ledger));
    db = apps[0]!.get(Firestore);
  });
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  async function applyWithRedelivery(ledger: Ledger, c: EntitlementChange): Promise<LedgerResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ledger.apply(c, eventFor(c));
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= 20) throw error;
      }
    }
  }

  it('should apply it once: one applied, the other duplicate, one version and one history entry', async () => {
    // On the emulator the loser's transaction is aborted and retried, and then reads the winner's record.
    const c = change({ externalId: 'race', subject: { key: 'user:race' } });
    const results = await Promise.all(ledgers.map((l) => applyWithRedelivery(l, c)));
    expect(results.map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate']);
    const e = await db.collection('entitlements').doc('purchasely:race').get();
    expect(e.get('version')).toBe(1);
    expect((await e.ref.collection('history').get()).size).toBe(1);
    expect((await db.collection('events').doc(`purchasely:${c.eventKey}`).get()).get('outcome')).toBe('applied');
  });

  it('should answer duplicate and write nothing when a create at commit finds its document already there', async () => {
    // The `tx.create` guard's "already exists" path, on a real commit: the outbox entry of this event
    // is already there (an entry left unpublished after its event record expired), so the commit
    // fails with ALREADY_EXISTS. The whole transaction is refused: no entitlement, no event record.
    const c = change({ externalId: 'create-guard', subject: { key: 'user:create-guard' } });
    const id = `purchasely:${c.eventKey}`;
    await db.collection('outbox').doc(id).create({ orphan: true });
    await expect(ledgers[0]!.apply(c, eventFor(c))).resolves.toMatchObject({
      outcome: 'duplicate',
      entitlementId: 'purchasely:create-guard',
    });
    expect((await db.collection('entitlements').doc('purchasely:create-guard').get()).exists).toBe(false);
    expect((await db.collection('events').doc(id).get()).exists).toBe(false);
    expect((await db.collection('access').doc('user:create-guard').get()).exists).toBe(false);
    expect((await db.collection('outbox').doc(id).get()).data()).toEqual({ orphan: true });
  });
});
