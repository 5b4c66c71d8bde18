import { describe, expect, it } from '@jest/globals';
import type { OutboxEntry } from './lifecycle-store.js';
import { inPublishOrder, toMessage } from './outbox-publisher.service.js';

const at = (ms: number) => new Date(Date.UTC(2026, 10, 1) + ms);
const entry = (
  id: string,
  key: string,
  createdAt: Date,
  version: number,
  type = 'entitlement.changed',
): OutboxEntry => ({
  id,
  event: { type, id, schemaVersion: 1, entitlementId: key, entitlementVersion: version, source: 'gcp' },
  orderingKey: key,
  createdAt,
  attempts: 0,
  leaseUntil: null,
  revision: '1.0',
});

describe('inPublishOrder', () => {
  it('should order by time, and one entitlement by version with the change before a notice on the same version', () => {
    const entries = [
      entry('c', 'gcp:a', at(0), 2, 'entitlement.expiring'),
      entry('b', 'gcp:a', at(0), 2),
      entry('a', 'gcp:a', at(0), 1),
      entry('z', 'gcp:b', at(-1), 7),
      entry('y', 'gcp:b', at(5), 8),
    ];
    expect(inPublishOrder(entries).map((e) => e.id)).toEqual(['z', 'a', 'b', 'c', 'y']);
  });
});

describe('toMessage', () => {
  it('should send the event as JSON with its ordering key and string attributes', () => {
    const message = toMessage(entry('purchasely:k1', 'purchasely:sub-1', at(0), 3));
    expect(message.orderingKey).toBe('purchasely:sub-1');
    expect(message.attributes).toEqual({
      type: 'entitlement.changed',
      schemaVersion: '1',
      eventId: 'purchasely:k1',
      entitlementId: 'purchasely:sub-1',
      source: 'gcp',
    });
    expect(JSON.parse(message.data.toString('utf8'))).toMatchObject({ id: 'purchasely:k1', entitlementVersion: 3 });
  });
});
