import { RemoteKeySource, type KeySource } from './key-source.js';
import { InvalidTokenError, verifyJwt } from './jwt-verifier.js';

/** Google ID tokens carry either spelling of the issuer. */
export const GOOGLE_ID_TOKEN_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;
export const GOOGLE_OIDC_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

export interface GoogleIdToken {
  email: string;
  sub: string;
  aud: string;
  /** Google Workspace domain of the account, absent for consumer accounts. */
  hd?: string;
}

export interface VerifyGoogleIdTokenOptions {
  keys: KeySource;
  audience: string;
  clockToleranceSec?: number;
  now?: () => number;
}

/**
 * A Google-signed ID token for `audience` with a verified email. Who may call is the caller's decision
 * (an allow-list of service accounts, an admin list or a Workspace domain via `hd`).
 */
export async function verifyGoogleIdToken(
  token: string | undefined,
  options: VerifyGoogleIdTokenOptions,
): Promise<GoogleIdToken> {
  const claims = await verifyJwt(token, {
    ...options,
    issuers: GOOGLE_ID_TOKEN_ISSUERS,
    requiredClaims: ['sub', 'email'],
  });
  if (typeof claims.sub !== 'string') throw new InvalidTokenError('claim:sub');
  if (typeof claims.email !== 'string') throw new InvalidTokenError('claim:email');
  // Google's push sample requires the boolean itself; anything else (absent, "true") is refused.
  if (claims.email_verified !== true) throw new InvalidTokenError('claim:email_verified');
  return {
    email: claims.email,
    sub: claims.sub,
    aud: options.audience,
    ...(typeof claims.hd === 'string' ? { hd: claims.hd } : {}),
  };
}

export interface GoogleOidcVerifierOptions {
  jwksUrl?: string;
  audience: string;
  /** Service accounts allowed to call (Pub/Sub push, Cloud Scheduler); compared case-insensitively. */
  allowedEmails: readonly string[];
  clockToleranceSec?: number;
}

/**
 * Checks the OIDC token Pub/Sub push or Cloud Scheduler sends as `Authorization: Bearer`: Google's signature,
 * issuer, audience, then (as Google's sample does explicitly) the service-account email and `email_verified`.
 */
export class GoogleOidcVerifier {
  private readonly keys: KeySource;
  private readonly allowedEmails: ReadonlySet<string>;

  constructor(private readonly options: GoogleOidcVerifierOptions) {
    if (options.allowedEmails.length === 0) throw new TypeError('GoogleOidcVerifier needs at least one allowed email');
    this.keys = new RemoteKeySource({ url: options.jwksUrl ?? GOOGLE_OIDC_JWKS_URL });
    this.allowedEmails = new Set(options.allowedEmails.map((e) => e.toLowerCase()));
  }

  async verify(token: string | undefined): Promise<Omit<GoogleIdToken, 'hd'>> {
    const { email, sub, aud } = await verifyGoogleIdToken(token, {
      keys: this.keys,
      audience: this.options.audience,
      clockToleranceSec: this.options.clockToleranceSec,
    });
    if (!this.allowedEmails.has(email.toLowerCase())) throw new InvalidTokenError('claim:email');
    return { email, sub, aud };
  }
}
