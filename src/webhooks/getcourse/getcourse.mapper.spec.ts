import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../common/errors/app-error.js';
import type { AppConfig } from '../../config/app-config.js';
import { Catalog } from '../../entitlements/catalog.js';
import { SubjectKeys } from '../../entitlements/subject.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import { mapGetCourse, withGetCourseWindow, type GetCourseContext, type MappedGetCourse } from './getcourse.mapper.js';
import { getCourseFields } from './getcourse.schema.js';

/** The filled-in callback of the shared sample set: its query string, decoded into fields as the HTTP layer hands them over. */
function sampleFields(): Record<string, string> {
  const line = readFileSync(new URL('../../../test/fixtures/getcourse/purchase_active.http', import.meta.url), 'utf8');
  const query = line.trim().split(' ')[1]!.split('?')[1]!;
  return Object.fromEntries(new URLSearchParams(query));
}

const catalog = new Catalog({
  products: {
    sources: {
      getcourse: {
        '2741902': { product: 'course' },
        club: { product: 'club' },
      },
    },
  },
} as unknown as AppConfig);
const ctx: GetCourseContext = {
  resolve: (...a) => catalog.resolve(...a),
  receivedAt: new Date('2026-11-20T12:00:00Z'),
  timeZone: 'Europe/Moscow',
  subjects: new SubjectKeys('subject-key-secret-0123456789abcdef'),
};
const map = (fields: Record<string, unknown>, over: Partial<GetCourseContext> = {}) =>
  mapGetCourse(fields, { ...ctx, ...over });

function changesOf(result: MappedGetCourse): EntitlementChange[] {
  if (result.mapped.kind !== 'changes') throw new Error(`expected changes, got ${JSON.stringify(result.mapped)}`);
  return result.mapped.changes;
}

function badRequest(fields: Record<string, unknown>): string {
  try {
    map(fields);
  } catch (error) {
    if (error instanceof AppError && error.status === 400) return error.message;
    throw error;
  }
  throw new Error('expected a 400');
}

describe('mapGetCourse', () => {
  it('should grant an active purchase until finish_at, read in the school time zone', () => {
    const [change, ...rest] = changesOf(map(sampleFields()));
    expect(rest).toEqual([]);
    expect(change).toMatchObject({
      source: 'getcourse',
      eventType: 'purchase_active',
      externalId: '48213377:2741902',
      // `openssl dgst -sha256 -hmac <secret>` of `email:olga@example.ru`, first 32 hex digits.
      subject: { key: 'emailh:9f3b21b7c08f8e4ad146dda129e58647', email: 'olga@example.ru' },
      product: {
        product: 'course',
        plan: null,
        providerProduct: '2741902',
        providerPlan: null,
      },
      status: 'active',
      providerState: 'active',
      validFrom: new Date('2026-11-02T07:00:00Z'),
      validUntil: new Date('2026-12-02T07:00:00Z'),
      sourceTime: new Date('2026-12-02T07:00:00Z'),
      details: {
        getcourse: {
          purchaseId: '48213377',
          userId: '190442871',
          products: ['2741902'],
        },
      },
    });
  });

  it('should read the same callback in another configured zone', () => {
    const [change] = changesOf(map(sampleFields(), { timeZone: 'Asia/Yekaterinburg' }));
    expect(change?.validUntil).toEqual(new Date('2026-12-02T05:00:00Z'));
  });

  it('should keep the entitlement id of a renewal and order it after the report it extends', () => {
    const first = map(sampleFields());
    const renewal = map({
      ...sampleFields(),
      finish_at: '2027-01-02 10:00:00',
    });
    const [a] = changesOf(first);
    const [b] = changesOf(renewal);
    expect(b?.externalId).toBe(a?.externalId);
    expect(renewal.eventKey).not.toBe(first.eventKey);
    expect(b!.sourceTime.getTime()).toBeGreaterThan(a!.sourceTime.getTime());
    expect(b?.validUntil).toEqual(new Date('2027-01-02T07:00:00Z'));
  });

  it('should order a finished purchase after the active report of the same period, and a later renewal after both', () => {
    const [active] = changesOf(map(sampleFields()));
    const finishedFields = {
      ...sampleFields(),
      event: 'purchase_finished',
      status: 'finished',
    };
    // Arrives on time, after the end date.
    const [onTime] = changesOf(map(finishedFields, { receivedAt: new Date('2026-12-02T07:00:05Z') }));
    expect(onTime).toMatchObject({
      status: 'expired',
      providerState: 'finished',
      validUntil: new Date('2026-12-02T07:00:00Z'),
    });
    expect(onTime!.sourceTime.getTime()).toBeGreaterThan(active!.sourceTime.getTime());
    // Cancelled early, end date left in the future: access ends on arrival.
    const [cancelled] = changesOf(
      map({
        ...finishedFields,
        event: 'purchase_cancelled',
        status: 'cancelled',
      }),
    );
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      validUntil: ctx.receivedAt,
    });
    expect(cancelled!.sourceTime.getTime()).toBeGreaterThan(active!.sourceTime.getTime());
    const [renewed] = changesOf(map({ ...sampleFields(), finish_at: '2027-01-02 10:00:00' }));
    expect(renewed!.sourceTime.getTime()).toBeGreaterThan(onTime!.sourceTime.getTime());
    expect(renewed!.sourceTime.getTime()).toBeGreaterThan(cancelled!.sourceTime.getTime());
  });

  it('should grant an open-ended purchase when GetCourse sends finish_at empty', () => {
    const [change] = changesOf(map({ ...sampleFields(), finish_at: '' }));
    expect(change).toMatchObject({
      validUntil: null,
      sourceTime: new Date('2026-11-02T07:00:00Z'),
    });
    expect(changesOf(map({ ...sampleFields(), finish_at: '   ' }))[0]?.validUntil).toBeNull();
    const [finished] = changesOf(map({ ...sampleFields(), event: 'purchase_finished', finish_at: '' }));
    expect(finished!.sourceTime.getTime()).toBeGreaterThan(change!.sourceTime.getTime());
  });

  it('should refuse an unfilled {object.finish_at} on an active purchase, naming the field and the fix (never open-ended)', () => {
    const message = badRequest({ ...sampleFields(), finish_at: '{object.finish_at}' });
    expect(message).toBe(
      'Invalid payload: finish_at: GetCourse sent {object.finish_at} unfilled (the variable does not exist where this process runs): fix the «Вызвать URL» template of the process; a purchase without an end date arrives with finish_at empty',
    );
    // The same with a start: both named in one answer; spaces inside the braces are GetCourse's too.
    const both = badRequest({ ...sampleFields(), finish_at: '{ object.finish_at }', start_at: '{object.start_at}' });
    expect(both).toContain('finish_at: GetCourse sent {object.finish_at} unfilled');
    expect(both).toContain('start_at: GetCourse sent {object.start_at} unfilled');
    // Control: the same callback with the value filled is granted until it.
    expect(changesOf(map(sampleFields()))[0]?.validUntil).toEqual(new Date('2026-12-02T07:00:00Z'));
  });

  it('should refuse an active purchase whose template has no finish_at at all', () => {
    const { finish_at: _, ...withoutEnd } = sampleFields();
    expect(badRequest(withoutEnd)).toContain(
      'finish_at: required for purchase_active: keep finish_at={object.finish_at} in the Call URL',
    );
  });

  it('should end access on arrival for a finished or cancelled purchase whose optional fields are unfilled', () => {
    for (const event of ['purchase_finished', 'purchase_cancelled']) {
      const [change] = changesOf(
        map({ ...sampleFields(), event, finish_at: '{object.finish_at}', status: '{object.status}' }),
      );
      expect(change).toMatchObject({ validUntil: ctx.receivedAt, providerState: event });
      expect(change!.status).not.toBe('active');
    }
    // Whose access to what is never guessed, whatever the event.
    expect(badRequest({ ...sampleFields(), event: 'purchase_finished', email: '{object.user.email}' })).toContain(
      'email: GetCourse sent {object.user.email} unfilled',
    );
  });

  it('should give one entitlement per product of a multi-product offer, under one event key', () => {
    const result = map({
      ...sampleFields(),
      product: undefined,
      products: '2741902, club',
    });
    const changes = changesOf(result);
    expect(changes.map((c) => [c.externalId, c.product?.product])).toEqual([
      ['48213377:2741902', 'course'],
      ['48213377:club', 'club'],
    ]);
    expect(new Set(changes.map((c) => c.eventKey))).toEqual(new Set([result.eventKey]));
    // The same list as repeated keys (a form or query `product=a&product=b`) is the same event.
    expect(map({ ...sampleFields(), product: ['club', '2741902'] }).eventKey).toBe(result.eventKey);
  });

  it('should report an unknown product as invalid and apply none of the offer', () => {
    expect(map({ ...sampleFields(), product: '2741902,nope' }).mapped).toEqual({
      kind: 'invalid',
      reason: 'unknown getcourse product "nope": add it to config/products.yaml',
    });
  });

  it('should derive one event key per distinct callback, ignoring field order and spacing', () => {
    const base = map(sampleFields()).eventKey;
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(
      Object.entries(sampleFields())
        .reverse()
        .map(([k, v]) => [k, ` ${v} `]),
    );
    expect(map(reordered).eventKey).toBe(base);
    expect(map({ ...sampleFields(), event: 'purchase_finished' }).eventKey).not.toBe(base);
    expect(map({ ...sampleFields(), status: 'cancelled' }).eventKey).not.toBe(base);
  });

  it('should record order_paid and unknown tags as ignored', () => {
    expect(map({ event: 'order_paid', order_id: '1' }).mapped).toEqual({
      kind: 'ignored',
      reason: 'audit only: access comes from the purchase process callbacks',
    });
    const unknown = map({ event: 'Lesson_Done', user_id: '5' });
    expect(unknown).toMatchObject({
      eventType: 'lesson_done',
      mapped: { kind: 'ignored' },
    });
    expect(map({ user_id: '5', event: 'lesson_done' }).eventKey).toBe(
      map({ event: 'lesson_done', user_id: '5' }).eventKey,
    );
  });

  it('should refuse unfilled variables in every field it reads, and name each missing or malformed field', () => {
    const message = badRequest({
      ...sampleFields(),
      email: '{object.user.email}',
      purchase_id: '',
      product: '{object.product_id}',
      finish_at: '2026-02-30 10:00:00',
    });
    expect(message).toContain('email: GetCourse sent {object.user.email} unfilled');
    expect(message).toContain('purchase_id: required');
    expect(message).toContain('product: GetCourse sent {object.product_id} unfilled');
    expect(message).not.toContain('product: required');
    expect(message).toContain('finish_at: must be a date like 2026-11-21 14:00:00');
    expect(badRequest({ ...sampleFields(), product: undefined, products: 'club,{object.offers}' })).toBe(
      'Invalid payload: products: GetCourse sent {object.offers} unfilled (the variable does not exist where this process runs): fix the «Вызвать URL» template of the process',
    );
    expect(badRequest({ ...sampleFields(), user_id: '{object.user.id}' })).toContain('user_id: GetCourse sent');
    expect(badRequest({ ...sampleFields(), status: '{object.status}' })).toContain('status: GetCourse sent');
    expect(badRequest({ ...sampleFields(), email: 'olga' })).toContain('email: must be an e-mail address');
    expect(badRequest({ ...sampleFields(), event: '{object.event}' })).toContain('event: required');
    expect(badRequest({ ...sampleFields(), status: { nested: true } })).toContain('status: must be text');
  });

  it('should never echo a value but the unfilled variable itself', () => {
    const message = badRequest({ ...sampleFields(), finish_at: 'olga@example.ru {object.finish_at}' });
    expect(message).toContain('finish_at: GetCourse sent {object.finish_at} unfilled');
    expect(message).not.toContain('olga');
  });

  it('should put an approver window in place of the refused bounding fields only', () => {
    const fields = { ...sampleFields(), finish_at: '{object.finish_at}', start_at: '{object.start_at}' };
    const window = { validUntil: new Date('2027-01-01T00:00:00Z'), validFrom: new Date('2026-11-01T00:00:00Z') };
    const [change] = changesOf(map(withGetCourseWindow(fields, ['finish_at', 'start_at'], window)));
    expect(change).toMatchObject({ validUntil: window.validUntil, validFrom: window.validFrom });
    const open = withGetCourseWindow(fields, ['finish_at'], { validUntil: null, validFrom: null });
    expect(open).toMatchObject({ finish_at: '', start_at: '{object.start_at}' });
    expect(changesOf(map({ ...open, start_at: '' }))[0]?.validUntil).toBeNull();
  });
});

describe('getCourseFields', () => {
  it('should merge query and body with the body winning, reading form and JSON text bodies', () => {
    expect(getCourseFields({ event: 'a', x: '1' }, { event: 'b' })).toEqual({
      event: 'b',
      x: '1',
    });
    expect(getCourseFields({ x: '1' }, '{"event":"purchase_active"}')).toEqual({
      x: '1',
      event: 'purchase_active',
    });
    expect(getCourseFields({}, 'event=purchase_active&email=a%40b.ru')).toEqual({
      event: 'purchase_active',
      email: 'a@b.ru',
    });
    expect(getCourseFields(undefined, ['not', 'fields'])).toEqual({});
  });
});
