import { KeyObject, randomBytes, sign as rsaSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, base64url, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** The same paths as Google's endpoints, so a URL in a test reads like the production one. */
export const JWKS_PATH = '/oauth2/v3/certs';
export const X509_PATH = '/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
  certificatePem: string;
  spkiPem: string;
}

export interface SignOptions {
  /** Header kid; defaults to the key's own (use an unknown one to test kid handling). */
  kid?: string;
  /** `none` and `HS256` make attack tokens: HS256 uses the public key PEM as the HMAC secret. */
  alg?: 'RS256' | 'HS256' | 'none';
  /** Extra or overriding header parameters. */
  header?: Record<string, unknown>;
}

/** An RS256 key as Google publishes it: a JWK and a self-signed certificate for the same public key. */
export async function createTestKey(kid = randomBytes(20).toString('hex')): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    certificatePem: selfSignedCertificate(KeyObject.from(publicKey), KeyObject.from(privateKey)),
    spkiPem: await exportSPKI(publicKey),
  };
}

/**
 * A compact JWT over exactly `claims`, plus `iat` (now) and `exp` (in an hour) unless `claims` names them;
 * pass them as `undefined` to leave them out.
 */
export async function signToken(
  key: TestKey,
  claims: Record<string, unknown>,
  options: SignOptions = {},
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const payload = { iat, exp: iat + 3600, ...claims };
  const alg = options.alg ?? 'RS256';
  const header = { alg, kid: options.kid ?? key.kid, typ: 'JWT', ...options.header };
  if (alg === 'none') {
    return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
  }
  const secret = alg === 'HS256' ? new TextEncoder().encode(key.spkiPem) : key.privateKey;
  return new SignJWT(payload).setProtectedHeader(header).sign(secret);
}

export interface TestIssuerOptions {
  /** Cache-Control max-age of the key documents. */
  maxAgeSec?: number;
}

export interface TestIssuer {
  jwksUrl: string;
  x509Url: string;
  /** Requests served on either key URL, failed ones included. */
  readonly fetchCount: number;
  readonly currentKey: TestKey;
  /** Signed with the current key unless `key` is given (e.g. a `foreignKey()` to forge). */
  sign(claims: Record<string, unknown>, options?: SignOptions & { key?: TestKey }): Promise<string>;
  /** A new current key; earlier keys stay published, as Google overlaps them during rotation. */
  rotate(): Promise<TestKey>;
  /** Answer the key URLs with this status (e.g. 503) until called with no argument. */
  failWith(status?: number): void;
  close(): Promise<void>;
}

/** Faithful fake of Google's key endpoints on 127.0.0.1, serving one key set as JWKS and as an x509 map. */
export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const maxAgeSec = options.maxAgeSec ?? 21_600;
  const keys = [await createTestKey()];
  let fetchCount = 0;
  let failure: number | undefined;

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const body =
      path === JWKS_PATH
        ? { keys: keys.map((k) => k.jwk) }
        : path === X509_PATH
          ? Object.fromEntries(keys.map((k) => [k.kid, k.certificatePem]))
          : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    fetchCount++;
    if (failure) {
      res.writeHead(failure, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=UTF-8',
      'cache-control': `public, max-age=${maxAgeSec}, must-revalidate, no-transform`,
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    jwksUrl: `${base}${JWKS_PATH}`,
    x509Url: `${base}${X509_PATH}`,
    get fetchCount() {
      return fetchCount;
    },
    get currentKey() {
      return keys.at(-1)!;
    },
    sign: (claims, { key, ...signOptions } = {}) => signToken(key ?? keys.at(-1)!, claims, signOptions),
    rotate: async () => {
      const key = await createTestKey();
      keys.push(key);
      return key;
    },
    failWith: (status) => {
      failure = status;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * A minimal X.509 v1 certificate (sha256WithRSAEncryption, subject = issuer = CN) in PEM, built by hand in DER:
 * node:crypto can read certificates but not make them, and this keeps tests free of an openssl process.
 */
function selfSignedCertificate(publicKey: KeyObject, privateKey: KeyObject): string {
  const sha256WithRsa = seq(tlv(0x06, Buffer.from('2a864886f70d01010b', 'hex')), tlv(0x05));
  const name = seq(tlv(0x31, seq(tlv(0x06, Buffer.from('550403', 'hex')), tlv(0x0c, Buffer.from('test-issuer')))));
  const now = Date.now();
  const tbs = seq(
    tlv(0x02, Buffer.concat([Buffer.from([1]), randomBytes(8)])),
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 14 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const der = seq(tbs, sha256WithRsa, tlv(0x03, Buffer.from([0]), rsaSign('sha256', tbs, privateKey)));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const length = [];
  for (let n = body.length; n > 0; n >>= 8) length.unshift(n & 0xff);
  const prefix = body.length < 0x80 ? [body.length] : [0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from([tag, ...prefix]), body]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);

/** YYMMDDHHMMSSZ */
function utcTime(date: Date): Buffer {
  return tlv(0x17, Buffer.from(`${date.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));
}

/**
 * A Google ID token as Cloud Scheduler or a Pub/Sub push subscription sends it: for `aud`, of the service
 * account `email` (verified), valid for an hour from now (real time: the guards check it against the wall clock).
 */
export function serviceAccountToken(issuer: TestIssuer, aud: string, email: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return issuer.sign({
    iss: 'https://accounts.google.com',
    aud,
    email,
    email_verified: true,
    sub: '1234567890',
    iat: now,
    exp: now + 3600,
  });
}
