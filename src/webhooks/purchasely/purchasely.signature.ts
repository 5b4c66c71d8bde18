import { hmacSha256Hex, matchesAnyKey, safeEqualHex } from '../../common/security/hmac.js';

/** Request headers Purchasely signs with (Node lower-cases header names). */
export const PURCHASELY_HEADERS = {
  signature: 'x-purchasely-request-signature',
  timestamp: 'x-purchasely-timestamp',
  /** Deprecated by Purchasely: HMAC(secret, secret + timestamp), does not cover the body. */
  deprecatedSignature: 'x-purchasely-signature',
} as const;

export interface PurchaselySignedRequest {
  rawBody: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  deprecatedSignature: string | undefined;
}

export interface PurchaselySignatureOptions {
  /** Shared secrets; two during a rotation. */
  secrets: readonly string[];
  now: Date;
  /** Largest accepted distance between `x-purchasely-timestamp` and `now`, either direction. */
  toleranceSeconds: number;
  /** Also accept the two schemes Purchasely has deprecated (PURCHASELY_ALLOW_DEPRECATED_SIGNATURES). */
  allowDeprecated: boolean;
}

export type PurchaselySignatureScheme =
  /** Current: hex HMAC-SHA256(secret, timestamp + raw body) in x-purchasely-request-signature. */
  | 'timestamp-body'
  /** Deprecated (old docs): HMAC(secret, secret + raw body) in x-purchasely-request-signature, no timestamp. */
  | 'secret-body'
  /** Deprecated: HMAC(secret, secret + timestamp) in x-purchasely-signature; the body is not covered. */
  | 'secret-timestamp';

/** What failed, as a stable token (refusal counters are kept per problem). */
export type PurchaselySignatureProblem =
  | 'not_configured'
  | 'missing_signature'
  | 'deprecated_signature_refused'
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'bad_signature';

export type PurchaselySignatureResult =
  { ok: true; scheme: PurchaselySignatureScheme } | { ok: false; problem: PurchaselySignatureProblem; reason: string };

/**
 * Verifies a Purchasely webhook request. Pure: the clock and the secrets come in. Every
 * comparison is constant-time and tries every secret. Reasons name what failed, never a value.
 */
export function verifyPurchaselySignature(
  request: PurchaselySignedRequest,
  options: PurchaselySignatureOptions,
): PurchaselySignatureResult {
  const { secrets, allowDeprecated } = options;
  if (!secrets.length) return { ok: false, problem: 'not_configured', reason: 'no shared secret configured' };
  const { signature, timestamp, deprecatedSignature, rawBody } = request;

  if (signature && timestamp !== undefined) {
    const window = checkWindow(timestamp, options);
    if (!window.ok) return window;
    if (matchesAnyKey(signature, secrets, Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]))) {
      return { ok: true, scheme: 'timestamp-body' };
    }
  }
  if (allowDeprecated) {
    if (
      signature &&
      matchesPerKey(signature, secrets, (secret) => Buffer.concat([Buffer.from(secret, 'utf8'), rawBody]))
    ) {
      return { ok: true, scheme: 'secret-body' };
    }
    if (deprecatedSignature && timestamp !== undefined) {
      const window = checkWindow(timestamp, options);
      if (!window.ok) return window;
      if (matchesPerKey(deprecatedSignature, secrets, (secret) => secret + timestamp)) {
        return { ok: true, scheme: 'secret-timestamp' };
      }
    }
  }

  if (!signature) {
    return deprecatedSignature
      ? {
          ok: false,
          problem: 'deprecated_signature_refused',
          reason: `only the deprecated ${PURCHASELY_HEADERS.deprecatedSignature} header was sent, and deprecated signatures are not accepted`,
        }
      : { ok: false, problem: 'missing_signature', reason: `missing ${PURCHASELY_HEADERS.signature} header` };
  }
  if (timestamp === undefined && !allowDeprecated)
    return { ok: false, problem: 'missing_timestamp', reason: `missing ${PURCHASELY_HEADERS.timestamp} header` };
  return { ok: false, problem: 'bad_signature', reason: 'signature does not match any configured secret' };
}

/**
 * The documented timestamp is in seconds since the epoch. A 13-digit value is read as
 * milliseconds, so a change of unit on Purchasely's side would not lock every event out.
 */
function checkWindow(
  timestamp: string,
  options: PurchaselySignatureOptions,
): { ok: true } | { ok: false; problem: PurchaselySignatureProblem; reason: string } {
  if (!/^\d{1,16}$/.test(timestamp))
    return { ok: false, problem: 'malformed_timestamp', reason: `malformed ${PURCHASELY_HEADERS.timestamp} header` };
  const value = Number(timestamp);
  const ms = value >= 1e11 ? value : value * 1000;
  const skewSeconds = Math.abs(options.now.getTime() - ms) / 1000;
  if (skewSeconds > options.toleranceSeconds) {
    return {
      ok: false,
      problem: 'stale_timestamp',
      reason: `${PURCHASELY_HEADERS.timestamp} is ${Math.round(skewSeconds)} s away from now (tolerance ${options.toleranceSeconds} s)`,
    };
  }
  return { ok: true };
}

/** Like `matchesAnyKey`, for schemes whose signed message itself contains the secret. */
function matchesPerKey(
  received: string,
  secrets: readonly string[],
  message: (secret: string) => Buffer | string,
): boolean {
  let ok = false;
  for (const secret of secrets) ok = safeEqualHex(received, hmacSha256Hex(secret, message(secret))) || ok;
  return ok;
}
