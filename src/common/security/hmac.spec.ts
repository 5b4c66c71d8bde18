import { describe, expect, it } from '@jest/globals';
import { hmacSha256Hex, matchesAnyKey, safeEqualHex, safeEqualSecret } from './hmac.js';

describe('hmac', () => {
  it('should accept the signature under either rotation key and refuse others', () => {
    const sig = hmacSha256Hex('new-key-0123456789', 'body');
    expect(matchesAnyKey(sig, ['old-key-0123456789', 'new-key-0123456789'], 'body')).toBe(true);
    expect(matchesAnyKey(sig, ['old-key-0123456789'], 'body')).toBe(false);
  });

  it('should refuse signatures of the wrong length or alphabet without throwing', () => {
    const sig = hmacSha256Hex('k', 'b');
    expect(safeEqualHex(sig.slice(2), sig)).toBe(false);
    expect(safeEqualHex(`zz${sig.slice(2)}`, sig)).toBe(false);
    // Hex up to a point, then not: Buffer.from stops decoding there, and timingSafeEqual would throw.
    expect(safeEqualHex(`${sig.slice(0, -2)}zz`, sig)).toBe(false);
    expect(safeEqualHex(`${sig.slice(0, 10)} ${sig.slice(11)}`, sig)).toBe(false);
    expect(safeEqualHex('', sig)).toBe(false);
    expect(safeEqualHex(sig.toUpperCase(), sig)).toBe(true);
  });

  it('should compare secrets of any length in constant time', () => {
    expect(safeEqualSecret('a-long-url-token-0123456789', 'a-long-url-token-0123456789')).toBe(true);
    expect(safeEqualSecret('a-long-url-token-0123456789', 'a-long-url-token-012345678')).toBe(false);
    expect(safeEqualSecret('', 'x')).toBe(false);
  });
});
