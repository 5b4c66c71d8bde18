import { describe, expect, it } from '@jest/globals';
import { orderIdsOf, signupClaimsOf } from './signup-claims.js';

const base = { sub: 'E-1234', iat: 1_767_225_600, exp: 1_767_225_900 };

describe('sign-up token claims', () => {
  it('should read user_identity, roles and orders from the google claim and keep the raw claim', () => {
    const google = { user_identity: '1234567890', roles: ['account_admin'], orders: ['order-1', 'order-2'] };
    expect(signupClaimsOf({ ...base, google })).toEqual({
      accountId: 'E-1234',
      google: {
        user_identity: '1234567890',
        roles: ['account_admin'],
        orders: ['order-1', 'order-2'],
        raw: JSON.stringify(google),
        tokenIssuedAt: new Date(base.iat * 1000),
      },
      token: { jti: null, expiresAt: new Date(base.exp * 1000) },
    });
    expect(signupClaimsOf({ ...base, jti: 'abc' }).token.jti).toBe('abc');
  });

  it('should give empty values, not a refusal, when the google claim is absent or odd', () => {
    expect(signupClaimsOf(base).google).toMatchObject({ user_identity: null, roles: [], orders: [], raw: null });
    expect(signupClaimsOf({ ...base, google: 'x' }).google).toMatchObject({
      user_identity: null,
      roles: [],
      orders: [],
      raw: '"x"',
    });
    expect(
      signupClaimsOf({ ...base, google: { user_identity: { a: 1 }, roles: 'account_admin' } }).google,
    ).toMatchObject({
      user_identity: null,
      roles: ['account_admin'],
    });
  });

  it('should read orders in every shape seen or guessed', () => {
    expect(orderIdsOf(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(orderIdsOf('single')).toEqual(['single']);
    expect(orderIdsOf([{ id: 'a' }, { orderId: 'b' }, { order_id: 'c' }, { name: 'providers/p/orders/d' }])).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    expect(orderIdsOf({ orderId: 'only' })).toEqual(['only']);
    expect(orderIdsOf([42, null, {}, ['nested'], ' ', 'ok'])).toEqual(['42', 'ok']);
    expect(orderIdsOf(undefined)).toEqual([]);
    expect(orderIdsOf(null)).toEqual([]);
  });
  it('should read at most 100 orders and roles, and a lone value as a list of one', () => {
    const many = Array.from({ length: 150 }, (_, i) => `o${i}`);
    expect(orderIdsOf(many)).toEqual(many.slice(0, 100));
    expect(signupClaimsOf({ ...base, google: { roles: many } }).google.roles).toEqual(many.slice(0, 100));
    expect(orderIdsOf(7)).toEqual(['7']);
    expect(orderIdsOf(false)).toEqual([]);
    expect(orderIdsOf({})).toEqual([]);
  });

  it('should drop roles and orders that are objects, booleans or lists inside the list, never read them as text', () => {
    const odd = [{ role: 'account_admin' }, true, false, ['nested'], null, undefined];
    expect(signupClaimsOf({ ...base, google: { roles: [...odd, 'account_admin'] } }).google.roles).toEqual([
      'account_admin',
    ]);
    expect(signupClaimsOf({ ...base, google: { roles: true } }).google.roles).toEqual([]);
    expect(orderIdsOf([...odd, 'order-1'])).toEqual(['order-1']);
  });

  it('should drop ids that end in a slash and numbers that are not finite', () => {
    expect(orderIdsOf(['providers/p/orders/', 'x'])).toEqual(['x']);
    expect(orderIdsOf([Number.NaN, Number.POSITIVE_INFINITY, '1'])).toEqual(['1']);
    expect(signupClaimsOf({ ...base, google: { user_identity: Number.NaN } }).google.user_identity).toBeNull();
    expect(signupClaimsOf({ ...base, google: { user_identity: 12 } }).google.user_identity).toBe('12');
  });
});
