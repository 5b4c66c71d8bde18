import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { AppError } from '../../errors/app-error.js';
import type { KeySource } from './key-source.js';

/** Google's tokens are about 1 KB; the bound keeps parsing cheap on hostile input. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

const OWN_REASON_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf']);
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export type InvalidTokenReason =
  'malformed' | 'alg' | 'kid' | 'signature' | 'iss' | 'aud' | 'exp' | 'iat' | 'nbf' | `claim:${string}`;

/**
 * The token is not acceptable (401). `reason` is short and safe to log; the message stays generic so a caller
 * learns nothing about which check failed.
 */
export class InvalidTokenError extends AppError {
  constructor(readonly reason: InvalidTokenReason) {
    super('unauthenticated', 'Invalid token');
    this.name = 'InvalidTokenError';
  }
}

export interface VerifyJwtOptions {
  keys: KeySource;
  issuers: readonly string[];
  audience: string;
  clockToleranceSec?: number;
  /** Reject tokens whose `iat` is older than this, whatever their `exp` says. */
  maxTokenAgeSec?: number;
  /** Claims that must be present and not empty (e.g. `sub` of the Marketplace sign-up token). */
  requiredClaims?: readonly string[];
  /** Milliseconds since the epoch. */
  now?: () => number;
}

export interface VerifiedClaims extends JWTPayload {
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
}

/**
 * Verifies an RS256 JWT: signature with a key from `keys` (never from the token's own headers), `iss` among
 * `issuers`, `aud`, `exp`/`nbf`/`iat` within the tolerance. Throws InvalidTokenError, or KeyFetchError (transient)
 * when the keys cannot be fetched.
 */
export async function verifyJwt(token: string | undefined, options: VerifyJwtOptions): Promise<VerifiedClaims> {
  const { keys, issuers, audience, clockToleranceSec = 60, maxTokenAgeSec, requiredClaims = [] } = options;
  if (issuers.length === 0 || !audience) throw new TypeError('verifyJwt needs at least one issuer and an audience');
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
    throw new InvalidTokenError('malformed');
  }
  const header = decodeHeader(token);
  // Decided before any key is looked up: `none` and HS256 (the public key used as an HMAC secret) never get that far.
  if (header.alg !== 'RS256') throw new InvalidTokenError('alg');
  if (typeof header.kid !== 'string' || header.kid === '') throw new InvalidTokenError('kid');
  const key = await keys.getKey(header.kid);
  if (!key) throw new InvalidTokenError('kid');

  const nowMs = options.now?.() ?? Date.now();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['RS256'],
      issuer: [...issuers],
      audience,
      clockTolerance: clockToleranceSec,
      maxTokenAge: maxTokenAgeSec,
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(nowMs),
    }));
  } catch (error) {
    throw toInvalidTokenError(error);
  }
  // jose checks a future `iat` only together with maxTokenAge; a token from the future is never fine.
  if ((payload.iat as number) > nowMs / 1000 + clockToleranceSec) throw new InvalidTokenError('iat');
  for (const name of requiredClaims) {
    const value = payload[name];
    if (value === undefined || value === null || value === '') throw new InvalidTokenError(`claim:${name}`);
  }
  return payload as VerifiedClaims;
}

function decodeHeader(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new InvalidTokenError('malformed');
  }
}

function toInvalidTokenError(error: unknown): unknown {
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError('signature');
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) {
    return new InvalidTokenError(
      OWN_REASON_CLAIMS.has(error.claim) ? (error.claim as InvalidTokenReason) : `claim:${error.claim}`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError('alg');
  if (error instanceof errors.JOSEError) return new InvalidTokenError('malformed');
  return error;
}
