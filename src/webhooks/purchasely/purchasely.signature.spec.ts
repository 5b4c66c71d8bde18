import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { hmacSha256Hex } from '../../common/security/hmac.js';
import {
  verifyPurchaselySignature,
  type PurchaselySignatureOptions,
  type PurchaselySignedRequest,
} from './purchasely.signature.js';

interface TestVector {
  secret: string;
  headers: { 'x-purchasely-timestamp': string; 'x-purchasely-request-signature': string };
  rawBody: string;
}
const vector = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/purchasely/signature-test-vector.json', import.meta.url), 'utf8'),
) as TestVector;

const timestamp = vector.headers['x-purchasely-timestamp'];
const signature = vector.headers['x-purchasely-request-signature'];
const signedAt = new Date(Number(timestamp) * 1000);

function request(overrides: Partial<PurchaselySignedRequest> = {}): PurchaselySignedRequest {
  return {
    rawBody: Buffer.from(vector.rawBody, 'utf8'),
    signature,
    timestamp,
    deprecatedSignature: undefined,
    ...overrides,
  };
}

function options(overrides: Partial<PurchaselySignatureOptions> = {}): PurchaselySignatureOptions {
  return { secrets: [vector.secret], now: signedAt, toleranceSeconds: 300, allowDeprecated: false, ...overrides };
}

/** One byte changed at `index`. */
function flipByte(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = bytes[index]! ^ 0x01;
  return copy;
}

/** One character changed at `index` to the next one of `alphabet`, so length and alphabet still hold. */
function nextChar(text: string, index: number, alphabet: string): string {
  const next = alphabet[(alphabet.indexOf(text[index]!.toLowerCase()) + 1) % alphabet.length]!;
  return text.slice(0, index) + next + text.slice(index + 1);
}

describe('verifyPurchaselySignature', () => {
  it("should accept Purchasely's published test vector", () => {
    expect(verifyPurchaselySignature(request(), options())).toEqual({ ok: true, scheme: 'timestamp-body' });
  });

  it('should refuse the test vector after any one-byte change of the body', () => {
    const body = Buffer.from(vector.rawBody, 'utf8');
    for (let i = 0; i < body.length; i++) {
      const result = verifyPurchaselySignature(request({ rawBody: flipByte(body, i) }), options());
      expect({ i, ok: result.ok }).toEqual({ i, ok: false });
    }
  });

  it('should refuse the test vector after any one-byte change of the timestamp, even inside the window', () => {
    for (let i = 0; i < timestamp.length; i++) {
      const mutated = nextChar(timestamp, i, '0123456789');
      // Judge the mutated timestamp by its own time so only the signature can refuse it.
      const now = new Date(Number(mutated) * 1000);
      const result = verifyPurchaselySignature(request({ timestamp: mutated }), options({ now }));
      expect({ i, result }).toEqual({
        i,
        result: { ok: false, problem: 'bad_signature', reason: 'signature does not match any configured secret' },
      });
    }
  });

  it('should refuse the test vector after any one-byte change of the signature', () => {
    for (let i = 0; i < signature.length; i++) {
      const mutated = nextChar(signature, i, '0123456789abcdef');
      expect({ i, ok: verifyPurchaselySignature(request({ signature: mutated }), options()).ok }).toEqual({
        i,
        ok: false,
      });
    }
  });

  it('should accept the upper-case hex form of the signature', () => {
    expect(verifyPurchaselySignature(request({ signature: signature.toUpperCase() }), options()).ok).toBe(true);
  });

  it('should accept a timestamp up to the tolerance away in either direction and refuse one second more', () => {
    const at = (seconds: number) => options({ now: new Date(signedAt.getTime() + seconds * 1000) });
    expect(verifyPurchaselySignature(request(), at(300)).ok).toBe(true);
    expect(verifyPurchaselySignature(request(), at(-300)).ok).toBe(true);
    expect(verifyPurchaselySignature(request(), at(301))).toEqual({
      ok: false,
      problem: 'stale_timestamp',
      reason: 'x-purchasely-timestamp is 301 s away from now (tolerance 300 s)',
    });
    expect(verifyPurchaselySignature(request(), at(-301)).ok).toBe(false);
    expect(
      verifyPurchaselySignature(
        request(),
        options({ now: new Date(signedAt.getTime() + 3_600_000), toleranceSeconds: 3600 }),
      ).ok,
    ).toBe(true);
  });

  it('should read a 13-digit timestamp as milliseconds for the window, while signing the header as sent', () => {
    const ms = String(signedAt.getTime());
    const body = Buffer.from(vector.rawBody);
    const sig = hmacSha256Hex(vector.secret, Buffer.concat([Buffer.from(ms), body]));
    expect(verifyPurchaselySignature(request({ timestamp: ms, signature: sig }), options()).ok).toBe(true);
  });

  it('should refuse a malformed or missing timestamp and a missing signature', () => {
    expect(verifyPurchaselySignature(request({ timestamp: '16983x2022' }), options())).toEqual({
      ok: false,
      problem: 'malformed_timestamp',
      reason: 'malformed x-purchasely-timestamp header',
    });
    expect(verifyPurchaselySignature(request({ timestamp: undefined }), options())).toEqual({
      ok: false,
      problem: 'missing_timestamp',
      reason: 'missing x-purchasely-timestamp header',
    });
    expect(verifyPurchaselySignature(request({ signature: undefined }), options())).toEqual({
      ok: false,
      problem: 'missing_signature',
      reason: 'missing x-purchasely-request-signature header',
    });
  });

  it('should accept either of two secrets during a rotation, and refuse when neither signed', () => {
    const rotating = options({ secrets: ['the-new-secret-0123456789', vector.secret] });
    expect(verifyPurchaselySignature(request(), rotating).ok).toBe(true);
    expect(
      verifyPurchaselySignature(
        request(),
        options({ secrets: ['the-new-secret-0123456789', 'another-secret-0123456'] }),
      ).ok,
    ).toBe(false);
    expect(verifyPurchaselySignature(request(), options({ secrets: [] }))).toEqual({
      ok: false,
      problem: 'not_configured',
      reason: 'no shared secret configured',
    });
  });

  describe('deprecated schemes', () => {
    // Older published vector, given truncated in Purchasely's old docs: HMAC("foobar", "foobar" + body) = 506c1cfb…44a180.
    const oldBody = '{"a_random_key":"a_random_value_amet"}';
    const oldSignature = hmacSha256Hex('foobar', `foobar${oldBody}`);
    const secretBody = request({ rawBody: Buffer.from(oldBody), signature: oldSignature, timestamp: undefined });

    it('should match the older published vector with the secret + body construction', () => {
      expect(oldSignature).toMatch(/^506c1cfb[0-9a-f]{50}44a180$/);
    });

    it('should refuse the secret + body scheme unless deprecated schemes are allowed', () => {
      expect(verifyPurchaselySignature(secretBody, options()).ok).toBe(false);
      expect(verifyPurchaselySignature(secretBody, options({ allowDeprecated: true }))).toEqual({
        ok: true,
        scheme: 'secret-body',
      });
      const tampered = { ...secretBody, rawBody: Buffer.from(oldBody.replace('amet', 'amen')) };
      expect(verifyPurchaselySignature(tampered, options({ allowDeprecated: true })).ok).toBe(false);
    });

    it('should refuse the x-purchasely-signature (secret + timestamp) scheme unless allowed, and outside the window even then', () => {
      const deprecated = request({
        signature: undefined,
        deprecatedSignature: hmacSha256Hex(vector.secret, `${vector.secret}${timestamp}`),
      });
      expect(verifyPurchaselySignature(deprecated, options())).toEqual({
        ok: false,
        problem: 'deprecated_signature_refused',
        reason:
          'only the deprecated x-purchasely-signature header was sent, and deprecated signatures are not accepted',
      });
      expect(verifyPurchaselySignature(deprecated, options({ allowDeprecated: true }))).toEqual({
        ok: true,
        scheme: 'secret-timestamp',
      });
      const late = options({ allowDeprecated: true, now: new Date(signedAt.getTime() + 301_000) });
      expect(verifyPurchaselySignature(deprecated, late).ok).toBe(false);
    });

    it('should still prefer the current scheme when deprecated schemes are allowed', () => {
      expect(verifyPurchaselySignature(request(), options({ allowDeprecated: true }))).toEqual({
        ok: true,
        scheme: 'timestamp-body',
      });
    });
  });
});

describe('verifyPurchaselySignature: edges', () => {
  it('should read a timestamp of exactly 1e11 as milliseconds', () => {
    const at = '100000000000';
    const body = Buffer.from(vector.rawBody, 'utf8');
    const sig = hmacSha256Hex(vector.secret, Buffer.concat([Buffer.from(at, 'utf8'), body]));
    expect(
      verifyPurchaselySignature(request({ timestamp: at, signature: sig }), options({ now: new Date(1e11) })),
    ).toEqual({ ok: true, scheme: 'timestamp-body' });
  });

  it('should refuse a wrong deprecated signature even when deprecated schemes are allowed', () => {
    const result = verifyPurchaselySignature(
      request({ signature: undefined, deprecatedSignature: 'ab'.repeat(32) }),
      options({ allowDeprecated: true }),
    );
    expect(result).toMatchObject({ ok: false });
  });
});
