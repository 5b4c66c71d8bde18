import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `data` under `key`. */
export function hmacSha256Hex(key: string, data: Buffer | string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/**
 * Constant-time comparison of a received hex signature with an expected one. A length or
 * encoding mismatch is a plain `false`, decided without comparing content.
 */
export function safeEqualHex(received: string, expected: string): boolean {
  if (!/^[0-9a-f]+$/i.test(received) || received.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(received.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}

/** True when `received` matches the HMAC under any of the keys (rotation: old and new at once). */
export function matchesAnyKey(received: string, keys: readonly string[], data: Buffer | string): boolean {
  let ok = false;
  // Check every key, not stopping at the first match, so timing says nothing about which key matched.
  for (const key of keys) ok = safeEqualHex(received, hmacSha256Hex(key, data)) || ok;
  return ok;
}

/** Constant-time equality of two secrets of any length (compares SHA-256 digests, so length leaks nothing). */
export function safeEqualSecret(received: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(received), digest(expected));
}
