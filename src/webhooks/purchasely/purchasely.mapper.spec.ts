import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../../config/app-config.js';
import { Catalog } from '../../entitlements/catalog.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import type { Mapped } from '../common/webhook-intake.js';
import { AppError } from '../../common/errors/app-error.js';
import {
  mapPurchaselyEvent,
  purchaselyEventKey,
  readPurchaselyEvent,
  withPurchaselyWindow,
  type PurchaselyMapContext,
} from './purchasely.mapper.js';
import { purchaselyEventSchema } from './purchasely.schema.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/purchasely/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
/** Recorded samples from Purchasely's documentation; other events are derived from them field by field. */
const activate = fixture('activate.json');
const deactivate = fixture('deactivate.json');

const catalog = new Catalog({
  products: {
    sources: {
      purchasely: { PURCHASELY_PLUS: { product: 'plus', plans: { monthly: 'monthly', yearly: 'annual' } } },
    },
  },
} as unknown as AppConfig);

function context(sandbox: 'ignore' | 'apply' = 'apply'): PurchaselyMapContext {
  return { resolve: (product, plan) => catalog.resolve('purchasely', product, plan), sandbox };
}

function map(body: Record<string, unknown>, ctx = context()): Mapped {
  const event = purchaselyEventSchema.parse(body);
  return mapPurchaselyEvent(event, purchaselyEventKey(event, JSON.stringify(body)), ctx);
}

function onlyChange(mapped: Mapped): EntitlementChange {
  if (mapped.kind !== 'changes') throw new Error(`expected changes, got ${mapped.kind}: ${mapped.reason}`);
  expect(mapped.changes).toHaveLength(1);
  return mapped.changes[0]!;
}

describe('mapPurchaselyEvent', () => {
  it('should grant on the recorded ACTIVATE: mapped product and plan, valid until the effective renewal date', () => {
    expect(onlyChange(map(activate))).toEqual({
      source: 'purchasely',
      eventKey: '5e45109f-7fac-45f8-a7e4-464892d5d35d',
      eventType: 'ACTIVATE',
      sourceTime: new Date('2023-12-12T14:19:26.120Z'),
      externalId: 'subs_D7GnVQbUxvY6YxoeK6nhyPDkmyCVcfe',
      subject: { key: 'user:toto', userId: 'toto' },
      product: { product: 'plus', plan: 'monthly', providerProduct: 'PURCHASELY_PLUS', providerPlan: 'monthly' },
      status: 'active',
      providerState: 'AUTO_RENEWING',
      validFrom: null,
      validUntil: new Date('2023-12-12T14:23:11.777Z'),
      pendingPlan: null,
      actor: { type: 'provider', id: 'purchasely' },
      details: {
        store: 'GOOGLE_PLAY_STORE',
        environment: 'SANDBOX',
        purchaseType: 'RENEWING_SUBSCRIPTION',
        subscriptionStatus: 'AUTO_RENEWING',
        storeOriginalTransactionId: 'GPA.3355-5688-7970-28037',
        purchasedAt: new Date('2023-12-12T14:13:11.777Z'),
        originalPurchasedAt: new Date('2023-12-12T13:48:16.233Z'),
      },
    });
  });

  it('should revoke now on the recorded DEACTIVATE and clear any pending plan', () => {
    expect(onlyChange(map(deactivate))).toMatchObject({
      eventKey: 'b1c2d3e4-0000-4000-8000-00000000dead',
      eventType: 'DEACTIVATE',
      externalId: 'subs_D7GnVQbUxvY6YxoeK6nhyPDkmyCVcfe',
      subject: { key: 'user:toto' },
      status: 'expired',
      providerState: 'UNPAID',
      sourceTime: new Date('2023-12-12T14:25:00.000Z'),
      validUntil: new Date('2023-12-12T14:25:00.000Z'),
      pendingPlan: null,
      product: { product: 'plus', plan: 'monthly' },
    });
  });

  it('should mark a refunded (REVOKED) subscription cancelled rather than expired', () => {
    expect(onlyChange(map({ ...deactivate, subscription_status: 'REVOKED' })).status).toBe('cancelled');
  });

  it('should still revoke when the plan is no longer in the catalog, keeping the stored product', () => {
    const change = onlyChange(map({ ...deactivate, plan: 'retired-plan' }));
    expect(change).toMatchObject({ status: 'expired', product: null });
  });

  it('should key the entitlement by the one-time purchase id and leave it open-ended without an expiry date', () => {
    const {
      purchasely_subscription_id: _s,
      effective_next_renewal_at: _a,
      effective_next_renewal_at_ms: _b,
      next_renewal_at: _c,
      next_renewal_at_ms: _d,
      ...rest
    } = activate;
    const change = onlyChange(
      map({ ...rest, purchasely_one_time_purchase_id: 'otp_123', purchase_type: 'NON_CONSUMABLE' }),
    );
    expect(change).toMatchObject({ externalId: 'otp_123', validUntil: null, status: 'active' });
  });

  it('should take the expiry from effective_next_renewal_at first, then next_renewal_at, then expires_at', () => {
    const {
      effective_next_renewal_at: _a,
      effective_next_renewal_at_ms: _b,
      next_renewal_at: _c,
      next_renewal_at_ms: _d,
      ...rest
    } = activate;
    const until = (extra: Record<string, unknown>) => onlyChange(map({ ...rest, ...extra })).validUntil;
    expect(until({ effective_next_renewal_at_ms: 2_000, next_renewal_at_ms: 1_000 })).toEqual(new Date(2_000));
    expect(until({ next_renewal_at: '2024-01-12T14:23:11.777Z', expires_at_ms: 5 })).toEqual(
      new Date('2024-01-12T14:23:11.777Z'),
    );
    expect(until({ expires_at: '2024-02-01T00:00:00Z' })).toEqual(new Date('2024-02-01T00:00:00Z'));
  });

  describe('identity rule', () => {
    it('should prefer user_id over anonymous_user_id', () => {
      expect(onlyChange(map({ ...activate, anonymous_user_id: 'anon-9' })).subject).toEqual({
        key: 'user:toto',
        userId: 'toto',
      });
    });

    it('should use anon:purchasely:<id> only when there is no user_id', () => {
      const { user_id: _u, ...anonymous } = activate;
      expect(onlyChange(map({ ...anonymous, anonymous_user_id: 'anon-9' })).subject).toEqual({
        key: 'anon:purchasely:anon-9',
        anonymousId: 'anon-9',
      });
      expect(onlyChange(map({ ...activate, user_id: '', anonymous_user_id: 'anon-9' })).subject.key).toBe(
        'anon:purchasely:anon-9',
      );
    });

    it('should keep a user id with a slash a single, valid subject key', () => {
      expect(onlyChange(map({ ...activate, user_id: 'tenant/42' })).subject.key).toBe('user:tenant%2F42');
    });
  });

  describe('plan changes', () => {
    const upgraded = { ...activate, event_name: 'SUBSCRIPTION_UPGRADED', plan: 'yearly', previous_plan: 'monthly' };

    it('should record the new plan as pending without switching product or plan', () => {
      expect(onlyChange(map(upgraded))).toMatchObject({
        eventType: 'SUBSCRIPTION_UPGRADED',
        product: null,
        status: 'pending_plan_change',
        pendingPlan: { plan: 'annual', providerPlan: 'yearly' },
        details: { previousPlan: 'monthly' },
      });
    });

    it('should treat downgrades and crossgrades the same way', () => {
      for (const name of ['SUBSCRIPTION_DOWNGRADED', 'SUBSCRIPTION_CROSSGRADED']) {
        expect(onlyChange(map({ ...upgraded, event_name: name })).pendingPlan).toEqual({
          plan: 'annual',
          providerPlan: 'yearly',
        });
      }
    });

    it('should switch the plan on the next ACTIVATE and clear the pending plan', () => {
      expect(onlyChange(map({ ...activate, plan: 'yearly' }))).toMatchObject({
        product: { plan: 'annual', providerPlan: 'yearly' },
        pendingPlan: null,
        status: 'active',
      });
    });

    it('should report a plan change to a plan missing from the catalog as invalid', () => {
      expect(map({ ...upgraded, plan: 'weekly' })).toEqual({
        kind: 'invalid',
        reason: 'unknown plan "weekly" of purchasely product "PURCHASELY_PLUS": add it to config/products.yaml',
      });
    });
  });

  describe('transfers', () => {
    it('should move a SUBSCRIPTION_TRANSFERRED to transferred_to_user_id, remembering the previous holder', () => {
      const change = onlyChange(
        map({ ...activate, event_name: 'SUBSCRIPTION_TRANSFERRED', transferred_to_user_id: 'titi' }),
      );
      expect(change).toMatchObject({
        subject: { key: 'user:titi', userId: 'titi' },
        status: 'active',
        externalId: 'subs_D7GnVQbUxvY6YxoeK6nhyPDkmyCVcfe',
        details: { transferredFrom: 'user:toto' },
      });
    });

    it('should move a SUBSCRIPTION_RECEIVED to its own user, and apply the identity rule to both ends', () => {
      const { user_id: _u, ...anonymous } = activate;
      const change = onlyChange(
        map({
          ...anonymous,
          event_name: 'SUBSCRIPTION_RECEIVED',
          anonymous_user_id: 'anon-new',
          transferred_from_user_id: 'toto',
        }),
      );
      expect(change).toMatchObject({
        subject: { key: 'anon:purchasely:anon-new' },
        details: { transferredFrom: 'user:toto' },
      });
    });

    it('should move one-time purchases too', () => {
      const change = onlyChange(
        map({
          ...activate,
          event_name: 'ONE_TIME_PURCHASE_TRANSFERRED',
          purchasely_subscription_id: null,
          purchasely_one_time_purchase_id: 'otp_7',
          transferred_to_anonymous_user_id: 'anon-3',
        }),
      );
      expect(change).toMatchObject({ externalId: 'otp_7', subject: { key: 'anon:purchasely:anon-3' } });
    });

    it('should not grant access through a transfer of a subscription that has ended', () => {
      const change = onlyChange(
        map({
          ...activate,
          event_name: 'SUBSCRIPTION_TRANSFERRED',
          transferred_to_user_id: 'titi',
          subscription_status: 'DEACTIVATED',
        }),
      );
      expect(change.status).toBe('expired');
    });
  });

  describe('sandbox policy', () => {
    it('should ignore SANDBOX events when the policy says ignore', () => {
      expect(map(activate, context('ignore'))).toEqual({
        kind: 'ignored',
        reason: 'SANDBOX event ignored by policy (webhooks.purchasely.sandbox: ignore)',
      });
    });

    it('should apply SANDBOX events when the policy says apply, and PRODUCTION events in both cases', () => {
      expect(map(activate, context('apply')).kind).toBe('changes');
      expect(map({ ...activate, environment: 'PRODUCTION' }, context('ignore')).kind).toBe('changes');
    });
  });

  it('should report a product missing from config/products.yaml as invalid, naming it', () => {
    expect(map({ ...activate, product: 'GOLD' })).toEqual({
      kind: 'invalid',
      reason: 'unknown purchasely product "GOLD": add it to config/products.yaml',
    });
  });

  it('should ignore every lifecycle event, known or not', () => {
    for (const name of [
      'SUBSCRIPTION_STARTED',
      'SUBSCRIPTION_RENEWED',
      'RENEWAL_DISABLED',
      'SUBSCRIPTION_TERMINATED',
      'TRANSACTION_PROCESSED',
      'SOMETHING_NEW',
    ]) {
      expect(map({ ...activate, event_name: name })).toEqual({
        kind: 'ignored',
        reason: `${name} is a lifecycle event: access follows ACTIVATE and DEACTIVATE only`,
      });
    }
  });
});

describe('purchaselyEventKey', () => {
  const parse = (body: Record<string, unknown>) => purchaselyEventSchema.parse(body);
  const { event_id: _id, ...withoutId } = activate;

  it('should be the event_id when there is one', () => {
    expect(purchaselyEventKey(parse(activate), '')).toBe('5e45109f-7fac-45f8-a7e4-464892d5d35d');
  });

  it('should derive a key stable across retries from event name, purchase, transaction and first-send time', () => {
    const key = purchaselyEventKey(parse(withoutId), 'raw-1');
    expect(key).toMatch(/^derived:[0-9a-f]{64}$/);
    expect(purchaselyEventKey(parse({ ...withoutId, cumulated_revenues_in_eur: 1 }), 'raw-2')).toBe(key);
    expect(purchaselyEventKey(parse({ ...withoutId, event_created_at_ms: 1702390766121 }), 'raw-1')).not.toBe(key);
    expect(purchaselyEventKey(parse({ ...withoutId, event_name: 'DEACTIVATE' }), 'raw-1')).not.toBe(key);
  });

  it('should fall back to the raw body when not even the event time is there', () => {
    const lifecycle = parse({ api_version: 3, event_name: 'RENEWAL_DISABLED' });
    expect(purchaselyEventKey(lifecycle, 'a')).toMatch(/^raw:[0-9a-f]{64}$/);
    expect(purchaselyEventKey(lifecycle, 'a')).not.toBe(purchaselyEventKey(lifecycle, 'b'));
  });
});

describe('readPurchaselyEvent: a present but unusable expiry (docs/input-rules.md)', () => {
  const refusal = (body: Record<string, unknown>) => {
    try {
      readPurchaselyEvent(body);
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return error.details;
      throw error;
    }
    throw new Error('expected a 400');
  };

  it('should refuse an ACTIVATE whose expiry is in a unit or form Purchasely never sends', () => {
    for (const [field, value] of [
      ['effective_next_renewal_at_ms', 1_702_390_991], // seconds
      ['effective_next_renewal_at_ms', 1.5],
      ['effective_next_renewal_at_ms', '1702390991777'], // text where a number belongs
      ['next_renewal_at', 1_702_390_991_777], // a number where a date belongs
      ['next_renewal_at', 'next tuesday'],
      ['next_renewal_at', ''],
      ['effective_next_renewal_at_ms', 1_702_390_991_777_000], // microseconds
      ['next_renewal_at', '2023-12-12'],
      ['next_renewal_at', '2023'],
      ['expires_at', 'Dec 12 2023 14:23'],
    ] as const) {
      expect(refusal({ ...activate, [field]: value })).toEqual({
        fields: [{ field, problem: expect.stringMatching(/^must be /) }],
      });
    }
    // Control: the recorded values are read.
    expect(readPurchaselyEvent(activate).effective_next_renewal_at_ms).toBe(1702390991777);
  });

  it('should not hold back a DEACTIVATE or a lifecycle event for an expiry they do not read', () => {
    expect(readPurchaselyEvent({ ...deactivate, next_renewal_at_ms: 5 }).event_name).toBe('DEACTIVATE');
    expect(readPurchaselyEvent({ ...activate, event_name: 'RENEWAL_DISABLED', expires_at: 'x' }).event_name).toBe(
      'RENEWAL_DISABLED',
    );
  });

  it('should put an approver end date in place of every expiry field, or none for open-ended', () => {
    const refused = { ...activate, effective_next_renewal_at_ms: 1_702_390_991 };
    const until = new Date('2024-01-12T00:00:00Z');
    const patched = withPurchaselyWindow(refused, ['effective_next_renewal_at_ms'], {
      validUntil: until,
      validFrom: null,
    });
    expect(onlyChange(map(patched)).validUntil).toEqual(until);
    const open = withPurchaselyWindow(refused, ['effective_next_renewal_at_ms'], { validUntil: null, validFrom: null });
    expect(onlyChange(map(open)).validUntil).toBeNull();
  });
});
