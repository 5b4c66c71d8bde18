import { importJWK, importX509, type CryptoKey } from 'jose';
import { TransientError } from '../../errors/app-error.js';

export interface KeySourceTuning {
  timeoutMs: number;
  defaultTtlSec: number;
  minTtlSec: number;
  maxTtlSec: number;
  refreshCooldownSec: number;
}

export const KEY_SOURCE_DEFAULTS: KeySourceTuning = {
  /** A slow key endpoint must not hold requests; the caller answers 503 and the sender retries. */
  timeoutMs: 3_000,
  /** When the response carries no max-age. */
  defaultTtlSec: 300,
  /** Floor: a max-age of 0 must not turn every request into a fetch. */
  minTtlSec: 60,
  /** Ceiling: a key the issuer withdraws stops being trusted within this time, whatever max-age said. */
  maxTtlSec: 6 * 3600,
  /** At most one fetch per period for unknown kids or after a failure, so forged kids cannot hammer the URL. */
  refreshCooldownSec: 30,
};

/** The signing keys could not be fetched: not the token's fault, so 503 and a retry, never 401. */
export class KeyFetchError extends TransientError {
  constructor(message: string, cause?: unknown) {
    super(`Signing keys unavailable: ${message}`, cause);
    this.name = 'KeyFetchError';
  }
}

/** Where a verifier finds the RS256 public key for a token's `kid`. */
export abstract class KeySource {
  /** The key, or undefined when the issuer does not publish that kid. Throws KeyFetchError when keys cannot be had. */
  abstract getKey(kid: string): Promise<CryptoKey | undefined>;
}

export interface RemoteKeySourceOptions extends Partial<KeySourceTuning> {
  /** Pinned by configuration; never taken from a token (its `iss` or `jku` would let the sender pick the keys). */
  url: string;
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/**
 * Keys fetched from a pinned URL serving either Google format: a JWKS (`{keys: [...]}`, e.g. the OIDC certs) or
 * a robot-metadata x509 map (`{kid: "-----BEGIN CERTIFICATE-----..."}`), told apart by the body.
 */
export class RemoteKeySource extends KeySource {
  private readonly url: string;
  private readonly tuning: KeySourceTuning;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private keys = new Map<string, CryptoKey>();
  private expiresAt = 0;
  private lastAttemptAt = -Infinity;
  private lastError: KeyFetchError | undefined;
  private inflight: Promise<void> | undefined;

  constructor({ url, fetch: fetchImpl, now, ...tuning }: RemoteKeySourceOptions) {
    super();
    this.url = url;
    this.tuning = { ...KEY_SOURCE_DEFAULTS, ...tuning };
    this.fetch = fetchImpl ?? ((input, init) => fetch(input, init));
    this.now = now ?? Date.now;
  }

  async getKey(kid: string): Promise<CryptoKey | undefined> {
    const now = this.now();
    const coolingDown = now - this.lastAttemptAt < this.tuning.refreshCooldownSec * 1000;
    if (this.inflight) {
      await this.inflight;
    } else if (now >= this.expiresAt) {
      if (coolingDown && this.lastError) throw this.lastError;
      await this.refresh();
    } else if (!this.keys.has(kid) && !coolingDown) {
      await this.refresh();
    }
    return this.keys.get(kid);
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.lastAttemptAt = this.now();
    try {
      const response = await this.fetch(this.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.tuning.timeoutMs),
      });
      if (!response.ok) throw new KeyFetchError(`${this.url} answered HTTP ${response.status}`);
      const keys = await importKeyDocument(await response.json());
      if (keys.size === 0) throw new KeyFetchError(`${this.url} published no usable RS256 key`);
      this.keys = keys;
      this.expiresAt = this.now() + this.ttlSec(response.headers.get('cache-control')) * 1000;
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof KeyFetchError ? error : new KeyFetchError(this.describe(error), error);
      throw this.lastError;
    }
  }

  private ttlSec(cacheControl: string | null): number {
    const maxAge = /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl ?? '')?.[1];
    const ttl = maxAge === undefined ? this.tuning.defaultTtlSec : Number(maxAge);
    return Math.min(Math.max(ttl, this.tuning.minTtlSec), this.tuning.maxTtlSec);
  }

  private describe(error: unknown): string {
    // By name, not instanceof: fetch's errors may come from another realm (undici, jest's vm).
    const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
    if (name === 'TimeoutError') return `${this.url} did not answer within ${this.tuning.timeoutMs} ms`;
    if (name === 'SyntaxError') return `${this.url} answered with a body that is not JSON`;
    return `${this.url}: ${typeof message === 'string' ? message : String(error)}`;
  }
}

async function importKeyDocument(body: unknown): Promise<Map<string, CryptoKey>> {
  if (!isRecord(body)) throw new KeyFetchError('key document is not a JSON object');
  let pending: [string, Promise<CryptoKey>][];
  if (Array.isArray(body.keys)) {
    pending = body.keys.filter(isRs256SigningJwk).map((jwk) => [jwk.kid, importJWK(jwk, 'RS256')]);
  } else if (Object.values(body).every((v) => typeof v === 'string' && v.includes('-----BEGIN CERTIFICATE-----'))) {
    pending = Object.entries(body as Record<string, string>).map(([kid, pem]) => [kid, importX509(pem, 'RS256')]);
  } else {
    throw new KeyFetchError('key document is neither a JWKS nor an x509 certificate map');
  }
  const keys = new Map<string, CryptoKey>();
  // One malformed entry must not take the others down with it; it just stays unusable.
  const settled = await Promise.allSettled(pending.map(([, key]) => key));
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled' && isStrongRsaKey(result.value)) keys.set(pending[i]![0], result.value);
  });
  return keys;
}

/** Web Crypto imports degenerate RSA keys (even an empty modulus) without complaint; jose would only fail at use. */
function isStrongRsaKey(key: CryptoKey): boolean {
  return ((key.algorithm as { modulusLength?: number }).modulusLength ?? 0) >= 2048;
}

interface RsaSigningJwk {
  kid: string;
  kty: 'RSA';
  n: string;
  e: string;
  alg?: string;
  use?: string;
}

function isRs256SigningJwk(jwk: unknown): jwk is RsaSigningJwk {
  return (
    isRecord(jwk) &&
    typeof jwk.kid === 'string' &&
    jwk.kty === 'RSA' &&
    (jwk.alg === undefined || jwk.alg === 'RS256') &&
    (jwk.use === undefined || jwk.use === 'sig')
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
