import { describe, expect, it } from '@jest/globals';
import { decodeChangeEvent, decodeChangeMessage, MAX_EVENT_BYTES } from './events.js';
import { ChangeEventError } from './errors.js';

/** The two examples of docs/change-events.md, as published. */
const changed = {
  schemaVersion: 1,
  type: 'entitlement.changed',
  id: 'purchasely:evt_8f1c',
  entitlementId: 'purchasely:sub_123',
  source: 'purchasely',
  entitlementVersion: 4,
  state: {
    status: 'expired',
    active: false,
    product: 'demo',
    plan: 'yearly',
    validFrom: '2026-10-01T00:00:00.000Z',
    validUntil: '2026-11-03T00:00:00.000Z',
    subjectKey: 'user:42',
  },
  previous: {
    status: 'active',
    active: true,
    product: 'demo',
    plan: 'yearly',
    validFrom: '2026-10-01T00:00:00.000Z',
    validUntil: '2026-11-03T00:00:00.000Z',
    subjectKey: 'user:42',
  },
  sourceEvent: { source: 'purchasely', key: 'expire:purchasely:sub_123:1793664000000', type: 'LIFECYCLE_EXPIRED' },
  occurredAt: '2026-11-04T00:00:05.120Z',
};
const expiring = {
  schemaVersion: 1,
  type: 'entitlement.expiring',
  id: 'expiring:purchasely:sub_123:1793664000000',
  entitlementId: 'purchasely:sub_123',
  source: 'purchasely',
  entitlementVersion: 3,
  state: { ...changed.previous },
  validUntil: '2026-11-03T00:00:00.000Z',
  accessEndsAt: '2026-11-04T00:00:00.000Z',
  occurredAt: '2026-10-31T00:05:00.000Z',
};
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const error = (fn: () => unknown): ChangeEventError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChangeEventError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('decodeChangeEvent', () => {
  it('should decode entitlement.changed with dates as Date', () => {
    const e = decodeChangeEvent(bytes(changed));
    expect(e.type).toBe('entitlement.changed');
    if (e.type !== 'entitlement.changed') return;
    expect(e.state.validUntil).toEqual(new Date('2026-11-03T00:00:00.000Z'));
    expect(e.previous?.active).toBe(true);
    expect(e.sourceEvent.type).toBe('LIFECYCLE_EXPIRED');
    expect(e.occurredAt).toEqual(new Date('2026-11-04T00:00:05.120Z'));
  });

  it('should decode entitlement.expiring, and a first change without previous', () => {
    const e = decodeChangeEvent(JSON.stringify(expiring));
    expect(e).toMatchObject({ type: 'entitlement.expiring', accessEndsAt: new Date('2026-11-04T00:00:00.000Z') });
    const first = decodeChangeEvent({ ...changed, previous: null });
    expect(first.type === 'entitlement.changed' && first.previous).toBeNull();
  });

  it('should drop fields the contract does not define (later additions) and freeze the result', () => {
    const e = decodeChangeEvent({ ...changed, addedLater: 1, state: { ...changed.state, alsoNew: true } });
    expect(e).not.toHaveProperty('addedLater');
    expect(e.state).not.toHaveProperty('alsoNew');
    expect(Object.isFrozen(e) && Object.isFrozen(e.state)).toBe(true);
  });

  it('should refuse an unknown schema version before reading anything else, naming the versions', () => {
    const e = error(() => decodeChangeEvent({ schemaVersion: 2, whatever: true }));
    expect(e.code).toBe('unsupported_schema_version');
    expect(e.message).toMatch(/schema version 2 is not supported: this client reads version 1/);
    expect(error(() => decodeChangeEvent({ ...changed, schemaVersion: '1' })).code).toBe('malformed');
    expect(error(() => decodeChangeEvent({ ...changed, schemaVersion: undefined })).code).toBe('malformed');
  });

  it('should tell an unknown event type within schema version 1 apart (ack and ignore it)', () => {
    const e = error(() => decodeChangeEvent({ ...changed, type: 'entitlement.renamed' }));
    expect(e).toMatchObject({ code: 'unknown_type', details: { type: 'entitlement.renamed' } });
  });

  it.each([
    ['entitlementVersion', { entitlementVersion: 0 }],
    ['entitlementVersion', { entitlementVersion: 1.5 }],
    ['id', { id: '' }],
    ['state.active', { state: { ...changed.state, active: 'yes' } }],
    ['state.validUntil', { state: { ...changed.state, validUntil: '2026-11-03' } }],
    ['state.validFrom', { state: { ...changed.state, validFrom: '2026-11-03T00:00:00+01:00' } }],
    ['state.plan', { state: { ...changed.state, plan: 1 } }],
    ['previous', { previous: undefined }],
    ['sourceEvent.key', { sourceEvent: { source: 'purchasely', type: 'X' } }],
    ['occurredAt', { occurredAt: 1793664000000 }],
  ])('should refuse a malformed %s with the field named', (path, over) => {
    const e = error(() => decodeChangeEvent({ ...changed, ...over }));
    expect(e.code).toBe('malformed');
    expect(e.details.path).toBe(path);
    expect(e.message).toContain(path);
  });

  it('should refuse bytes that are not UTF-8 JSON, and oversized ones, without parsing them', () => {
    expect(error(() => decodeChangeEvent(new Uint8Array([0xff, 0xfe]))).message).toMatch(/UTF-8/);
    expect(error(() => decodeChangeEvent('{"schemaVersion":1')).message).toMatch(/JSON/);
    expect(error(() => decodeChangeEvent('[]')).message).toMatch(/object/);
    const big = JSON.stringify({ ...changed, pad: 'x'.repeat(MAX_EVENT_BYTES) });
    expect(error(() => decodeChangeEvent(big)).message).toMatch(/larger than/);
    // Multi-byte text: the limit is in bytes.
    const wide = JSON.stringify({ ...changed, pad: 'ż'.repeat(MAX_EVENT_BYTES / 2) });
    expect(error(() => decodeChangeEvent(wide)).message).toMatch(/larger than/);
  });
});

describe('decodeChangeMessage', () => {
  const attributes = {
    type: 'entitlement.changed',
    schemaVersion: '1',
    eventId: changed.id,
    entitlementId: changed.entitlementId,
    source: 'purchasely',
  };

  it('should decode a Pub/Sub message whose attributes agree with the body', () => {
    expect(decodeChangeMessage({ data: Buffer.from(JSON.stringify(changed)), attributes }).id).toBe(changed.id);
  });

  it('should refuse a message of another schema version by its attribute, even with an unreadable body', () => {
    const e = error(() => decodeChangeMessage({ data: 'not json', attributes: { ...attributes, schemaVersion: '2' } }));
    expect(e.code).toBe('unsupported_schema_version');
  });

  it('should refuse a body that disagrees with the attributes', () => {
    expect(
      error(() =>
        decodeChangeMessage({ data: bytes(changed), attributes: { ...attributes, type: 'entitlement.expiring' } }),
      ).code,
    ).toBe('malformed');
    expect(
      error(() => decodeChangeMessage({ data: bytes(changed), attributes: { ...attributes, eventId: 'other' } })).code,
    ).toBe('malformed');
  });
});
