import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Link tokens: `base64url(payload).base64url(HMAC-SHA256)`, payload `{v, acct, nonce, exp}`. The signature and
 * `exp` are checked here, without any I/O; single use is the store's job (`linkTokens/{nonce}`).
 */
export interface LinkTokenPayload {
  accountId: string;
  nonce: string;
  expiresAt: Date;
}

export type LinkTokenCheck =
  { ok: true; payload: LinkTokenPayload } | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

const VERSION = 1;
/** Keeps hostile input cheap; a real token is about 150 characters. */
const MAX_LENGTH = 1024;
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;

/** 144 random bits. */
export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

export function signLinkToken(secret: string, payload: LinkTokenPayload): string {
  const body = Buffer.from(
    JSON.stringify({
      v: VERSION,
      acct: payload.accountId,
      nonce: payload.nonce,
      exp: Math.floor(payload.expiresAt.getTime() / 1000),
    }),
  ).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

export function readLinkToken(secret: string, token: unknown, now: Date): LinkTokenCheck {
  if (typeof token !== 'string' || token.length > MAX_LENGTH || !SHAPE.test(token))
    return { ok: false, reason: 'malformed' };
  const [body, signature] = token.split('.') as [string, string];
  const received = Buffer.from(signature, 'base64url');
  const expected = mac(secret, body);
  // Canonical encoding only: otherwise the unused low bits of the last character give several spellings of one token.
  if (received.toString('base64url') !== signature || !timingSafeEqual(received, expected)) {
    return { ok: false, reason: 'signature' };
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { v, acct, nonce, exp } = (claims ?? {}) as Record<string, unknown>;
  if (
    v !== VERSION ||
    typeof acct !== 'string' ||
    acct.length === 0 ||
    typeof nonce !== 'string' ||
    !NONCE.test(nonce) ||
    typeof exp !== 'number' ||
    !Number.isSafeInteger(exp)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, payload: { accountId: acct, nonce, expiresAt: new Date(exp * 1000) } };
}

function mac(secret: string, body: string): Buffer {
  // A purpose prefix, so the same secret could never be made to sign something else that verifies here.
  return createHmac('sha256', secret).update(`marketplace-link.v${VERSION}.${body}`).digest();
}
