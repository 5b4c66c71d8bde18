import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../common/errors/app-error.js';
import { parseBody } from '../common/zod-body.js';
import { purchaselyEventSchema } from './purchasely.schema.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../test/fixtures/purchasely/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
const activate = fixture('activate.json');

/** Field paths the schema refuses in `body`. */
function refusedFields(body: unknown): string[] {
  const result = purchaselyEventSchema.safeParse(body);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
}

describe('purchaselyEventSchema', () => {
  it('should accept the recorded ACTIVATE and DEACTIVATE samples and keep the fields it does not use', () => {
    const parsed = purchaselyEventSchema.parse(activate);
    expect(parsed).toMatchObject({ event_name: 'ACTIVATE', plan: 'monthly', cumulated_revenues_in_eur: 69.9 });
    expect(refusedFields(fixture('deactivate.json'))).toEqual([]);
  });

  it('should accept a lifecycle event that carries none of the entitlement fields', () => {
    expect(
      refusedFields({ api_version: 3, event_name: 'RENEWAL_DISABLED', some_new_attribute: { nested: true } }),
    ).toEqual([]);
  });

  it('should read null and empty identifiers as absent', () => {
    const parsed = purchaselyEventSchema.parse({
      ...activate,
      user_id: '',
      anonymous_user_id: 'anon-1',
      previous_plan: null,
    });
    expect(parsed.user_id).toBeUndefined();
    expect(parsed.anonymous_user_id).toBe('anon-1');
    expect(parsed.previous_plan).toBeUndefined();
  });

  it('should refuse another webhook API version', () => {
    expect(refusedFields({ ...activate, api_version: 2 })).toEqual(['api_version']);
  });

  it('should refuse wrong types on the fields it uses', () => {
    expect(refusedFields({ ...activate, event_created_at_ms: '1702390766120' })).toEqual(['event_created_at_ms']);
    expect(refusedFields({ ...activate, environment: 'STAGING' })).toEqual(['environment']);
    expect(refusedFields({ ...activate, user_id: 42 })).toEqual(['user_id']);
  });

  it('should require what an ACTIVATE needs: purchase id, user, product, plan, event time', () => {
    const {
      purchasely_subscription_id: _s,
      user_id: _u,
      plan: _p,
      product: _r,
      event_created_at_ms: _t,
      ...bare
    } = activate;
    expect(refusedFields(bare).sort()).toEqual([
      'event_created_at_ms',
      'plan',
      'product',
      'purchasely_subscription_id',
      'user_id',
    ]);
    expect(
      refusedFields({
        ...bare,
        purchasely_one_time_purchase_id: 'otp_1',
        anonymous_user_id: 'a',
        plan: 'p',
        product: 'P',
        event_created_at_ms: 1,
      }),
    ).toEqual([]);
  });

  it('should let a DEACTIVATE without product or plan through (a revoke keeps the stored product)', () => {
    const { plan: _p, product: _r, ...bare } = fixture('deactivate.json');
    expect(refusedFields(bare)).toEqual([]);
  });

  it('should require the new holder of a SUBSCRIPTION_TRANSFERRED', () => {
    const transferred = { ...activate, event_name: 'SUBSCRIPTION_TRANSFERRED' };
    expect(refusedFields(transferred)).toEqual(['transferred_to_user_id']);
    expect(refusedFields({ ...transferred, transferred_to_anonymous_user_id: 'anon-2' })).toEqual([]);
  });

  it('should produce a 400 error that names the refused field', () => {
    const { plan: _p, ...noPlan } = activate;
    let error: unknown;
    try {
      parseBody(purchaselyEventSchema, noPlan);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      status: 400,
      message: 'Invalid payload: plan: required for ACTIVATE',
      details: { fields: [{ field: 'plan', problem: 'required for ACTIVATE' }] },
    });
  });
});
