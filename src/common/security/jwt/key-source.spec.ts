import { beforeAll, describe, expect, it } from '@jest/globals';
import { createTestKey, type TestKey } from '../../../../test/support/test-issuer.js';
import { TransientError } from '../../errors/app-error.js';
import { KeyFetchError, RemoteKeySource, type RemoteKeySourceOptions } from './key-source.js';

const URL = 'https://keys.example/certs';

/** A scripted key endpoint: each call answers with the current `respond()` and is counted. */
function fakeEndpoint(respond: () => Response | Promise<Response>) {
  const calls: { url: string; signal: AbortSignal | null | undefined }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: input instanceof Request ? input.url : input.toString(), signal: init?.signal });
    return respond();
  };
  return { fetch, calls };
}

function json(body: unknown, cacheControl?: string, status = 200): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cacheControl) headers['cache-control'] = cacheControl;
  return new Response(JSON.stringify(body), { status, headers });
}

const jwks = (...keys: TestKey[]) => ({ keys: keys.map((k) => k.jwk) });

function source(fetch: typeof globalThis.fetch, clock: { ms: number }, options: Partial<RemoteKeySourceOptions> = {}) {
  return new RemoteKeySource({ url: URL, fetch, now: () => clock.ms, ...options });
}

describe('RemoteKeySource', () => {
  let a: TestKey;
  let b: TestKey;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestKey(), createTestKey()]);
  });

  it('should fetch the pinned URL once and serve keys from cache until max-age passes', async () => {
    const clock = { ms: 0 };
    const endpoint = fakeEndpoint(() => json(jwks(a), 'public, max-age=600, must-revalidate'));
    const keys = source(endpoint.fetch, clock);

    expect(await keys.getKey(a.kid)).toBeDefined();
    clock.ms = 599_000;
    expect(await keys.getKey(a.kid)).toBeDefined();
    expect(endpoint.calls.map((c) => c.url)).toEqual([URL]);

    clock.ms = 600_000;
    await keys.getKey(a.kid);
    expect(endpoint.calls).toHaveLength(2);
  });

  it('should hold max-age between the floor and the ceiling, and use the default without one', async () => {
    const cases = [
      { cacheControl: 'max-age=0', keptMs: 60_000 },
      { cacheControl: 'no-store', keptMs: 300_000 },
      { cacheControl: undefined, keptMs: 300_000 },
      { cacheControl: 'public, max-age=999999999', keptMs: 21_600_000 },
    ];
    for (const { cacheControl, keptMs } of cases) {
      const clock = { ms: 0 };
      const endpoint = fakeEndpoint(() => json(jwks(a), cacheControl));
      const keys = source(endpoint.fetch, clock);
      await keys.getKey(a.kid);
      clock.ms = keptMs - 1;
      await keys.getKey(a.kid);
      expect(endpoint.calls).toHaveLength(1);
      clock.ms = keptMs;
      await keys.getKey(a.kid);
      expect(endpoint.calls).toHaveLength(2);
    }
  });

  it('should refetch on an unknown kid and find a key the issuer rotated in', async () => {
    const clock = { ms: 0 };
    let published = jwks(a);
    const endpoint = fakeEndpoint(() => json(published, 'max-age=3600'));
    const keys = source(endpoint.fetch, clock);
    await keys.getKey(a.kid);

    published = jwks(a, b);
    clock.ms = 31_000;
    expect(await keys.getKey(b.kid)).toBeDefined();
    expect(endpoint.calls).toHaveLength(2);
  });

  it('should refetch for unknown kids at most once per cooldown', async () => {
    const clock = { ms: 0 };
    const endpoint = fakeEndpoint(() => json(jwks(a), 'max-age=3600'));
    const keys = source(endpoint.fetch, clock);
    await keys.getKey(a.kid);

    clock.ms = 30_000;
    for (let i = 0; i < 100; i++) expect(await keys.getKey(`forged-${i}`)).toBeUndefined();
    expect(endpoint.calls).toHaveLength(2);

    clock.ms = 59_999;
    await keys.getKey('forged-again');
    expect(endpoint.calls).toHaveLength(2);
    clock.ms = 60_000;
    await keys.getKey('forged-again');
    expect(endpoint.calls).toHaveLength(3);
  });

  it('should coalesce concurrent refreshes into one fetch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const endpoint = fakeEndpoint(async () => {
      await gate;
      return json(jwks(a, b), 'max-age=3600');
    });
    const keys = source(endpoint.fetch, { ms: 0 });

    const lookups = Array.from({ length: 50 }, (_, i) => keys.getKey(i % 2 ? a.kid : `unknown-${i}`));
    release();
    const found = await Promise.all(lookups);
    expect(endpoint.calls).toHaveLength(1);
    expect(found.filter(Boolean)).toHaveLength(25);
  });

  it('should read the x509 certificate map of Google robot metadata', async () => {
    const endpoint = fakeEndpoint(() => json({ [a.kid]: a.certificatePem, [b.kid]: b.certificatePem }, 'max-age=3600'));
    const keys = source(endpoint.fetch, { ms: 0 });
    const key = await keys.getKey(b.kid);
    expect(key?.type).toBe('public');
    expect(key?.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5' });
  });

  it('should skip keys that are not RS256 signing keys or do not import', async () => {
    const endpoint = fakeEndpoint(() =>
      json({
        keys: [
          { ...a.jwk, kid: 'enc', use: 'enc' },
          { ...a.jwk, kid: 'ps256', alg: 'PS256' },
          { kid: 'ec', kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
          { ...a.jwk, kid: 'broken', n: '' },
          { ...a.jwk, kid: 'weak', n: 'AQAB' },
          b.jwk,
        ],
      }),
    );
    const keys = source(endpoint.fetch, { ms: 0 });
    for (const kid of ['enc', 'ps256', 'ec', 'broken', 'weak']) expect(await keys.getKey(kid)).toBeUndefined();
    expect(await keys.getKey(b.kid)).toBeDefined();
  });

  it('should report unusable answers as a transient KeyFetchError', async () => {
    const answers: [string, () => Response | Promise<Response>][] = [
      ['HTTP 503', () => json({ error: 'backend' }, undefined, 503)],
      ['not JSON', () => new Response('<html>', { status: 200 })],
      ['not a JSON object', () => json(['a'])],
      ['neither a JWKS nor', () => json({ kid: 'not a certificate' })],
      ['no usable RS256 key', () => json({ keys: [] })],
      ['network down', () => Promise.reject(new TypeError('network down'))],
    ];
    for (const [message, respond] of answers) {
      const keys = source(fakeEndpoint(respond).fetch, { ms: 0 });
      const error = await keys.getKey(a.kid).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyFetchError);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toContain(message);
    }
  });

  it('should give up on a key endpoint that does not answer within the timeout', async () => {
    const endpoint = fakeEndpoint(() => new Promise<Response>(() => undefined));
    const hanging: typeof fetch = (input, init) => {
      void endpoint.fetch(input, init);
      return new Promise((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      );
    };
    const keys = source(hanging, { ms: 0 }, { timeoutMs: 20 });
    await expect(keys.getKey(a.kid)).rejects.toThrow(/did not answer within 20 ms/);
    expect(endpoint.calls[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it('should not refetch during the cooldown after a failure, then recover', async () => {
    const clock = { ms: 0 };
    let down = true;
    const endpoint = fakeEndpoint(() => (down ? json({}, undefined, 500) : json(jwks(a), 'max-age=3600')));
    const keys = source(endpoint.fetch, clock);

    for (let i = 0; i < 10; i++) await expect(keys.getKey(a.kid)).rejects.toBeInstanceOf(KeyFetchError);
    expect(endpoint.calls).toHaveLength(1);

    down = false;
    clock.ms = 30_000;
    expect(await keys.getKey(a.kid)).toBeDefined();
    expect(endpoint.calls).toHaveLength(2);
  });

  it('should keep serving cached keys when a refresh for an unknown kid fails', async () => {
    const clock = { ms: 0 };
    let down = false;
    const endpoint = fakeEndpoint(() => (down ? json({}, undefined, 500) : json(jwks(a), 'max-age=3600')));
    const keys = source(endpoint.fetch, clock);
    await keys.getKey(a.kid);

    down = true;
    clock.ms = 30_000;
    await expect(keys.getKey(b.kid)).rejects.toBeInstanceOf(KeyFetchError);
    expect(await keys.getKey(a.kid)).toBeDefined();
  });
});
