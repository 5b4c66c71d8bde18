import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { newNonce, readLinkToken, signLinkToken } from './link-token.js';

const SECRET = 'a-link-secret-of-at-least-32-characters!';
const NOW = new Date('2026-03-01T10:00:00Z');
const payload = { accountId: 'E-1234-ABCD', nonce: newNonce(), expiresAt: new Date(NOW.getTime() + 15 * 60_000) };

describe('link tokens', () => {
  it('should read back what was signed', () => {
    const token = signLinkToken(SECRET, payload);
    expect(readLinkToken(SECRET, token, NOW)).toEqual({ ok: true, payload });
  });

  it('should refuse a token signed with another secret', () => {
    const token = signLinkToken('another-secret-of-at-least-32-characters', payload);
    expect(readLinkToken(SECRET, token, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('should refuse a token whose payload was changed', () => {
    const token = signLinkToken(SECRET, payload);
    const [, signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ v: 1, acct: 'E-OTHER', nonce: payload.nonce, exp: 4102444800 }),
    ).toString('base64url');
    expect(readLinkToken(SECRET, `${forged}.${signature}`, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('should answer malformed, not throw, for a correctly signed body that is not JSON or not an object of claims', () => {
    // Signed the way the service signs (same purpose prefix): only the body's content is wrong.
    const signed = (text: string) => {
      const body = Buffer.from(text).toString('base64url');
      const mac = createHmac('sha256', SECRET).update(`marketplace-link.v1.${body}`).digest('base64url');
      return `${body}.${mac}`;
    };
    expect(readLinkToken(SECRET, signed('{"v":1,"acct":'), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(readLinkToken(SECRET, signed('not json at all'), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(readLinkToken(SECRET, signed('null'), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(readLinkToken(SECRET, signed('[1,2]'), NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('should refuse a token at and after its expiry', () => {
    const token = signLinkToken(SECRET, payload);
    expect(readLinkToken(SECRET, token, new Date(payload.expiresAt.getTime() - 1000)).ok).toBe(true);
    expect(readLinkToken(SECRET, token, payload.expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('should refuse malformed input without throwing', () => {
    const token = signLinkToken(SECRET, payload);
    for (const bad of [undefined, 42, '', 'abc', `${token}.x`, `${token} `, 'x'.repeat(2000), token.replace('.', '')]) {
      expect(readLinkToken(SECRET, bad, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('should refuse a correctly signed body that is not a version-1 payload', () => {
    // Signed the way the service signs (the format is part of the contract between sign-up and link).
    const signed = (body: unknown) => {
      const encoded = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `${encoded}.${createHmac('sha256', SECRET).update(`marketplace-link.v1.${encoded}`).digest('base64url')}`;
    };
    const exp = Math.floor(NOW.getTime() / 1000) + 600;
    expect(readLinkToken(SECRET, signed({ v: 1, acct: 'E-1', nonce: payload.nonce, exp }), NOW).ok).toBe(true);
    for (const body of [
      { v: 2, acct: 'E-1', nonce: payload.nonce, exp },
      { v: 1, acct: '', nonce: payload.nonce, exp },
      { v: 1, acct: 'E-1', nonce: 'short', exp },
      { v: 1, acct: 'E-1', nonce: payload.nonce, exp: String(exp) },
      { v: 1, acct: 'E-1', nonce: payload.nonce },
      null,
      'text',
    ]) {
      expect(readLinkToken(SECRET, signed(body), NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('should refuse a non-canonical spelling of the signature', () => {
    const token = signLinkToken(SECRET, payload);
    const last = token.at(-1)!;
    // The last of 43 base64url characters carries 2 unused bits: flip them and the bytes stay the same.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(readLinkToken(SECRET, `${token.slice(0, -1)}${twin}`, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('should make a different nonce every time', () => {
    const nonces = new Set(Array.from({ length: 1000 }, newNonce));
    expect(nonces.size).toBe(1000);
    expect([...nonces].every((n) => /^[A-Za-z0-9_-]{24}$/.test(n))).toBe(true);
  });
  it('should take a token of exactly 1,024 characters and refuse one longer', () => {
    // 735 bytes of JSON are 980 base64url characters; with the dot and the 43 of the signature, 1,024.
    const bare = JSON.stringify({
      v: 1,
      acct: '',
      nonce: payload.nonce,
      exp: Math.floor(payload.expiresAt.getTime() / 1000),
    }).length;
    const sized = (jsonBytes: number) => signLinkToken(SECRET, { ...payload, accountId: 'E'.repeat(jsonBytes - bare) });
    expect(sized(735)).toHaveLength(1024);
    expect(readLinkToken(SECRET, sized(735), NOW).ok).toBe(true);
    expect(sized(736).length).toBeGreaterThan(1024);
    expect(readLinkToken(SECRET, sized(736), NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('should refuse a nonce with characters around an otherwise good one', () => {
    const signed = (body: unknown) => {
      const encoded = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `${encoded}.${createHmac('sha256', SECRET).update(`marketplace-link.v1.${encoded}`).digest('base64url')}`;
    };
    const exp = Math.floor(NOW.getTime() / 1000) + 600;
    for (const nonce of [`${payload.nonce}!`, `!${payload.nonce}`, 'n'.repeat(65)]) {
      expect(readLinkToken(SECRET, signed({ v: 1, acct: 'E-1', nonce, exp }), NOW)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    expect(readLinkToken(SECRET, `!${signLinkToken(SECRET, payload)}`, NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});
