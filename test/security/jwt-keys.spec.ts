import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyJwt, type VerifyJwtOptions } from '../../src/common/security/jwt/jwt-verifier.js';
import { RemoteKeySource } from '../../src/common/security/jwt/key-source.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/** Shaped like the Marketplace sign-up token (x-gcp-marketplace-token), whose keys come as an x509 map. */
const SIGNUP_ISS =
  'https://www.googleapis.com/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';
const SIGNUP_AUD = 'app.seller.example';

describe('RS256 keys served by the test issuer', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await startTestIssuer({ maxAgeSec: 3600 });
  });
  afterAll(() => issuer.close());

  function signupOptions(keys: RemoteKeySource): VerifyJwtOptions {
    return { keys, issuers: [SIGNUP_ISS], audience: SIGNUP_AUD, requiredClaims: ['sub'] };
  }

  it('should serve a real self-signed certificate for each key', () => {
    const cert = new X509Certificate(issuer.currentKey.certificatePem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.export({ format: 'jwk' })).toMatchObject({ n: issuer.currentKey.jwk.n });
  });

  it('should verify a sign-up style token end to end with keys from the x509 map', async () => {
    const keys = new RemoteKeySource({ url: issuer.x509Url });
    const t = Math.floor(Date.now() / 1000);
    const token = await issuer.sign({
      iss: SIGNUP_ISS,
      aud: SIGNUP_AUD,
      sub: 'procurement-account-42',
      iat: t,
      exp: t + 300,
      google: { roles: ['account_admin'], user_identity: '1234' },
    });
    await expect(verifyJwt(token, signupOptions(keys))).resolves.toMatchObject({ sub: 'procurement-account-42' });
  });

  it('should refuse a sign-up token without sub or from the token-named issuer', async () => {
    const keys = new RemoteKeySource({ url: issuer.x509Url });
    const noSub = await issuer.sign({ iss: SIGNUP_ISS, aud: SIGNUP_AUD, sub: '' });
    await expect(verifyJwt(noSub, signupOptions(keys))).rejects.toMatchObject({ reason: 'claim:sub' });
    const otherIss = await issuer.sign({ iss: issuer.x509Url, aud: SIGNUP_AUD, sub: 'a' });
    await expect(verifyJwt(otherIss, signupOptions(keys))).rejects.toMatchObject({ reason: 'iss' });
  });

  it('should fetch the keys once for many tokens and pick up a rotated key after the cooldown', async () => {
    let clockMs = Date.now();
    const keys = new RemoteKeySource({ url: issuer.x509Url, now: () => clockMs });
    const options = signupOptions(keys);
    const claims = { iss: SIGNUP_ISS, aud: SIGNUP_AUD, sub: 'acc' };
    const start = issuer.fetchCount;

    await Promise.all(Array.from({ length: 20 }, async () => verifyJwt(await issuer.sign(claims), options)));
    expect(issuer.fetchCount - start).toBe(1);

    await issuer.rotate();
    const rotated = await issuer.sign(claims);
    await expect(verifyJwt(rotated, options)).rejects.toMatchObject({ reason: 'kid' });
    for (let i = 0; i < 50; i++) {
      await expect(verifyJwt(await issuer.sign(claims, { kid: `forged-${i}` }), options)).rejects.toThrow();
    }
    expect(issuer.fetchCount - start).toBe(1);

    clockMs += 30_000;
    await expect(verifyJwt(rotated, options)).resolves.toMatchObject({ sub: 'acc' });
    expect(issuer.fetchCount - start).toBe(2);
  });
});
