import { describe, expect, it } from '@jest/globals';
import { fetchedTimes } from './entitlement-state.js';
import type { Entitlement } from './procurement/procurement.client.js';

const END = '2026-12-01T00:00:00Z';
const window = { validUntil: new Date('2027-01-01T00:00:00Z'), validFrom: null };

describe('fetchedTimes', () => {
  it('should read the Procurement API times of a pending cancellation', () => {
    const e: Entitlement = { state: 'ENTITLEMENT_PENDING_CANCELLATION', subscriptionEndTime: END };
    expect(fetchedTimes(e, 'pending_cancellation')).toEqual({
      ok: true,
      times: { subscriptionEndTime: new Date(END), offerEndTime: null, newOfferStartTime: null },
    });
  });

  it('should refuse an unparseable end of a pending cancellation, naming it, never reading it as no end', () => {
    for (const value of ['soon', '1764666000', '2026-12-01', '2026-12-01T00:00:00']) {
      const read = fetchedTimes({ subscriptionEndTime: value, offerEndTime: END }, 'pending_cancellation');
      expect(read).toMatchObject({ ok: false, fields: ['subscriptionEndTime'] });
      expect(!read.ok && read.reason).toContain('subscriptionEndTime: not an RFC 3339 timestamp');
    }
  });

  it('should refuse an unparseable future start of an accepted offer', () => {
    expect(fetchedTimes({ newOfferStartTime: 'tomorrow' }, 'pending_approval')).toMatchObject({
      ok: false,
      fields: ['newOfferStartTime'],
    });
  });

  it('should not hold back a state that ends access, or does not read the time, for an unusable one', () => {
    expect(fetchedTimes({ subscriptionEndTime: 'soon' }, 'cancelled')).toMatchObject({
      ok: true,
      times: { subscriptionEndTime: null },
    });
    expect(fetchedTimes({ offerEndTime: 'soon', newOfferStartTime: 'x' }, 'active')).toMatchObject({ ok: true });
  });

  it("should put an approver's window in place of both ends, and of the start only when one is given", () => {
    const refused: Entitlement = { subscriptionEndTime: 'soon', offerEndTime: END };
    expect(fetchedTimes(refused, 'pending_cancellation', window)).toEqual({
      ok: true,
      times: { subscriptionEndTime: window.validUntil, offerEndTime: window.validUntil, newOfferStartTime: null },
    });
    const open = fetchedTimes(refused, 'pending_cancellation', { validUntil: null, validFrom: null });
    expect(open).toMatchObject({ ok: true, times: { subscriptionEndTime: null, offerEndTime: null } });
    expect(fetchedTimes({ newOfferStartTime: 'x' }, 'pending_approval', window)).toMatchObject({ ok: false });
    const start = new Date('2026-12-15T00:00:00Z');
    expect(fetchedTimes({ newOfferStartTime: 'x' }, 'pending_approval', { ...window, validFrom: start })).toMatchObject(
      { ok: true, times: { newOfferStartTime: start } },
    );
  });
});
