import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GoogleOidcVerifier, verifyGoogleIdToken } from '../../src/common/security/jwt/google-oidc.js';
import { InvalidTokenError } from '../../src/common/security/jwt/jwt-verifier.js';
import { KeyFetchError, RemoteKeySource } from '../../src/common/security/jwt/key-source.js';
import { createTestKey, startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const AUDIENCE = 'https://entitlements.example.run.app/pubsub/push';
const PUSH_SA = 'marketplace-push@seller-project.iam.gserviceaccount.com';

/** The claims Pub/Sub puts in a push token (authenticate-push-subscriptions). */
function pushClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    azp: '113774264463038321964',
    email: PUSH_SA,
    email_verified: true,
    sub: '113774264463038321964',
    ...overrides,
  };
}

describe('GoogleOidcVerifier against the test issuer', () => {
  let issuer: TestIssuer;
  let verifier: GoogleOidcVerifier;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    verifier = new GoogleOidcVerifier({ jwksUrl: issuer.jwksUrl, audience: AUDIENCE, allowedEmails: [PUSH_SA] });
  });
  afterAll(() => issuer.close());

  async function reasonFor(token: string | undefined): Promise<string> {
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).reason;
  }

  it('should accept a push token from the allowed service account', async () => {
    const identity = await verifier.verify(await issuer.sign(pushClaims()));
    expect(identity).toEqual({ email: PUSH_SA, sub: '113774264463038321964', aud: AUDIENCE });
  });

  it('should accept the bare issuer spelling and an email in other case', async () => {
    const token = await issuer.sign(pushClaims({ iss: 'accounts.google.com', email: PUSH_SA.toUpperCase() }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ email: PUSH_SA.toUpperCase() });
  });

  it('should refuse a missing or malformed token', async () => {
    expect(await reasonFor(undefined)).toBe('malformed');
    expect(await reasonFor('')).toBe('malformed');
    expect(await reasonFor('Bearer abc.def.ghi')).toBe('malformed');
  });

  it('should refuse the wrong audience', async () => {
    expect(await reasonFor(await issuer.sign(pushClaims({ aud: 'https://other.example/push' })))).toBe('aud');
  });

  it('should refuse the wrong issuer', async () => {
    expect(await reasonFor(await issuer.sign(pushClaims({ iss: 'https://evil.example' })))).toBe('iss');
    expect(await reasonFor(await issuer.sign(pushClaims({ iss: 'https://accounts.google.com/' })))).toBe('iss');
  });

  it('should refuse another service account, even one verified by Google', async () => {
    const token = await issuer.sign(pushClaims({ email: 'attacker@evil-project.iam.gserviceaccount.com' }));
    expect(await reasonFor(token)).toBe('claim:email');
    expect(await reasonFor(await issuer.sign(pushClaims({ email: undefined })))).toBe('claim:email');
  });

  it('should refuse an email that is not verified', async () => {
    for (const emailVerified of [false, 'true', undefined]) {
      expect(await reasonFor(await issuer.sign(pushClaims({ email_verified: emailVerified })))).toBe(
        'claim:email_verified',
      );
    }
  });

  it('should refuse an expired token', async () => {
    const t = Math.floor(Date.now() / 1000);
    expect(await reasonFor(await issuer.sign(pushClaims({ iat: t - 7200, exp: t - 3600 })))).toBe('exp');
  });

  it('should refuse a token issued in the future', async () => {
    const t = Math.floor(Date.now() / 1000);
    expect(await reasonFor(await issuer.sign(pushClaims({ iat: t + 600, exp: t + 4200 })))).toBe('iat');
  });

  it('should refuse a forged signature under the real kid', async () => {
    const forger = await createTestKey();
    const token = await issuer.sign(pushClaims(), { key: forger, kid: issuer.currentKey.kid });
    expect(await reasonFor(token)).toBe('signature');
  });

  it('should refuse an unknown kid', async () => {
    expect(await reasonFor(await issuer.sign(pushClaims(), { kid: 'not-a-google-kid' }))).toBe('kid');
  });

  it('should refuse alg none', async () => {
    expect(await reasonFor(await issuer.sign(pushClaims(), { alg: 'none' }))).toBe('alg');
  });

  it('should refuse HS256 signed with the public key as the HMAC secret', async () => {
    expect(await reasonFor(await issuer.sign(pushClaims(), { alg: 'HS256' }))).toBe('alg');
  });

  it('should not refetch Google keys for a kid seen within the refresh cooldown', async () => {
    const rotating = await startTestIssuer();
    try {
      const cached = new GoogleOidcVerifier({
        jwksUrl: rotating.jwksUrl,
        audience: AUDIENCE,
        allowedEmails: [PUSH_SA],
      });
      await cached.verify(await rotating.sign(pushClaims()));
      await rotating.rotate();
      // Picking the new key up after the cooldown is covered with an injected clock in jwt-keys.spec.ts.
      await expect(cached.verify(await rotating.sign(pushClaims()))).rejects.toMatchObject({ reason: 'kid' });
      expect(rotating.fetchCount).toBe(1);
    } finally {
      await rotating.close();
    }
  });

  it('should answer with a transient error when Google keys cannot be fetched', async () => {
    const down = await startTestIssuer();
    try {
      down.failWith(503);
      const cold = new GoogleOidcVerifier({ jwksUrl: down.jwksUrl, audience: AUDIENCE, allowedEmails: [PUSH_SA] });
      const error = await cold.verify(await down.sign(pushClaims())).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyFetchError);
      expect(error).toMatchObject({ status: 503, code: 'unavailable' });
    } finally {
      await down.close();
    }
  });
});

describe('verifyGoogleIdToken (admin sign-in)', () => {
  let issuer: TestIssuer;
  let keys: RemoteKeySource;
  const CLIENT_ID = '1234567890-admin.apps.googleusercontent.com';

  beforeAll(async () => {
    issuer = await startTestIssuer();
    keys = new RemoteKeySource({ url: issuer.jwksUrl });
  });
  afterAll(() => issuer.close());

  it('should return email and hosted domain without an allow-list', async () => {
    const token = await issuer.sign({
      iss: 'https://accounts.google.com',
      aud: CLIENT_ID,
      sub: '1078',
      email: 'ops@seller.example',
      email_verified: true,
      hd: 'seller.example',
    });
    await expect(verifyGoogleIdToken(token, { keys, audience: CLIENT_ID })).resolves.toEqual({
      email: 'ops@seller.example',
      sub: '1078',
      aud: CLIENT_ID,
      hd: 'seller.example',
    });
  });

  it('should leave hd out for consumer accounts and still require a verified email', async () => {
    const claims = { iss: 'accounts.google.com', aud: CLIENT_ID, sub: '1079', email: 'someone@gmail.com' };
    const ok = await verifyGoogleIdToken(await issuer.sign({ ...claims, email_verified: true }), {
      keys,
      audience: CLIENT_ID,
    });
    expect(ok).not.toHaveProperty('hd');
    await expect(
      verifyGoogleIdToken(await issuer.sign({ ...claims, email_verified: false }), { keys, audience: CLIENT_ID }),
    ).rejects.toMatchObject({ reason: 'claim:email_verified' });
  });
});
