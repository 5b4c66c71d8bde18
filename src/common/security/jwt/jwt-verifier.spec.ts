import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { base64url, CompactSign, generateKeyPair, type CryptoKey } from 'jose';
import { createTestKey, signToken, type SignOptions, type TestKey } from '../../../../test/support/test-issuer.js';
import { InvalidTokenError, MAX_TOKEN_LENGTH, verifyJwt, type VerifyJwtOptions } from './jwt-verifier.js';
import { KeyFetchError, KeySource } from './key-source.js';

class StaticKeySource extends KeySource {
  lookups = 0;
  constructor(private readonly keys: Map<string, CryptoKey>) {
    super();
  }
  getKey(kid: string): Promise<CryptoKey | undefined> {
    this.lookups++;
    return Promise.resolve(this.keys.get(kid));
  }
}

const ISS = 'https://issuer.example';
const AUD = 'https://service.example/push';
const now = () => Math.floor(Date.now() / 1000);

describe('verifyJwt', () => {
  let key: TestKey;
  let foreign: TestKey;
  let keys: StaticKeySource;
  let options: VerifyJwtOptions;

  beforeAll(async () => {
    [key, foreign] = await Promise.all([createTestKey(), createTestKey()]);
    keys = new StaticKeySource(new Map([[key.kid, key.publicKey]]));
    options = { keys, issuers: [ISS], audience: AUD };
  });

  const sign = (claims: Record<string, unknown> = {}, signOptions?: SignOptions, signer = key) =>
    signToken(signer, { iss: ISS, aud: AUD, sub: 'subject-1', ...claims }, signOptions);

  async function reasonFor(token: string | undefined, extra: Partial<VerifyJwtOptions> = {}): Promise<string> {
    const error = await verifyJwt(token, { ...options, ...extra }).then(
      () => 'accepted',
      (e: unknown) => e,
    );
    if (error === 'accepted') return error;
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).reason;
  }

  it('should return the claims of a valid token', async () => {
    const claims = await verifyJwt(await sign({ email: 'a@example.com' }), options);
    expect(claims).toMatchObject({ iss: ISS, aud: AUD, sub: 'subject-1', email: 'a@example.com' });
  });

  it('should accept any of several issuers and an audience inside an aud array', async () => {
    expect(await reasonFor(await sign({ iss: 'other' }), { issuers: [ISS, 'other'] })).toBe('accepted');
    expect(await reasonFor(await sign({ aud: ['x', AUD] }))).toBe('accepted');
  });

  it('should refuse missing, oversized and malformed tokens as malformed', async () => {
    const valid = await sign();
    const [h, p, s] = valid.split('.') as [string, string, string];
    const tooLong = await sign({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
    for (const token of [
      undefined,
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}=`,
      `!${valid}`,
      tooLong,
    ]) {
      expect(await reasonFor(token)).toBe('malformed');
    }
    expect(await reasonFor(`e30.${p}.${s}`)).toBe('alg');
    expect(await reasonFor(`bm90IGpzb24.${p}.${s}`)).toBe('malformed');
  });

  it('should accept a token of exactly MAX_TOKEN_LENGTH characters and refuse one character more', async () => {
    // Pad a claim until the signed token is exactly at the bound (base64url makes some lengths unreachable
    // with one claim: a second one shifts the payload's length by a few bytes).
    let exact: string | undefined;
    for (let shift = 0; !exact && shift < 4; shift++) {
      for (let n = 5_000; n < MAX_TOKEN_LENGTH; n += 1) {
        const token = await sign({ pad: 'x'.repeat(n), ...(shift ? { s: 'y'.repeat(shift) } : {}) });
        if (token.length === MAX_TOKEN_LENGTH) exact = token;
        if (token.length >= MAX_TOKEN_LENGTH) break;
      }
    }
    expect(exact?.length).toBe(MAX_TOKEN_LENGTH);
    expect(await reasonFor(exact)).toBe('accepted');
    // One more character (a longer signature part) is refused on its length, before any parsing or key lookup.
    const before = keys.lookups;
    expect(await reasonFor(`${exact!}A`)).toBe('malformed');
    expect(keys.lookups).toBe(before);
  });

  it('should answer malformed, not throw something else, for a signed payload that is not a JSON object', async () => {
    for (const payload of ['not json', '[1,2,3]', '"a string"', 'null']) {
      const token = await new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .sign(key.privateKey);
      expect([payload, await reasonFor(token)]).toEqual([payload, 'malformed']);
    }
  });

  it("should not blame the token when the service's own key is unusable: the error is the service's, not a 401", async () => {
    // A key source that hands out a key of another type (a configuration bug) makes jose throw a TypeError.
    const { publicKey } = await generateKeyPair('ES256');
    const wrong = new StaticKeySource(new Map([[key.kid, publicKey]]));
    const error = await verifyJwt(await sign(), { ...options, keys: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(InvalidTokenError);
  });

  it('should refuse none, HS256 and other algorithms before looking up any key', async () => {
    const before = keys.lookups;
    expect(await reasonFor(await sign({}, { alg: 'none' }))).toBe('alg');
    expect(await reasonFor(await sign({}, { alg: 'HS256' }))).toBe('alg');
    const [, payload, signature] = (await sign()).split('.');
    for (const alg of ['PS256', 'ES256', 'rs256', undefined]) {
      const header = base64url.encode(JSON.stringify({ alg, kid: key.kid }));
      expect(await reasonFor(`${header}.${payload}.${signature}`)).toBe('alg');
    }
    expect(keys.lookups).toBe(before);
  });

  it('should refuse a missing or unknown kid', async () => {
    expect(await reasonFor(await sign({}, { header: { kid: undefined } }))).toBe('kid');
    expect(await reasonFor(await sign({}, { header: { kid: 42 } }))).toBe('kid');
    expect(await reasonFor(await sign({}, { kid: 'unknown' }))).toBe('kid');
  });

  it('should refuse a token signed by another key under a known kid', async () => {
    expect(await reasonFor(await sign({}, { kid: key.kid }, foreign))).toBe('signature');
  });

  it('should refuse the wrong issuer or audience, including when absent', async () => {
    expect(await reasonFor(await sign({ iss: 'https://evil.example' }))).toBe('iss');
    expect(await reasonFor(await sign({ iss: undefined }))).toBe('iss');
    expect(await reasonFor(await sign({ aud: 'https://other.example' }))).toBe('aud');
    expect(await reasonFor(await sign({ aud: undefined }))).toBe('aud');
  });

  it('should apply the clock tolerance to exp, nbf and iat', async () => {
    const t = now();
    expect(await reasonFor(await sign({ iat: t - 3600, exp: t - 50 }))).toBe('accepted');
    expect(await reasonFor(await sign({ iat: t - 3600, exp: t - 61 }))).toBe('exp');
    expect(await reasonFor(await sign({ iat: t - 3600, exp: t - 50 }), { clockToleranceSec: 0 })).toBe('exp');
    expect(await reasonFor(await sign({ nbf: t + 50 }))).toBe('accepted');
    expect(await reasonFor(await sign({ nbf: t + 120 }))).toBe('nbf');
    expect(await reasonFor(await sign({ iat: t + 50 }))).toBe('accepted');
    expect(await reasonFor(await sign({ iat: t + 120, exp: t + 3720 }))).toBe('iat');
  });

  it('should require numeric exp and iat', async () => {
    expect(await reasonFor(await sign({ exp: undefined }))).toBe('exp');
    expect(await reasonFor(await sign({ exp: String(now() + 60) }))).toBe('exp');
    expect(await reasonFor(await sign({ iat: undefined }))).toBe('iat');
  });

  it('should refuse tokens older than maxTokenAgeSec even before exp', async () => {
    const t = now();
    const old = await sign({ iat: t - 400, exp: t + 3600 });
    expect(await reasonFor(old, { maxTokenAgeSec: 300 })).toBe('iat');
    expect(await reasonFor(old, { maxTokenAgeSec: 600 })).toBe('accepted');
  });

  it('should require the named claims to be present and not empty', async () => {
    expect(await reasonFor(await sign(), { requiredClaims: ['sub'] })).toBe('accepted');
    expect(await reasonFor(await sign({ sub: '' }), { requiredClaims: ['sub'] })).toBe('claim:sub');
    expect(await reasonFor(await sign({ sub: undefined }), { requiredClaims: ['sub'] })).toBe('claim:sub');
    expect(await reasonFor(await sign(), { requiredClaims: ['sub', 'google'] })).toBe('claim:google');
  });

  it('should judge time by the injected clock', async () => {
    const token = await sign();
    expect(await reasonFor(token, { now: () => Date.now() + 2 * 3600_000 })).toBe('exp');
    expect(await reasonFor(token, { now: () => Date.now() - 600_000 })).toBe('iat');
  });

  it('should let a key fetch failure through as transient, not as an invalid token', async () => {
    const down = new (class extends KeySource {
      getKey(): Promise<CryptoKey | undefined> {
        return Promise.reject(new KeyFetchError('down'));
      }
    })();
    await expect(verifyJwt(await sign(), { ...options, keys: down })).rejects.toBeInstanceOf(KeyFetchError);
  });

  it('should refuse to run without an issuer or audience', async () => {
    await expect(verifyJwt(await sign(), { ...options, issuers: [] })).rejects.toThrow(TypeError);
    await expect(verifyJwt(await sign(), { ...options, audience: '' })).rejects.toThrow(TypeError);
  });

  it('should keep the token out of the error', async () => {
    const token = await sign({ aud: 'other' });
    const error = await verifyJwt(token, options).catch((e: unknown) => e as InvalidTokenError);
    expect(JSON.stringify({ ...error, message: error?.message })).not.toContain(token.split('.')[1]);
    expect(error?.message).toBe('Invalid token');
  });

  it('should never accept changed claims nor throw anything but InvalidTokenError on mutated tokens', async () => {
    const token = await sign({ email: 'a@example.com' });
    const original = await verifyJwt(token, options);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet)), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          const chars = [...token];
          for (const [at, c] of edits) chars[at] = c;
          const outcome = await verifyJwt(chars.join(''), options).catch((e: unknown) => e);
          if (outcome instanceof InvalidTokenError) return;
          // Only a change to the unused low bits of the signature's last base64url character can still verify.
          expect(outcome).toEqual(original);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('should refuse a token with trailing characters, or a kid that is empty, before any key is looked up', async () => {
    const valid = await sign();
    const before = keys.lookups;
    expect(await reasonFor(`${valid}!`)).toBe('malformed');
    expect(await reasonFor(`${valid} `)).toBe('malformed');
    expect(await reasonFor(await sign({}, { kid: '' }))).toBe('kid');
    expect(keys.lookups).toBe(before);
  });

  it('should accept an iat exactly at the tolerance ahead of now, and refuse one a second later', async () => {
    const nowMs = Date.now();
    const t = Math.floor(nowMs / 1000);
    const at = (iat: number) => sign({ iat, exp: iat + 600 });
    expect(await reasonFor(await at(t + 10), { clockToleranceSec: 10, now: () => t * 1000 })).toBe('accepted');
    expect(await reasonFor(await at(t + 11), { clockToleranceSec: 10, now: () => t * 1000 })).toBe('iat');
  });

  it('should refuse a required claim that is null or empty', async () => {
    expect(await reasonFor(await sign({ acct: null }), { requiredClaims: ['acct'] })).toBe('claim:acct');
    expect(await reasonFor(await sign({ acct: '' }), { requiredClaims: ['acct'] })).toBe('claim:acct');
    expect(await reasonFor(await sign({ acct: 0 }), { requiredClaims: ['acct'] })).toBe('accepted');
  });

  it('should name its error and explain a missing issuer or audience', async () => {
    const error = await verifyJwt('x', options).catch((e: unknown) => e);
    expect((error as Error).name).toBe('InvalidTokenError');
    await expect(verifyJwt(await sign(), { ...options, issuers: [] })).rejects.toThrow(
      'verifyJwt needs at least one issuer and an audience',
    );
  });
});
