import { afterEach, describe, expect, it } from '@jest/globals';
import { change } from './support/changes.js';
import { accessInvariantViolations } from './support/invariants.js';
import { DAY, startLifecycleApp, T0, type LifecycleApp } from './lifecycle/support.js';

/**
 * One subject (one e-mail with many purchases) gets many entitlement changes at once, from two instances: every
 * change rewrites the same access/ document. Transactions on it contend across instances (queued within each);
 * none may be lost. bench/hot-subject.mjs measures 1,000 of them.
 */
describe('A hot subject: many changes for one access document at once, from two instances', () => {
  const apps: LifecycleApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('should keep every entitlement in the access summary (no lost update)', async () => {
    const first = await startLifecycleApp();
    apps.push(first);
    const second = await startLifecycleApp({ env: { GOOGLE_CLOUD_PROJECT: first.projectId }, clock: first.clock });
    apps.push(second);
    const subject = { key: 'email:hot@example.com', email: 'hot@example.com' };
    const changes = Array.from({ length: 12 }, (_, i) =>
      change({
        source: 'easycart',
        externalId: `hot-${i}`,
        eventKey: `hot-order-${i}`,
        subject,
        sourceTime: new Date(T0.getTime() - DAY),
        validFrom: new Date(T0.getTime() - DAY),
        validUntil: new Date(T0.getTime() + 30 * DAY),
      }),
    );
    // What a provider does when a delivery failed (a transaction timed out under the contention): send it again.
    const deliver = async (app: LifecycleApp, c: (typeof changes)[number]) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await app.apply(c)).outcome;
        } catch (error) {
          if (attempt >= 5) throw error;
        }
      }
    };
    const outcomes = await Promise.all(changes.map((c, i) => deliver(i % 2 ? second : first, c)));
    expect(outcomes.every((o) => o === 'applied' || o === 'duplicate')).toBe(true);

    const access = await first.store.getAccess(subject.key);
    expect(
      Object.values(access?.entitlements ?? {})
        .map((e) => e.entitlementId)
        .sort(),
    ).toEqual(changes.map((c) => `easycart:${c.externalId}`).sort());
    expect(await accessInvariantViolations(first.db)).toEqual([]);
  });
});
