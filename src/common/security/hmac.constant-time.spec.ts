import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import type * as Crypto from 'node:crypto';

/**
 * Constant time by construction: the comparisons must be decided by `crypto.timingSafeEqual`, not by
 * `===` or a loop that stops at the first difference. The module is wrapped (the real function still
 * runs) and its answer is overridden, so a comparison decided by anything else is seen.
 */
const real = await import('node:crypto');
const timingSafeEqual = jest.fn<typeof Crypto.timingSafeEqual>((a, b) => real.timingSafeEqual(a, b));
jest.unstable_mockModule('node:crypto', () => ({ ...real, default: real, timingSafeEqual }));
const { hmacSha256Hex, matchesAnyKey, safeEqualHex, safeEqualSecret } = await import('./hmac.js');

describe('hmac compares in constant time', () => {
  beforeEach(() => {
    timingSafeEqual.mockClear();
  });

  it('should let timingSafeEqual decide a hex signature, on the decoded bytes of equal length', () => {
    const sig = hmacSha256Hex('key-0123456789', 'body');
    expect(safeEqualHex(sig, sig)).toBe(true);
    expect(timingSafeEqual).toHaveBeenCalledTimes(1);
    const [a, b] = timingSafeEqual.mock.calls[0]!;
    expect(Buffer.from(a as Uint8Array).toString('hex')).toBe(sig);
    expect(Buffer.from(b as Uint8Array).toString('hex')).toBe(sig);

    timingSafeEqual.mockReturnValueOnce(false);
    expect(safeEqualHex(sig, sig)).toBe(false);
    const other = hmacSha256Hex('other-key-0123456789', 'body');
    timingSafeEqual.mockReturnValueOnce(true);
    expect(safeEqualHex(other, sig)).toBe(true);
  });

  it('should compare under every rotation key, not stopping at the first match', () => {
    const keys = ['k1-0123456789abcdef', 'k2-0123456789abcdef', 'k3-0123456789abcdef'];
    expect(matchesAnyKey(hmacSha256Hex(keys[0]!, 'body'), keys, 'body')).toBe(true);
    expect(timingSafeEqual).toHaveBeenCalledTimes(3);
  });

  it('should let timingSafeEqual decide a secret, on digests of equal length whatever the input lengths', () => {
    timingSafeEqual.mockReturnValueOnce(true);
    expect(safeEqualSecret('short', 'a-much-longer-secret-value')).toBe(true);
    timingSafeEqual.mockReturnValueOnce(false);
    expect(safeEqualSecret('same-secret-0123456789', 'same-secret-0123456789')).toBe(false);
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect((a as Uint8Array).length).toBe(32);
      expect((b as Uint8Array).length).toBe(32);
    }
  });
});
