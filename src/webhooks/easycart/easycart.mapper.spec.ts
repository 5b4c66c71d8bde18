import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../common/errors/app-error.js';
import type { AppConfig } from '../../config/app-config.js';
import { Catalog } from '../../entitlements/catalog.js';
import { SubjectKeys } from '../../entitlements/subject.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import { mapEasyCart, withEasyCartWindow, type MappedEasyCart } from './easycart.mapper.js';
import { parseEasyCartDate } from './easycart.schema.js';

type Payload = Record<string, unknown>;
const fixture = (name: string): Payload =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/easycart/${name}.json`, import.meta.url), 'utf8')) as Payload;

const PRODUCT = 'Ahoy! Społeczność UI & UX';
const catalog = new Catalog({
  products: {
    sources: {
      easycart: {
        [PRODUCT]: {
          product: 'community',
          plans: { 'ux-49-monthly': 'monthly', 'ux-99-yearly': 'yearly' },
        },
        'demo-course': { product: 'demo' },
      },
    },
  },
} as unknown as AppConfig);
const receivedAt = new Date('2026-11-20T12:00:00Z');
const subjects = new SubjectKeys('subject-key-secret-0123456789abcdef');
/** `openssl dgst -sha256 -hmac <secret>` of `email:jan@kowalski.pl`, first 32 hex digits. */
const JAN = '0980a1cf2df40280b01bc0cf1c7d8705';
const map = (body: unknown) => mapEasyCart(body, { resolve: (...a) => catalog.resolve(...a), receivedAt, subjects });

function onlyChange(result: MappedEasyCart): EntitlementChange {
  if (result.mapped.kind !== 'changes') throw new Error(`expected changes, got ${result.mapped.kind}`);
  expect(result.mapped.changes).toHaveLength(1);
  return result.mapped.changes[0]!;
}

function badRequest(body: unknown): AppError {
  try {
    map(body);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a 400');
}

const ORDER = '00000000-0000-0000-0000-000000000027';

describe('mapEasyCart', () => {
  it('should grant product_assigned to the assignee, open-ended, from the event time', () => {
    const change = onlyChange(map(fixture('product_assigned')));
    expect(change).toMatchObject({
      source: 'easycart',
      eventType: 'product_assigned',
      status: 'active',
      subject: { key: `emailh:${JAN}`, email: 'jan@kowalski.pl' },
      product: {
        product: 'community',
        plan: 'monthly',
        providerProduct: PRODUCT,
        providerPlan: 'ux-49-monthly',
      },
      sourceTime: new Date(1762080000 * 1000),
      validFrom: new Date(1762080000 * 1000),
      validUntil: null,
      periodEnd: null,
      actor: { type: 'provider', id: 'easycart' },
    });
    // The product name has spaces and `!`: its part of the id is a short hash, the rest stays readable.
    expect(change.externalId).toMatch(new RegExp(`^${ORDER}:h-[0-9a-f]{16}:${JAN}$`));
    expect(change.legacyExternalId).toMatch(new RegExp(`^${ORDER}:h-[0-9a-f]{16}:jan@kowalski\\.pl$`));
  });

  it('should grant a gift to the assignee and keep the buyer only as a detail', () => {
    const gift = {
      ...fixture('product_assigned'),
      customer_email: 'Buyer@Example.com',
      assignee: { email: 'Friend@Example.com', name: 'Friend' },
    };
    const change = onlyChange(map(gift));
    expect(change.subject).toEqual({
      key: subjects.emailKey('friend@example.com'),
      email: 'friend@example.com',
    });
    expect(change.externalId.endsWith(`:${subjects.emailDigest('FRIEND@example.com ')}`)).toBe(true);
    expect(change.externalId).not.toContain('@');
    expect(change.details).toMatchObject({
      easycart: {
        buyerEmail: 'buyer@example.com',
        buyerSubjectKey: subjects.emailKey('buyer@example.com'),
        orderUuid: ORDER,
      },
    });
  });

  it('should refuse product_assigned without an assignee rather than grant the buyer', () => {
    const { assignee: _, ...noAssignee } = fixture('product_assigned');
    const error = badRequest(noAssignee);
    expect(error.status).toBe(400);
    expect(error.message).toContain('assignee.email: required');
  });

  it('should change the plan of the same entitlement on subscription_plan_changed', () => {
    const grant = onlyChange(map(fixture('product_assigned')));
    const change = onlyChange(map(fixture('subscription_plan_changed')));
    expect(change.externalId).toBe(grant.externalId);
    expect(change).toMatchObject({
      status: 'active',
      product: { plan: 'yearly', providerPlan: 'ux-99-yearly' },
    });
    expect(change.validUntil).toBeUndefined();
  });

  it('should record the end date of product_access_expiring without ending access', () => {
    const change = onlyChange(map(fixture('product_access_expiring')));
    expect(change).toMatchObject({
      status: 'active',
      validUntil: new Date('2026-12-02T09:00:00Z'),
    });
    expect(change.validFrom).toBeUndefined();
  });

  it('should expire on product_access_expired and on subscription_expired', () => {
    // The fixture's timestamp (2025-12-02) is a year before its expiration_date (2026-12-02):
    // access ended when EasyCart said it did.
    expect(onlyChange(map(fixture('product_access_expired')))).toMatchObject({
      status: 'expired',
      validUntil: new Date(1764666000 * 1000),
    });
    const onTime = {
      ...fixture('product_access_expired'),
      expiration_date: 1764600000,
    };
    expect(onlyChange(map(onTime)).validUntil).toEqual(new Date(1764600000 * 1000));
    const expired: Payload = { ...fixture('product_access_expired'), event: 'subscription_expired' };
    const { expiration_date: _, ...subscriptionExpired } = expired;
    expect(onlyChange(map(subscriptionExpired))).toMatchObject({
      status: 'expired',
      validUntil: new Date(1764666000 * 1000),
    });
  });

  it('should keep access until the period end on subscription_canceled, in both spellings', () => {
    for (const event of ['subscription_canceled', 'subscription_cancelled']) {
      const change = onlyChange(map({ ...fixture('product_assigned'), event, timestamp: 1763500000 }));
      expect(change).toMatchObject({
        status: 'pending_cancellation',
        periodEnd: new Date('2026-12-02T09:00:00Z'),
        validUntil: new Date('2026-12-02T09:00:00Z'),
      });
    }
  });

  it('should lift a pending cancellation on subscription_renewed and subscription_resumed', () => {
    for (const event of ['subscription_renewed', 'subscription_resumed']) {
      const change = onlyChange(map({ ...fixture('product_assigned'), event, timestamp: 1764000000 }));
      expect(change).toMatchObject({
        status: 'active',
        periodEnd: null,
        validUntil: null,
      });
    }
  });

  it('should fall back to the buyer e-mail for subscription events without an assignee', () => {
    const renewed: Payload = { ...fixture('product_assigned'), event: 'subscription_renewed' };
    const { assignee: _, ...payload } = renewed;
    expect(onlyChange(map(payload)).subject.key).toBe(`emailh:${JAN}`);
  });

  it('should ignore order records, notices and unknown events with a reason', () => {
    for (const event of [
      'single_product_bought',
      'subscription_created',
      'subscription_renewal_failed',
      'brand_new_event',
    ]) {
      const result = map({ ...fixture('product_assigned'), event });
      expect(result.eventType).toBe(event);
      expect(result.mapped.kind).toBe('ignored');
    }
    expect(map({ event: 'brand_new_event' }).mapped).toEqual({
      kind: 'ignored',
      reason: 'unknown EasyCart event "brand_new_event"',
    });
  });

  it('should not treat inherited object keys as events', () => {
    expect(map({ event: 'constructor' }).mapped.kind).toBe('ignored');
  });

  it('should report an unknown product as invalid, naming the config to add', () => {
    const result = map({
      ...fixture('product_assigned'),
      product_name: 'Something else',
    });
    expect(result.mapped).toEqual({
      kind: 'invalid',
      reason: 'unknown easycart product "Something else": add it to config/products.yaml',
    });
  });

  it('should prefer product_id over product_name and keep a safe code readable in the entitlement id', () => {
    const change = onlyChange(map({ ...fixture('product_assigned'), product_id: 'demo-course' }));
    expect(change.product).toMatchObject({
      product: 'demo',
      providerProduct: 'demo-course',
    });
    expect(change.externalId).toBe(`${ORDER}:demo-course:${JAN}`);
  });

  it('should derive the same event key for a redelivery and a new one for a new event', () => {
    const body = fixture('product_assigned');
    const again = JSON.parse(JSON.stringify(body, null, 4)) as Payload;
    expect(map(again).eventKey).toBe(map(body).eventKey);
    expect(map(body).eventKey).toMatch(/^[0-9a-f]{64}$/);
    expect(map({ ...body, timestamp: 1762080001 }).eventKey).not.toBe(map(body).eventKey);
    expect(map({ ...body, assignee: { email: 'other@example.com' } }).eventKey).not.toBe(map(body).eventKey);
    expect(map(fixture('subscription_plan_changed')).eventKey).not.toBe(map(body).eventKey);
  });

  it('should use the arrival time and a body hash when an old payload has no timestamp', () => {
    const { timestamp: _, ...old } = fixture('product_assigned');
    const result = map(old);
    expect(onlyChange(result).sourceTime).toEqual(receivedAt);
    expect(map({ ...old }).eventKey).toBe(result.eventKey);
    expect(map({ ...old, quantity: 2 }).eventKey).not.toBe(result.eventKey);
  });

  it('should name every missing or malformed field in one 400', () => {
    const error = badRequest({
      event: 'product_access_expiring',
      timestamp: '2026-12-01 10:00',
      assignee: { email: 'not-an-email' },
    });
    expect(error.message).toContain('timestamp: must be ISO-8601 with a time zone or unix seconds');
    const missing = badRequest({
      event: 'product_access_expiring',
      assignee: { email: 'a@b.pl' },
    });
    expect(missing.message).toContain('order_uuid: required (or order_id)');
    expect(missing.message).toContain('product_name: required (or product_id)');
    expect(missing.message).toContain('expiration_date: required');
    expect(
      badRequest({
        event: 'subscription_plan_changed',
        order_id: 1,
        product_name: PRODUCT,
        assignee: { email: 'a@b.pl' },
      }).message,
    ).toContain('subscription_plan_name: required');
    expect(badRequest({ nothing: true }).message).toContain('event: required');
  });
});

describe('mapEasyCart: a present but unusable end date (docs/input-rules.md)', () => {
  const grant = { ...fixture('product_assigned'), expiration_date: '2026-12-02T10:00:00+01:00' };

  it('should refuse a grant whose expiration_date cannot be read, never granting it open-ended', () => {
    for (const value of ['', 'never', '2026-12-02 10:00', 1_764_666_000_000_000, 12, false, {}]) {
      const error = badRequest({ ...grant, expiration_date: value });
      expect(error.details).toEqual({
        fields: [{ field: 'expiration_date', problem: expect.stringContaining('must be ISO-8601 with a time zone') }],
      });
    }
    // Control: the same payload with the value filled is granted until it; null is EasyCart's "no date".
    expect(onlyChange(map(grant)).validUntil).toEqual(new Date('2026-12-02T09:00:00Z'));
    expect(onlyChange(map({ ...grant, expiration_date: null })).validUntil).toBeNull();
  });

  it('should refuse a cancellation whose period end cannot be read', () => {
    const cancel = { ...fixture('product_assigned'), event: 'subscription_canceled' };
    expect(badRequest({ ...cancel, subscription_current_period_end: '{{period_end}}' }).message).toContain(
      'subscription_current_period_end: must be ISO-8601',
    );
    expect(onlyChange(map(cancel)).validUntil).toEqual(new Date('2026-12-02T09:00:00Z'));
  });

  it('should still end access when an expiry carries an unreadable date: the narrowest reading', () => {
    const expired: Payload = { ...fixture('product_access_expired'), expiration_date: 'soon' };
    // Ended at the event time (the expiry notice's date is unreadable), not at some later date.
    expect(onlyChange(map(expired))).toMatchObject({ status: 'expired', validUntil: new Date(1764666000 * 1000) });
    const { timestamp: _, ...untimed } = expired;
    expect(onlyChange(map(untimed))).toMatchObject({ status: 'expired', validUntil: receivedAt });
  });

  it('should put an approver end date in place of every end field', () => {
    const refused = { ...grant, expiration_date: 'never' };
    const until = new Date('2027-03-01T00:00:00Z');
    const patched = withEasyCartWindow(refused, ['expiration_date'], { validUntil: until, validFrom: null });
    expect(onlyChange(map(patched)).validUntil).toEqual(until);
    const open = withEasyCartWindow(refused, ['expiration_date'], { validUntil: null, validFrom: null });
    expect(onlyChange(map(open)).validUntil).toBeNull();
    expect(withEasyCartWindow(refused, ['timestamp'], { validUntil: until, validFrom: null })).toBe(refused);
  });
});

describe('parseEasyCartDate', () => {
  it('should read unix seconds, milliseconds and ISO-8601 with a zone as the same instant', () => {
    const expected = new Date('2026-12-02T09:00:00Z');
    for (const value of [
      1796202000,
      '1796202000',
      1796202000000,
      '2026-12-02T10:00:00+01:00',
      '2026-12-02T09:00:00Z',
      '2026-12-02 10:00:00+0100',
    ]) {
      expect(parseEasyCartDate(value)).toEqual(expected);
    }
  });

  it('should refuse dates without a zone, off the calendar, or not dates at all', () => {
    for (const value of [
      '2026-12-02T10:00:00',
      '2026-02-30T10:00:00Z',
      '2026-12-02T24:00:00Z',
      'tomorrow',
      '',
      0,
      -5,
      8640000000000001, // past the largest Date: found by the fuzz test
      '+275760-09-13T00:00:01Z',
      1796202000000000, // microseconds: a unit EasyCart never sends (docs/input-rules.md)
      '1796202000000000',
      17962020000, // 11 digits: neither seconds nor milliseconds of this era
      86400,
    ]) {
      expect(parseEasyCartDate(value)).toBeNull();
    }
  });
});
