import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { EntitlementStore } from '../../src/entitlements/entitlement-store.js';
import { eventDocumentId } from '../../src/infrastructure/firestore/collections.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { emailKey } from '../support/app.js';
import {
  activate,
  adminCall,
  APPROVER_NAME,
  easyCartDelivery,
  easyCartRefusedKey,
  EASYCART_KEY,
  getCourseCall,
  getCourseRefusedKey,
  GETCOURSE_TOKEN,
  productAssigned,
  purchaseActive,
  purchaselyDelivery,
  PURCHASELY_SECRET,
  startWebhookStack,
  type WebhookStack,
} from '../support/webhook-senders.js';

/**
 * Issue 26, on every webhook source's real wire format: a value that is present but unusable in a
 * field that bounds access is refused (400 naming the field and the fix, recorded `invalid` with
 * the field named, listed by the admin API, nothing written to entitlements/ or access/, no e-mail
 * or secret in the answer or the logs); the same request with the value filled is applied; an
 * approver resolves the refused event with an explicit window, once.
 */
const NOW = new Date('2026-11-20T12:00:00Z');

describe('Unusable values that bound access, over HTTP (docs/input-rules.md)', () => {
  let stack: WebhookStack;
  let db: Firestore;
  let store: EntitlementStore;

  beforeAll(async () => {
    stack = await startWebhookStack(NOW);
    db = stack.app.app.get(Firestore);
    store = stack.app.app.get(EntitlementStore);
  });
  afterAll(() => stack.close());

  const newPurchase = () => String(randomInt(10_000_000, 99_999_999));
  const record = async (source: string, key: string) =>
    fromFirestore<Record<string, any>>((await db.collection('events').doc(eventDocumentId(source, key)).get()).data()); // eslint-disable-line @typescript-eslint/no-explicit-any

  async function entitlementsWhere(field: string, value: string) {
    return (await db.collection('entitlements').where(field, '==', value).get()).docs.map((d) => d.data());
  }

  /** Nothing under entitlements/ or access/ for this subject or purchase. */
  async function nothingWritten(subjectKey: string, purchaseField: string, purchaseValue: string) {
    expect(await entitlementsWhere(purchaseField, purchaseValue)).toEqual([]);
    expect((await db.collection('access').doc(subjectKey).get()).exists).toBe(false);
  }

  /** The refusal's log lines: the field named for the metric; no e-mail, token or secret anywhere. */
  function expectCleanLogs(eventKey: string, fields: string[], secrets: string[]) {
    const lines = stack.logLines();
    const recorded = lines.find((l) => l.message === 'inbound event recorded' && l.eventKey === eventKey);
    expect(recorded).toMatchObject({ outcome: 'invalid', fields });
    const text = JSON.stringify(lines);
    for (const secret of [...secrets, GETCOURSE_TOKEN, EASYCART_KEY, PURCHASELY_SECRET]) {
      expect(text).not.toContain(secret);
    }
  }

  async function listedInvalid(source: string, id: string) {
    const listed = await adminCall(stack.app, 'GET', `/admin/v1/events?outcome=invalid&source=${source}&pageSize=100`);
    expect(listed.status).toBe(200);
    return listed.body.items.find((e: { id: string }) => e.id === id);
  }

  describe('GetCourse', () => {
    it('should refuse a literal {object.finish_at} in the query, unencoded, and apply the same callback filled', async () => {
      const purchaseId = newPurchase();
      const email = `student-${purchaseId}@example.ru`;
      const call = purchaseActive(purchaseId, email, { finish_at: '{object.finish_at}' });
      const refused = await getCourseCall(stack.app, call);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        code: 'validation_failed',
        message:
          'Invalid payload: finish_at: GetCourse sent {object.finish_at} unfilled (the variable does not exist where this process runs): fix the «Вызвать URL» template of the process; a purchase without an end date arrives with finish_at empty',
        details: { fields: [{ field: 'finish_at' }] },
      });
      expect(JSON.stringify(refused.body)).not.toContain(email);
      await nothingWritten(emailKey(email), 'details.getcourse.purchaseId', purchaseId);

      const key = getCourseRefusedKey(call);
      expect(await record('getcourse', key)).toMatchObject({ outcome: 'invalid', refusedFields: ['finish_at'] });
      expect(await listedInvalid('getcourse', eventDocumentId('getcourse', key))).toMatchObject({
        refusedFields: ['finish_at'],
        resolution: null,
        reason: expect.stringContaining('finish_at: GetCourse sent {object.finish_at} unfilled'),
      });
      expectCleanLogs(key, ['finish_at'], [email]);

      // Control: GetCourse filled the variable.
      const filled = await getCourseCall(stack.app, purchaseActive(purchaseId, email));
      expect(filled).toMatchObject({ status: 200, body: { outcome: 'applied' } });
      expect(await store.getEntitlement(`getcourse:${purchaseId}:demo-course`)).toMatchObject({
        active: true,
        validUntil: new Date('2026-12-02T07:00:00Z'),
      });
    });

    it('should grant an empty finish_at open-ended, as GetCourse sends a purchase without an end', async () => {
      const purchaseId = newPurchase();
      const res = await getCourseCall(
        stack.app,
        purchaseActive(purchaseId, `s-${purchaseId}@example.ru`, { finish_at: '' }),
      );
      expect(res.body.outcome).toBe('applied');
      expect((await store.getEntitlement(`getcourse:${purchaseId}:demo-course`))?.validUntil).toBeNull();
    });

    it('should let an approver apply the refused callback with an explicit end, once, audited, and acknowledge a resend', async () => {
      const purchaseId = newPurchase();
      const email = `student-${purchaseId}@example.ru`;
      const call = purchaseActive(purchaseId, email, { finish_at: '{object.finish_at}' });
      expect((await getCourseCall(stack.app, call)).status).toBe(400);
      const eventId = eventDocumentId('getcourse', getCourseRefusedKey(call));

      const resolved = await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
        validUntil: '2027-01-31T21:00:00Z',
        reason: 'school confirmed: paid until February',
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({
        eventId,
        before: { outcome: 'invalid', refusedFields: ['finish_at'], resolution: null },
        window: { validUntil: '2027-01-31T21:00:00.000Z', validFrom: null, overridden: ['finish_at'] },
        result: { outcome: 'applied' },
        after: {
          outcome: 'applied',
          resolution: {
            actor: { kind: 'api-key', id: APPROVER_NAME },
            reason: 'school confirmed: paid until February',
          },
        },
        auditId: expect.any(String),
      });
      const id = `getcourse:${purchaseId}:demo-course`;
      expect(await store.getEntitlement(id)).toMatchObject({
        active: true,
        validUntil: new Date('2027-01-31T21:00:00Z'),
        validFrom: new Date('2026-11-02T07:00:00Z'),
      });
      expect((await store.getAccess(emailKey(email)))?.entitlements[id]?.validUntil).toEqual(
        new Date('2027-01-31T21:00:00Z'),
      );
      const history = await adminCall(stack.app, 'GET', `/admin/v1/entitlements/${id}`);
      expect(history.body.history[0]).toMatchObject({ actor: { type: 'admin', id: APPROVER_NAME } });
      const audit = await adminCall(stack.app, 'GET', `/admin/v1/audit?target=${eventId}`);
      expect(audit.body.items).toEqual([
        expect.objectContaining({
          action: 'event.resolve',
          actor: { kind: 'api-key', id: APPROVER_NAME },
          reason: 'school confirmed: paid until February',
          outcome: 'done',
        }),
      ]);
      expect(
        (
          await adminCall(stack.app, 'GET', `/admin/v1/events?outcome=invalid&source=getcourse&pageSize=100`)
        ).body.items.map((e: { id: string }) => e.id),
      ).not.toContain(eventId);

      // A second resolution is refused, and audited as refused; the entitlement stays as resolved.
      const again = await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
        validUntil: 'open-ended',
        reason: 'twice',
      });
      expect(again.status).toBe(409);
      expect(again.body.message).toContain(`already resolved by api-key ${APPROVER_NAME}`);
      expect((await store.getEntitlement(id))?.version).toBe(1);

      // The school's process runs again before the template is fixed: acknowledged, nothing changes.
      const resent = await getCourseCall(stack.app, call);
      expect(resent).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect((await store.getEntitlement(id))?.version).toBe(1);
    });

    it('should resolve a refused offer of several products as explicitly open-ended, every entitlement once', async () => {
      const purchaseId = newPurchase();
      const email = `student-${purchaseId}@example.ru`;
      const call = purchaseActive(purchaseId, email, { finish_at: '{object.finish_at}' }).filter(
        ([k]) => k !== 'product',
      );
      call.push(['products', 'demo-course,club']);
      expect((await getCourseCall(stack.app, call)).status).toBe(400);
      const key = getCourseRefusedKey(call);
      const eventId = eventDocumentId('getcourse', key);
      const resolved = await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
        validUntil: 'open-ended',
        reason: 'lifetime offer',
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body.result.results).toEqual([
        expect.objectContaining({ outcome: 'applied' }),
        expect.objectContaining({ outcome: 'applied' }),
      ]);
      const entitlements = await entitlementsWhere('details.getcourse.purchaseId', purchaseId);
      expect(entitlements.map((e) => [e.product, e.active, e.validUntil])).toEqual([
        ['club', true, null],
        ['demo', true, null],
      ]);
      expect(await record('getcourse', key)).toMatchObject({ outcome: 'applied', resolution: { validUntil: null } });
      expect(await record('getcourse', `${key}#${purchaseId}:club`)).toMatchObject({ outcome: 'applied' });
      expect(
        (
          await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
            validUntil: 'open-ended',
            reason: 'x',
          })
        ).status,
      ).toBe(409);
      expect(await accessInvariantViolations(db)).toEqual([]);
    });

    it('should refuse resolutions that cannot stand in for what was refused', async () => {
      const purchaseId = newPurchase();
      const email = `student-${purchaseId}@example.ru`;
      // Refused for whose access it is: no window can supply that.
      const noEmail = purchaseActive(purchaseId, email, { email: '{object.user.email}' });
      expect((await getCourseCall(stack.app, noEmail)).status).toBe(400);
      const noEmailId = eventDocumentId('getcourse', getCourseRefusedKey(noEmail));
      const wrongKind = await adminCall(stack.app, 'POST', `/admin/v1/events/${noEmailId}/resolve`, {
        validUntil: '2027-01-01T00:00:00Z',
        reason: 'try',
      });
      expect(wrongKind.status).toBe(409);
      expect(wrongKind.body.message).toContain('refused for email');

      // A refused start needs an explicit start too.
      const noStart = purchaseActive(purchaseId, email, { start_at: '{object.start_at}' });
      expect((await getCourseCall(stack.app, noStart)).status).toBe(400);
      const noStartId = eventDocumentId('getcourse', getCourseRefusedKey(noStart));
      const body = { validUntil: '2026-12-02T07:00:00Z', reason: 'from the school' };
      const withoutStart = await adminCall(stack.app, 'POST', `/admin/v1/events/${noStartId}/resolve`, body);
      expect(withoutStart.status).toBe(409);
      expect(withoutStart.body.message).toContain('give validFrom');

      // Malformed requests: named like every 400.
      for (const bad of [
        { reason: 'no end' },
        { validUntil: '2027-01-01', reason: 'no time or zone' },
        { validUntil: '2027-01-01T00:00:00Z' },
        { validUntil: '2027-01-01T00:00:00Z', validFrom: '2027-02-01T00:00:00Z', reason: 'start after end' },
      ]) {
        const res = await adminCall(stack.app, 'POST', `/admin/v1/events/${noStartId}/resolve`, bad);
        expect(res.status).toBe(400);
      }
      const withStart = await adminCall(stack.app, 'POST', `/admin/v1/events/${noStartId}/resolve`, {
        ...body,
        validFrom: '2026-11-02T07:00:00Z',
      });
      expect(withStart.status).toBe(200);
      expect(await store.getEntitlement(`getcourse:${purchaseId}:demo-course`)).toMatchObject({
        validFrom: new Date('2026-11-02T07:00:00Z'),
        validUntil: new Date('2026-12-02T07:00:00Z'),
      });
      expect((await adminCall(stack.app, 'POST', `/admin/v1/events/gcp:nope/resolve`, body)).status).toBe(404);
    });

    it('should still end access on a finished callback whose finish_at is unfilled', async () => {
      const purchaseId = newPurchase();
      const email = `student-${purchaseId}@example.ru`;
      await getCourseCall(stack.app, purchaseActive(purchaseId, email, { finish_at: '' }));
      const finished = purchaseActive(purchaseId, email, {
        event: 'purchase_finished',
        finish_at: '{object.finish_at}',
        status: 'finished',
      });
      expect((await getCourseCall(stack.app, finished)).body.outcome).toBe('applied');
      expect(await store.getEntitlement(`getcourse:${purchaseId}:demo-course`)).toMatchObject({
        active: false,
        status: 'expired',
        validUntil: NOW,
      });
    });
  });

  describe('EasyCart', () => {
    it('should refuse an expiration_date in microseconds, apply it in seconds, and resolve the refusal as open-ended', async () => {
      const email = `buyer-${randomUUID()}@example.com`;
      const payload = productAssigned(email, { expiration_date: 1_796_202_000_000_000 });
      const refused = await easyCartDelivery(stack.app, payload);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        code: 'validation_failed',
        details: { fields: [{ field: 'expiration_date', problem: expect.stringContaining('unix seconds') }] },
      });
      expect(JSON.stringify(refused.body)).not.toContain(email);
      await nothingWritten(emailKey(email), 'details.easycart.orderUuid', payload.order_uuid as string);
      const key = easyCartRefusedKey(payload);
      expect(await record('easycart', key)).toMatchObject({ outcome: 'invalid', refusedFields: ['expiration_date'] });
      expectCleanLogs(key, ['expiration_date'], [email]);

      const control = { ...payload, order_uuid: randomUUID(), expiration_date: 1_796_202_000 };
      expect((await easyCartDelivery(stack.app, control)).body.outcome).toBe('applied');
      const [granted] = await entitlementsWhere('details.easycart.orderUuid', control.order_uuid as string);
      expect(granted).toMatchObject({ active: true });
      expect(granted!.validUntil.toDate()).toEqual(new Date(1_796_202_000_000));

      const eventId = eventDocumentId('easycart', key);
      const resolved = await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
        validUntil: 'open-ended',
        reason: 'lifetime price, EasyCart support confirmed',
      });
      expect(resolved.status).toBe(200);
      const [resolvedGrant] = await entitlementsWhere('details.easycart.orderUuid', payload.order_uuid as string);
      expect(resolvedGrant).toMatchObject({ active: true, validUntil: null, lastEvent: { key } });
      expect((await easyCartDelivery(stack.app, payload)).body.outcome).toBe('duplicate');
    });

    it('should apply two racing resolutions once: one answers 200, the other 409', async () => {
      const email = `buyer-${randomUUID()}@example.com`;
      const payload = productAssigned(email, { expiration_date: '2026-12-02T10:00:00' });
      expect((await easyCartDelivery(stack.app, payload)).status).toBe(400);
      const eventId = eventDocumentId('easycart', easyCartRefusedKey(payload));
      const body = { validUntil: '2026-12-02T09:00:00Z', reason: 'the price is 12 days' };
      const answers = await Promise.all([
        adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, body),
        adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, { ...body, validUntil: 'open-ended' }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const winner = answers.find((a) => a.status === 200)!;
      const [grant] = await entitlementsWhere('details.easycart.orderUuid', payload.order_uuid as string);
      expect(grant).toMatchObject({ version: 1 });
      expect(grant!.validUntil?.toDate() ?? null).toEqual(
        winner.body.window.validUntil === null ? null : new Date(winner.body.window.validUntil as string),
      );
    });

    it('should refuse a period end without a zone on a cancellation', async () => {
      const email = `buyer-${randomUUID()}@example.com`;
      const payload = productAssigned(email, {
        event: 'subscription_canceled',
        subscription_current_period_end: '2026-12-02 10:00:00',
      });
      const res = await easyCartDelivery(stack.app, payload);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('subscription_current_period_end: must be ISO-8601 with a time zone');
    });
  });

  describe('Purchasely', () => {
    it('should refuse an expiry in seconds where milliseconds belong, on every retry, then acknowledge it once resolved', async () => {
      const userId = `u-${randomUUID()}`;
      const subscription = `subs_${randomUUID()}`;
      const payload = activate(NOW, subscription, userId, {
        effective_next_renewal_at_ms: Math.floor(NOW.getTime() / 1000) + 30 * 86_400,
      });
      for (const attempt of [1, 2]) {
        const refused = await purchaselyDelivery(stack.app, stack.clock, payload);
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({
          code: 'validation_failed',
          message:
            'Invalid payload: effective_next_renewal_at_ms: must be milliseconds since 1970 (seconds or microseconds are refused)',
        });
        expect(await record('purchasely', payload.event_id as string)).toMatchObject({
          outcome: 'invalid',
          refusedFields: ['effective_next_renewal_at_ms'],
          attempts: attempt,
        });
      }
      await nothingWritten(`user:${userId}`, 'externalId', subscription);
      expectCleanLogs(payload.event_id as string, ['effective_next_renewal_at_ms'], []);

      const control = activate(NOW, `subs_${randomUUID()}`, userId);
      expect((await purchaselyDelivery(stack.app, stack.clock, control)).body.outcome).toBe('applied');

      const eventId = eventDocumentId('purchasely', payload.event_id as string);
      const until = new Date(NOW.getTime() + 30 * 86_400_000);
      const resolved = await adminCall(stack.app, 'POST', `/admin/v1/events/${eventId}/resolve`, {
        validUntil: until.toISOString(),
        reason: 'renewal date from the store console',
      });
      expect(resolved.status).toBe(200);
      expect(await store.getEntitlement(`purchasely:${subscription}`)).toMatchObject({
        active: true,
        validUntil: until,
      });
      // Purchasely's next retry: a 200, so it stops retrying and releases the user's later events.
      expect(await purchaselyDelivery(stack.app, stack.clock, payload)).toMatchObject({
        status: 200,
        body: { outcome: 'duplicate' },
      });
    });

    it('should still apply a DEACTIVATE whose renewal date is unusable (it does not read it)', async () => {
      const userId = `u-${randomUUID()}`;
      const subscription = `subs_${randomUUID()}`;
      expect((await purchaselyDelivery(stack.app, stack.clock, activate(NOW, subscription, userId))).body.outcome).toBe(
        'applied',
      );
      const deactivate = activate(NOW, subscription, userId, {
        event_name: 'DEACTIVATE',
        event_created_at_ms: NOW.getTime(),
        next_renewal_at: 'soon',
      });
      expect((await purchaselyDelivery(stack.app, stack.clock, deactivate)).body.outcome).toBe('applied');
      expect(await store.getEntitlement(`purchasely:${subscription}`)).toMatchObject({ active: false });
    });
  });
});
