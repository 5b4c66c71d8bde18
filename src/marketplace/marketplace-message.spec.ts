import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMarketplaceMessage } from './marketplace-message.js';

const fixtures = join(process.cwd(), 'test/fixtures/gcp-marketplace');
const data = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseMarketplaceMessage', () => {
  it('should parse every recorded message fixture', () => {
    for (const file of readdirSync(fixtures).filter((f) => f.startsWith('message-'))) {
      const result = parseMarketplaceMessage(readFileSync(join(fixtures, file)), 'm1');
      expect({ file, ok: result.ok }).toEqual({ file, ok: true });
    }
  });

  it('should read an entitlement pointer and keep the event-dependent fields', () => {
    const result = parseMarketplaceMessage(
      readFileSync(join(fixtures, 'message-entitlement-creation-requested.json')),
      'm1',
    );
    expect(result).toEqual({
      ok: true,
      message: {
        kind: 'entitlement',
        eventId: 'ENTITLEMENT_CREATION_REQUESTED-0b6f1d2e-0001',
        eventType: 'ENTITLEMENT_CREATION_REQUESTED',
        providerId: 'acme-saas-public',
        entitlementId: '8c9a7d4e-2b1f-4f0e-9a51-3d1c5b7e9f20',
        updateTime: new Date('2026-11-02T10:15:30.123Z'),
        extras: { newOfferDuration: 'P1Y', newPendingOfferDuration: 'P1Y' },
      },
    });
  });

  it('should default an account message without eventType to ACCOUNT_ACTIVE', () => {
    const result = parseMarketplaceMessage(
      data({ eventId: 'e1', providerId: 'p', account: { id: 'A-1', updateTime: 'x' } }),
      'm1',
    );
    expect(result).toMatchObject({
      ok: true,
      message: { kind: 'account', eventType: 'ACCOUNT_ACTIVE', accountId: 'A-1', updateTime: null },
    });
  });

  it('should use the Pub/Sub message id as the dedup key when eventId is missing', () => {
    const result = parseMarketplaceMessage(
      data({ eventType: 'ENTITLEMENT_ACTIVE', providerId: 'p', entitlement: { id: 'E' } }),
      'msg-9',
    );
    expect(result).toMatchObject({ ok: true, message: { eventId: 'pubsub:msg-9' } });
  });

  it("should accept a message without providerId, as Google's private-offer examples are", () => {
    const result = parseMarketplaceMessage(
      data({ eventId: 'e1', eventType: 'ENTITLEMENT_OFFER_ACCEPTED', entitlement: { id: 'E-1', orderId: 'o-1' } }),
      'm1',
    );
    expect(result).toMatchObject({
      ok: true,
      message: { kind: 'entitlement', providerId: null, entitlementId: 'E-1' },
    });
  });

  it('should refuse an id that can never name a resource, so it is recorded once instead of retried', () => {
    for (const id of ['..', '.', 'a/b', 'x:approve', 'a?b', '%2e%2e', 'a b']) {
      for (const kind of ['entitlement', 'account']) {
        const result = parseMarketplaceMessage(data({ eventId: 'e', providerId: 'p', [kind]: { id } }), 'm');
        expect({ id, kind, ok: result.ok }).toEqual({ id, kind, ok: false });
        if (!result.ok) expect(result.reason).toContain(`${kind}.id is not a Procurement resource id`);
      }
    }
  });

  it('should refuse malformed data with a reason, never throw', () => {
    const cases: [Buffer, string][] = [
      [data(''), 'empty'],
      [data('{oops'), 'not JSON'],
      [data('[]'), 'bad envelope'],
      [data({ eventId: 'e', eventType: 'X' }), 'neither'],
      [data({ eventId: 'e', providerId: 'p' }), 'neither'],
      [data({ eventId: 'e', providerId: 'p', entitlement: { id: '' } }), 'entitlement.id'],
      [data({ eventId: 'e', providerId: 7, entitlement: { id: 'E' } }), 'providerId'],
      [Buffer.alloc(70_000, 0x20), 'bytes'],
    ];
    for (const [input, reason] of cases) {
      const result = parseMarketplaceMessage(input, 'm');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toContain(reason);
    }
  });
});
