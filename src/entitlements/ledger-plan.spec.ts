import { describe, expect, it } from '@jest/globals';
import { change } from '../../test/support/changes.js';
import { expectAccess } from '../../test/support/access-rules.js';
import { OUTCOMES, STATUSES, type EntitlementStatus } from './entitlement.js';
import {
  accessKey,
  accessKeysToRead,
  CHANGE_EVENT_SCHEMA_VERSION,
  changeEvent,
  decisionWaitingEvent,
  effectiveSubject,
  isFinalOutcome,
  planApply,
  type AccessSummary,
  type Snapshot,
} from './ledger-plan.js';

const NOW = new Date('2026-11-02T12:00:00.000Z');

function plan(overrides: Parameters<typeof change>[0]) {
  const c = change({ subject: { key: 'user:u1' }, validFrom: null, ...overrides });
  const p = planApply({
    change: c,
    priorEvent: null,
    existing: null,
    linkedSubjectKey: null,
    accessByKey: new Map<string, AccessSummary | null>(),
    now: NOW,
  });
  if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
  return p;
}

describe('planApply: what reaches the access summary', () => {
  it.each(STATUSES.map((s) => [s]))('should list an entitlement under %s exactly when the rule grants access', (s) => {
    const status = s as (typeof STATUSES)[number];
    const p = plan({ status });
    const want = expectAccess({ status, validFrom: null, validUntil: null }, NOW);
    const summary = p.access.get('user:u1')!;
    expect(Object.keys(summary.entitlements)).toEqual(want ? [accessKey('purchasely:sub-1')] : []);
    expect(summary.products).toEqual(want ? ['demo'] : []);
    expect(p.entitlement.active).toBe(want);
  });

  it('should leave access at the instant validUntil is reached, and keep it one millisecond before', () => {
    expect(plan({ validUntil: NOW }).access.get('user:u1')!.entitlements).toEqual({});
    expect(plan({ validUntil: new Date(NOW.getTime() + 1) }).access.get('user:u1')!.products).toEqual(['demo']);
  });

  it('should drop an entitlement from access when an active one becomes suspended', () => {
    const first = plan({ status: 'active' });
    const suspended = planApply({
      change: change({ subject: { key: 'user:u1' }, status: 'suspended', sourceTime: new Date(NOW.getTime() - 1) }),
      priorEvent: null,
      existing: first.entitlement,
      linkedSubjectKey: null,
      accessByKey: new Map([['user:u1', first.access.get('user:u1')!]]),
      now: NOW,
    });
    expect(suspended).toMatchObject({ outcome: 'applied', accessChanged: true });
    if (suspended.outcome !== 'applied') return;
    expect(suspended.access.get('user:u1')).toMatchObject({ entitlements: {}, products: [] });
  });
});

describe('planApply: the expiring notice still due (pendingNoticeFor)', () => {
  const until = new Date(NOW.getTime() + 5 * 86_400_000);
  const next = (existing: ReturnType<typeof plan>['entitlement'], overrides: Parameters<typeof change>[0]) => {
    const p = planApply({
      change: change({ subject: { key: 'user:u1' }, validFrom: null, sourceTime: NOW, ...overrides }),
      priorEvent: null,
      existing,
      linkedSubjectKey: null,
      accessByKey: new Map<string, AccessSummary | null>(),
      now: NOW,
    });
    if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
    return p.entitlement;
  };

  it('should mark a new end, keep a sent notice sent while the end stays, and mark a moved end again', () => {
    const first = plan({ validUntil: until }).entitlement;
    expect(first.pendingNoticeFor).toEqual(until);
    expect(plan({ validUntil: null }).entitlement.pendingNoticeFor).toBeNull();

    const sent = { ...first, pendingNoticeFor: null };
    expect(next(sent, { eventType: 'UPDATED', validUntil: until }).pendingNoticeFor).toBeNull();
    const renewed = new Date(until.getTime() + 30 * 86_400_000);
    expect(next(sent, { eventType: 'RENEWED', validUntil: renewed }).pendingNoticeFor).toEqual(renewed);
    // Moved back to an end whose notice went out already: marked, and the job finds that notice (no second one).
    expect(next({ ...sent, validUntil: renewed }, { validUntil: until }).pendingNoticeFor).toEqual(until);
  });

  it('should mark a stored document written before the field existed, and clear it on erasure', () => {
    const { pendingNoticeFor: _, ...legacy } = plan({ validUntil: until }).entitlement;
    expect(next(legacy, { validUntil: until }).pendingNoticeFor).toEqual(until);
    expect(next(legacy, { validUntil: until, erase: true }).pendingNoticeFor).toBeNull();
  });
});

type Applied = Extract<ReturnType<typeof planApply>, { outcome: 'applied' }>;
const HOUR = 3_600_000;
const LATER = new Date(NOW.getTime() + HOUR);

function applied(p: ReturnType<typeof planApply>): Applied {
  if (p.outcome !== 'applied') throw new Error(`expected applied, got ${p.outcome}`);
  return p;
}

/** `first` then `next` on the same entitlement, the second planned against what the first wrote. */
function twice(
  first: Parameters<typeof change>[0],
  next: Parameters<typeof change>[0],
  linkedSubjectKey: string | null = null,
) {
  const one = plan(first);
  const c = change({
    subject: { key: 'user:u1' },
    validFrom: undefined,
    validUntil: undefined,
    sourceTime: one.entitlement.sourceUpdatedAt,
    ...next,
  });
  return {
    one,
    two: planApply({
      change: c,
      priorEvent: null,
      existing: one.entitlement,
      linkedSubjectKey,
      accessByKey: new Map([...one.access]),
      now: LATER,
    }),
  };
}

describe('isFinalOutcome', () => {
  it('should treat applied, duplicate, stale and ignored as final and let invalid and failed run again', () => {
    expect(OUTCOMES.filter(isFinalOutcome)).toEqual(['applied', 'duplicate', 'stale', 'ignored']);
  });
});

describe('effectiveSubject and accessKeysToRead', () => {
  const marketplace = change({ subject: { key: 'gcp-account:a1', accountId: 'a1' } });

  it('should move a Marketplace account linked to a product user under that user, and nothing else', () => {
    expect(effectiveSubject(marketplace, 'user:u9')).toEqual({ key: 'user:u9', accountId: 'a1' });
    expect(effectiveSubject(marketplace, null)).toBe(marketplace.subject);
    const noAccount = change({ subject: { key: 'user:u1', userId: 'u1' } });
    expect(effectiveSubject(noAccount, 'user:u9')).toBe(noAccount.subject);
    expect(effectiveSubject(marketplace, '')).toBe(marketplace.subject);
  });

  it('should read the new subject and the stored one, once each, and not the new one of an erasure', () => {
    const stored = plan({ subject: { key: 'gcp-account:a1', accountId: 'a1' } }).entitlement;
    expect(accessKeysToRead(marketplace, null, null)).toEqual(['gcp-account:a1']);
    expect(accessKeysToRead(marketplace, stored, null)).toEqual(['gcp-account:a1']);
    expect(accessKeysToRead(marketplace, stored, 'user:u9')).toEqual(['user:u9', 'gcp-account:a1']);
    expect(accessKeysToRead({ ...marketplace, erase: true }, stored, 'user:u9')).toEqual(['gcp-account:a1']);
    expect(accessKeysToRead({ ...marketplace, erase: true }, { ...stored, subject: null }, null)).toEqual([]);
  });
});

describe('planApply: outcomes', () => {
  const input = (overrides: Partial<Parameters<typeof planApply>[0]>) => ({
    change: change({ subject: { key: 'user:u1' } }),
    priorEvent: null,
    existing: null,
    linkedSubjectKey: null,
    accessByKey: new Map<string, AccessSummary | null>(),
    now: NOW,
    ...overrides,
  });

  it('should call a redelivery of a final outcome a duplicate and re-run one that was not final', () => {
    for (const outcome of OUTCOMES) {
      expect(planApply(input({ priorEvent: { outcome } })).outcome).toBe(
        isFinalOutcome(outcome) ? 'duplicate' : 'applied',
      );
    }
    expect(planApply(input({ priorEvent: { outcome: 'applied' } }))).toEqual({ outcome: 'duplicate' });
  });

  it('should ignore any change to an erased entitlement, even a later one', () => {
    const existing = { ...plan({}).entitlement, erasedAt: NOW };
    expect(planApply(input({ existing, change: change({ sourceTime: LATER }) }))).toEqual({
      outcome: 'ignored',
      reason: 'entitlement was erased (customer data deleted)',
    });
  });

  it('should call a change older than the applied one stale, and apply one of the same source time', () => {
    const existing = plan({}).entitlement;
    const older = new Date(existing.sourceUpdatedAt.getTime() - 1);
    expect(planApply(input({ existing, change: change({ sourceTime: older }) }))).toEqual({
      outcome: 'stale',
      reason: `source time ${older.toISOString()} is older than the applied ${existing.sourceUpdatedAt.toISOString()}`,
    });
    expect(planApply(input({ existing, change: change({ sourceTime: existing.sourceUpdatedAt }) })).outcome).toBe(
      'applied',
    );
  });

  it('should ignore an erasure of nothing and refuse a first change without a product', () => {
    expect(planApply(input({ change: change({ erase: true }) }))).toEqual({
      outcome: 'ignored',
      reason: 'nothing stored to erase',
    });
    expect(planApply(input({ change: change({ product: null }) }))).toEqual({
      outcome: 'invalid',
      reason: 'the first change of an entitlement must name its product',
    });
  });
});

describe('planApply: the entitlement record', () => {
  it('should build the first record from the change alone', () => {
    const c = change({ subject: { key: 'user:u1' }, validFrom: null, details: { a: 1 }, periodEnd: LATER });
    const p = applied(
      planApply({
        change: c,
        priorEvent: null,
        existing: null,
        linkedSubjectKey: null,
        accessByKey: new Map(),
        now: NOW,
      }),
    );
    expect(p.previous).toBeNull();
    expect(p.entitlement).toEqual({
      id: 'purchasely:sub-1',
      source: 'purchasely',
      externalId: 'sub-1',
      subject: { key: 'user:u1' },
      product: 'demo',
      plan: 'monthly',
      providerProduct: 'PREMIUM',
      providerPlan: 'monthly',
      pendingPlan: null,
      status: 'active',
      active: true,
      providerState: 'ACTIVATE',
      validFrom: null,
      validUntil: null,
      periodEnd: LATER,
      sourceUpdatedAt: c.sourceTime,
      version: 1,
      createdAt: NOW,
      updatedAt: NOW,
      lastEvent: { key: c.eventKey, type: 'ACTIVATE', at: NOW },
      details: { a: 1 },
      erasedAt: null,
      pendingNoticeFor: null,
      awaiting: null,
    });
  });

  it('should keep what a later change does not name, and take what it does', () => {
    const { one, two } = twice(
      {
        validFrom: NOW,
        validUntil: LATER,
        periodEnd: LATER,
        pendingPlan: { plan: 'yearly', providerPlan: 'YEARLY' },
        details: { a: 1, b: 1 },
      },
      {
        product: null,
        validFrom: undefined,
        validUntil: undefined,
        periodEnd: undefined,
        pendingPlan: undefined,
        details: { b: 2 },
        providerState: 'RENEW',
        eventType: 'RENEW',
      },
    );
    const e = applied(two).entitlement;
    expect(e).toMatchObject({
      product: 'demo',
      plan: 'monthly',
      providerProduct: 'PREMIUM',
      providerPlan: 'monthly',
      validFrom: NOW,
      validUntil: LATER,
      periodEnd: LATER,
      pendingPlan: { plan: 'yearly', providerPlan: 'YEARLY' },
      details: { a: 1, b: 2 },
      providerState: 'RENEW',
      version: 2,
      createdAt: NOW,
      updatedAt: LATER,
      lastEvent: { type: 'RENEW', at: LATER },
    });
    expect(applied(two).previous).toBe(one.entitlement);
  });

  it('should clear a window field or pending plan set to null, and replace product and plan named again', () => {
    const { two } = twice(
      { validFrom: NOW, validUntil: LATER, periodEnd: LATER, pendingPlan: { plan: 'yearly', providerPlan: 'YEARLY' } },
      {
        validFrom: null,
        validUntil: null,
        periodEnd: null,
        pendingPlan: null,
        product: { product: 'other', plan: null, providerProduct: 'OTHER', providerPlan: null },
      },
    );
    expect(applied(two).entitlement).toMatchObject({
      validFrom: null,
      validUntil: null,
      periodEnd: null,
      pendingPlan: null,
      product: 'other',
      plan: null,
      providerProduct: 'OTHER',
      providerPlan: null,
    });
  });

  it('should count the grace of the source into active', () => {
    const validUntil = new Date(NOW.getTime() - HOUR);
    const c = change({ subject: { key: 'user:u1' }, validFrom: null, validUntil });
    const base = {
      change: c,
      priorEvent: null,
      existing: null,
      linkedSubjectKey: null,
      accessByKey: new Map(),
      now: NOW,
    };
    expect(applied(planApply(base)).entitlement.active).toBe(false);
    const graced = applied(planApply({ ...base, graceMs: 2 * HOUR }));
    expect(graced.entitlement.active).toBe(true);
    expect(graced.access.get('user:u1')!.entitlements[accessKey('purchasely:sub-1')]).toEqual({
      entitlementId: 'purchasely:sub-1',
      source: 'purchasely',
      product: 'demo',
      plan: 'monthly',
      status: 'active',
      validFrom: null,
      validUntil,
      accessUntil: new Date(validUntil.getTime() + 2 * HOUR),
    });
  });
});

describe('planApply: access summaries', () => {
  const summary = (subjectKey: string, entries: AccessSummary['entitlements'], version = 4): AccessSummary => ({
    subjectKey,
    entitlements: entries,
    products: [...new Set(Object.values(entries).map((e) => e.product))].sort(),
    version,
    updatedAt: NOW,
  });
  const entry = (entitlementId: string, product: string): AccessSummary['entitlements'][string] => ({
    entitlementId,
    source: 'easycart',
    product,
    plan: null,
    status: 'active',
    validFrom: null,
    validUntil: null,
    accessUntil: null,
  });

  it('should add to the subject document what it already lists, bump its version and sort its products', () => {
    const current = summary('user:u1', {
      'easycart:o1': entry('easycart:o1', 'zeta'),
      'easycart:o2': entry('easycart:o2', 'alpha'),
    });
    const c = change({ subject: { key: 'user:u1' }, validFrom: null });
    const p = applied(
      planApply({
        change: c,
        priorEvent: null,
        existing: null,
        linkedSubjectKey: null,
        accessByKey: new Map([['user:u1', current]]),
        now: LATER,
      }),
    );
    const doc = p.access.get('user:u1')!;
    expect(Object.keys(doc.entitlements).sort()).toEqual(
      ['easycart:o1', 'easycart:o2', accessKey('purchasely:sub-1')].sort(),
    );
    expect(doc).toMatchObject({
      subjectKey: 'user:u1',
      products: ['alpha', 'demo', 'zeta'],
      version: 5,
      updatedAt: LATER,
    });
    expect(current.entitlements).not.toHaveProperty(accessKey('purchasely:sub-1'));
    expect(p.access.size).toBe(1);
  });

  it('should start a subject document at version 1', () => {
    expect(plan({}).access.get('user:u1')).toMatchObject({ subjectKey: 'user:u1', version: 1, updatedAt: NOW });
  });

  it('should replace an entry kept under the raw id by older documents', () => {
    const id = 'purchasely:sub 1/x';
    expect(accessKey(id)).not.toBe(id);
    const legacy = summary('user:u1', { [id]: entry(id, 'old') });
    const p = applied(
      planApply({
        change: change({ subject: { key: 'user:u1' }, externalId: 'sub 1/x', validFrom: null, status: 'cancelled' }),
        priorEvent: null,
        existing: null,
        linkedSubjectKey: null,
        accessByKey: new Map([['user:u1', legacy]]),
        now: NOW,
      }),
    );
    expect(p.access.get('user:u1')).toMatchObject({ entitlements: {}, products: [] });
  });

  it('should move the entry when the subject changes, and say so', () => {
    const { one, two } = twice({}, { subject: { key: 'user:u2' } });
    const moved = applied(two);
    expect(moved.access.get('user:u1')).toMatchObject({ entitlements: {}, products: [], version: 2 });
    expect(Object.keys(moved.access.get('user:u2')!.entitlements)).toEqual([accessKey('purchasely:sub-1')]);
    expect(moved.history.subjectMoved).toBe(true);
    expect(moved.accessChanged).toBe(true);
    expect(applied(twice({}, {}).two).history.subjectMoved).toBe(false);
    expect(one.history.subjectMoved).toBe(false);
  });

  it('should move the entitlement of a Marketplace account under the product user the account is linked to', () => {
    const account = { key: 'gcp-account:a1', accountId: 'a1' };
    const linked = applied(twice({ subject: account }, { subject: account }, 'user:u9').two);
    expect(linked.entitlement.subject).toEqual({ key: 'user:u9', accountId: 'a1' });
    expect(Object.keys(linked.access.get('user:u9')!.entitlements)).toEqual([accessKey('purchasely:sub-1')]);
    expect(linked.access.get('gcp-account:a1')!.entitlements).toEqual({});
  });

  it('should delete the access document when an erasure removes its last entry, and keep it otherwise', () => {
    const { two } = twice({}, { erase: true });
    const erased = applied(two);
    expect(erased.access).toEqual(new Map([['user:u1', null]]));
    expect(erased.entitlement).toMatchObject({ subject: null, active: false, details: {}, erasedAt: LATER });
    expect(erased.history.subjectMoved).toBe(true);

    const one = plan({});
    const other = entry('easycart:o1', 'zeta');
    const shared = {
      ...one.access.get('user:u1')!,
      entitlements: { ...one.access.get('user:u1')!.entitlements, 'easycart:o1': other },
    };
    const kept = applied(
      planApply({
        change: change({ subject: { key: 'user:u1' }, erase: true, sourceTime: one.entitlement.sourceUpdatedAt }),
        priorEvent: null,
        existing: one.entitlement,
        linkedSubjectKey: null,
        accessByKey: new Map([['user:u1', shared]]),
        now: LATER,
      }),
    );
    expect(kept.access.get('user:u1')).toMatchObject({ entitlements: { 'easycart:o1': other }, products: ['zeta'] });
  });

  it('should keep the document of a subject the entitlement leaves without erasure, even when empty', () => {
    const moved = applied(twice({}, { subject: { key: 'user:u2' } }).two);
    expect(moved.access.get('user:u1')).not.toBeNull();
  });
});

describe('planApply: history and accessChanged', () => {
  it('should record the change and both snapshots', () => {
    const { one, two } = twice({ validUntil: LATER }, { status: 'pending_cancellation', eventType: 'CANCEL' });
    const h = applied(two).history;
    expect(h).toMatchObject({
      eventType: 'CANCEL',
      source: 'purchasely',
      actor: { type: 'provider', id: 'purchasely' },
      at: LATER,
      sourceTime: one.entitlement.sourceUpdatedAt,
      before: { status: 'active', active: true, product: 'demo', plan: 'monthly', validFrom: null, validUntil: LATER },
      after: {
        status: 'pending_cancellation',
        active: false,
        product: 'demo',
        plan: 'monthly',
        validFrom: null,
        validUntil: LATER,
      },
      subjectMoved: false,
    });
    expect(one.history.before).toBeNull();
    expect(one.accessChanged).toBe(true);
  });

  it('should report no access change when status, active, product, plan, window and subject stay', () => {
    expect(applied(twice({ validFrom: NOW, validUntil: new Date(LATER.getTime() + HOUR) }, {}).two).accessChanged).toBe(
      false,
    );
  });

  const OPEN = { validFrom: NOW, validUntil: new Date(LATER.getTime() + HOUR) };
  it.each([
    ['status', OPEN, { status: 'pending_cancellation' as const }],
    [
      'active (the window ended between the two)',
      { validFrom: NOW, validUntil: new Date(NOW.getTime() + HOUR / 2) },
      {},
    ],
    [
      'product',
      OPEN,
      { product: { product: 'other', plan: 'monthly', providerProduct: 'PREMIUM', providerPlan: 'monthly' } },
    ],
    [
      'plan',
      OPEN,
      { product: { product: 'demo', plan: 'yearly', providerProduct: 'PREMIUM', providerPlan: 'yearly' } },
    ],
    ['validFrom', OPEN, { validFrom: new Date(NOW.getTime() - HOUR) }],
    ['validUntil', OPEN, { validUntil: new Date(LATER.getTime() + 2 * HOUR) }],
    ['subject', OPEN, { subject: { key: 'user:u2' } }],
  ])('should report an access change when %s changes, and only that', (_, first, next) => {
    const p = applied(twice(first, next).two);
    expect(p.accessChanged).toBe(true);
    const changed = Object.keys(p.history.after).filter(
      (k) =>
        JSON.stringify(p.history.after[k as keyof Snapshot]) !== JSON.stringify(p.history.before![k as keyof Snapshot]),
    );
    expect(changed.length).toBeLessThanOrEqual(1);
  });
});

describe('changeEvent', () => {
  it('should describe the change, the state after and before, and name the inbound event', () => {
    const { one, two } = twice({ validUntil: LATER }, { subject: { key: 'user:u2' }, status: 'pending_cancellation' });
    const p = applied(two);
    const c = change({ eventKey: 'ev-2', eventType: 'CANCEL' });
    expect(changeEvent('doc-2', p, c)).toEqual({
      schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
      type: 'entitlement.changed',
      id: 'doc-2',
      entitlementId: 'purchasely:sub-1',
      source: 'purchasely',
      entitlementVersion: 2,
      state: { ...p.history.after, subjectKey: 'user:u2' },
      previous: { ...p.history.before, subjectKey: 'user:u1' },
      sourceEvent: { source: 'purchasely', key: 'ev-2', type: 'CANCEL' },
      occurredAt: LATER,
    });
    expect(changeEvent('doc-1', one, c).previous).toBeNull();
    expect(CHANGE_EVENT_SCHEMA_VERSION).toBe(1);
  });

  it('should name no subject for an erased entitlement', () => {
    const erased = applied(twice({}, { erase: true }).two);
    expect(changeEvent('doc', erased, change()).state.subjectKey).toBeNull();
    const orphan = { ...erased, previous: { ...erased.previous!, subject: null } };
    expect(changeEvent('doc', orphan, change()).previous!.subjectKey).toBeNull();
  });
});

describe('decisionWaitingEvent', () => {
  const waiting = (
    marketplace: Record<string, unknown>,
    before: Record<string, unknown> | null,
    status: EntitlementStatus = 'pending_approval',
  ) => {
    const p = plan({
      source: 'gcp',
      status,
      subject: { key: 'gcp-account:a1', accountId: 'a1' },
      details: { marketplace },
      pendingPlan: { plan: 'yearly', providerPlan: 'YEARLY' },
    });
    const previous = before ? { ...p.entitlement, details: { marketplace: before } } : null;
    return decisionWaitingEvent('doc-1', { ...p, previous });
  };

  it('should announce a purchase that now waits for an admin', () => {
    expect(waiting({ approval: 'awaiting_admin' }, null)).toEqual({
      schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
      type: 'decision.waiting',
      id: 'waiting:doc-1',
      entitlementId: 'gcp:sub-1',
      source: 'gcp',
      entitlementVersion: 1,
      decision: 'entitlement',
      product: 'demo',
      plan: 'monthly',
      providerPlan: 'monthly',
      reason: 'the approval policy leaves it to an admin (config/policy.yaml, marketplace.approvals)',
      subjectKey: 'gcp-account:a1',
      waitingSince: NOW,
    });
    expect(waiting({ approval: 'awaiting_admin' }, {})?.decision).toBe('entitlement');
  });

  it('should announce a plan change that now waits, with its reason when one is given', () => {
    expect(
      waiting({ planChangeApproval: 'awaiting_admin', planChangeReason: 'unmapped plan' }, {}, 'active'),
    ).toMatchObject({
      decision: 'planChange',
      plan: 'yearly',
      providerPlan: 'YEARLY',
      reason: 'unmapped plan',
    });
    for (const planChangeReason of ['', 42, undefined]) {
      expect(waiting({ planChangeApproval: 'awaiting_admin', planChangeReason }, {}, 'active')?.reason).toBe(
        'the approval policy leaves it to an admin (config/policy.yaml, marketplace.approvals)',
      );
    }
  });

  it('should announce nothing that already waited, nothing not waiting for an admin, and no approval wait outside pending_approval', () => {
    expect(waiting({ approval: 'awaiting_admin' }, { approval: 'awaiting_admin' })).toBeNull();
    expect(
      waiting({ planChangeApproval: 'awaiting_admin' }, { planChangeApproval: 'awaiting_admin' }, 'active'),
    ).toBeNull();
    expect(waiting({ approval: 'awaiting_account' }, null)).toBeNull();
    expect(waiting({ planChangeApproval: 'approved' }, null, 'active')).toBeNull();
    expect(waiting({ approval: 'awaiting_admin' }, null, 'active')).toBeNull();
    expect(waiting({}, null)).toBeNull();
  });

  it('should read details that are not an object as no Marketplace details', () => {
    const p = plan({ source: 'gcp', status: 'pending_approval', details: { marketplace: 'awaiting_admin' } });
    expect(decisionWaitingEvent('doc', p)).toBeNull();
    const q = plan({
      source: 'gcp',
      status: 'pending_approval',
      details: { marketplace: { approval: 'awaiting_admin' } },
    });
    expect(
      decisionWaitingEvent('doc', { ...q, previous: { ...q.entitlement, details: { marketplace: null } } })?.decision,
    ).toBe('entitlement');
  });
});
