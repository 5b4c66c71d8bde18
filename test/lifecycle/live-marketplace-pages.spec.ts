import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EntitlementStatus } from '../../src/entitlements/entitlement.js';
import { COLLECTIONS, documentId } from '../../src/infrastructure/firestore/collections.js';
import type { LifecycleStore } from '../../src/lifecycle/lifecycle-store.js';
import { startLifecycleApp, type LifecycleApp } from './support.js';

/**
 * The store's walk over Marketplace entitlements by status (reconciliation's second phase, the usage reporter's
 * openings, the decision check): one equality query per status, pages that span statuses, a cursor that resumes
 * where the last page stopped, and cursors it did not write that resume without missing anything.
 */
const LIVE: EntitlementStatus[] = [
  'active',
  'pending_plan_change',
  'pending_cancellation',
  'pending_approval',
  'suspended',
];
const FINAL: EntitlementStatus[] = ['cancelled', 'expired', 'rejected'];

describe('Marketplace entitlements walked status by status', () => {
  let app: LifecycleApp;
  let store: LifecycleStore;
  const live: string[] = [];
  const pending: string[] = [];

  beforeAll(async () => {
    app = await startLifecycleApp();
    store = app.lifecycle;
    const batch = app.db.batch();
    const put = (id: string, source: string, status: EntitlementStatus) =>
      batch.set(app.db.collection(COLLECTIONS.entitlements).doc(documentId(id)), {
        id,
        source,
        status,
        externalId: id.slice(id.indexOf(':') + 1),
      });
    // Uneven counts (0 for pending_cancellation), so pages end inside a status, at its end and across an empty one.
    const counts: Record<string, number> = { active: 7, pending_plan_change: 3, pending_approval: 4, suspended: 2 };
    for (const status of LIVE) {
      for (let i = 0; i < (counts[status] ?? 0); i++) {
        const id = `gcp:${status}-${String(i).padStart(2, '0')}`;
        put(id, 'gcp', status);
        live.push(id);
        if (status === 'pending_approval' || status === 'pending_plan_change') pending.push(id);
      }
    }
    for (const status of FINAL) put(`gcp:${status}-00`, 'gcp', status);
    for (const status of LIVE) put(`easycart:${status}-00`, 'easycart', status);
    await batch.commit();
  });
  afterAll(() => app.close());

  async function walk(
    list: (limit: number, after: string | null) => ReturnType<LifecycleStore['listLiveMarketplaceEntitlements']>,
    limit: number,
    from: string | null = null,
  ): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after = from;
    for (let page = 0; page < 100; page++) {
      const { items, next } = await list(limit, after);
      ids.push(...items.map((e) => e.id));
      sizes.push(items.length);
      if (!next) return { ids, sizes };
      expect(items).toHaveLength(limit);
      after = next;
    }
    throw new Error('the walk did not end');
  }
  const liveList = (limit: number, after: string | null) => store.listLiveMarketplaceEntitlements(limit, after);

  it.each([1, 3, 4, 7, 16, 200])(
    'should read every live Marketplace entitlement exactly once, %i per page',
    async (limit) => {
      const { ids, sizes } = await walk(liveList, limit);
      expect(ids).toEqual(live); // status by status, by id within each; never a final status or another source
      expect(sizes.slice(0, -1).every((n) => n === limit)).toBe(true);
    },
  );

  it('should resume from each page cursor exactly where the page stopped', async () => {
    const first = await store.listLiveMarketplaceEntitlements(5, null);
    const second = await store.listLiveMarketplaceEntitlements(5, first.next);
    expect(first.next).toBe(`active/${documentId('gcp:active-04')}`);
    expect(second.next).toBe(`pending_plan_change/${documentId('gcp:pending_plan_change-02')}`);
    expect([...first.items, ...second.items].map((e) => e.id)).toEqual(live.slice(0, 10));
  });

  it('should resume a bare document id (a cursor stored before this walk) without missing any entitlement', async () => {
    const { ids } = await walk(liveList, 4, documentId('gcp:active-02'));
    // The old walk (one `in` query by id) had read every id up to the cursor in every status; this resumes the first
    // status after it and reads the other statuses from their start: some read twice, none missed.
    expect(ids).toEqual(live.filter((id) => !id.startsWith('gcp:active-') || id > 'gcp:active-02'));
  });

  it('should start over on a cursor naming a status it does not walk, and end on the last status', async () => {
    expect((await walk(liveList, 50, 'cancelled/gcp:cancelled-00')).ids).toEqual(live);
    expect((await walk(liveList, 50, 'no-such-status/x')).ids).toEqual(live);
    // An id Firestore would refuse in startAfter (here a path) is not sent: the walk starts over.
    expect((await walk(liveList, 50, 'active/a/b')).ids).toEqual(live);
    expect((await walk(liveList, 50, `suspended/${documentId('gcp:suspended-01')}`)).ids).toEqual([]);
    expect((await walk(liveList, 50, 'suspended/')).ids).toEqual(live.filter((id) => id.startsWith('gcp:suspended-')));
  });

  it('should walk only the decisions an admin may owe for the decision check', async () => {
    const { ids } = await walk((limit, after) => store.listPendingMarketplaceDecisions(limit, after), 2);
    expect(new Set(ids)).toEqual(new Set(pending));
    expect(ids).toHaveLength(pending.length);
  });
});
