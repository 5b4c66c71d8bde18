import { Injectable } from '@nestjs/common';
import { RemoteKeySource, type KeySource } from '../../common/security/jwt/key-source.js';
import { InvalidTokenError, verifyJwt } from '../../common/security/jwt/jwt-verifier.js';
import { AppConfig } from '../../config/app-config.js';
import { Clock } from '../../entitlements/clock.js';
import { isResourceId } from '../procurement/resource-names.js';
import { signupClaimsOf, type SignupClaims } from './signup-claims.js';
import { GOOGLE_SIGNUP_ISSUER, SIGNUP_DEFAULTS } from './signup.settings.js';

/**
 * Google's checks for `x-gcp-marketplace-token`: RS256 signature with a key from the pinned URL (refreshed on an
 * unknown `kid`), `iss` exactly Google's, `aud` = the product domain, `exp`/`iat` with a small skew, `sub` present.
 * Throws InvalidTokenError (401), or KeyFetchError (503) when the keys cannot be had.
 */
@Injectable()
export class SignupTokenVerifier {
  private readonly keys?: KeySource;
  private readonly audience?: string;
  private readonly issuer: string;

  constructor(
    config: AppConfig,
    private readonly clock: Clock,
  ) {
    const { MARKETPLACE_SIGNUP_AUDIENCE, MARKETPLACE_SIGNUP_KEYS_URL, MARKETPLACE_SIGNUP_ISSUER } = config.env;
    this.issuer = MARKETPLACE_SIGNUP_ISSUER ?? GOOGLE_SIGNUP_ISSUER;
    if (MARKETPLACE_SIGNUP_AUDIENCE) {
      this.audience = MARKETPLACE_SIGNUP_AUDIENCE;
      this.keys = new RemoteKeySource({ url: MARKETPLACE_SIGNUP_KEYS_URL });
    }
  }

  get configured(): boolean {
    return this.keys !== undefined;
  }

  async verify(token: string): Promise<SignupClaims> {
    if (!this.keys || !this.audience) throw new TypeError('SignupTokenVerifier is not configured');
    const claims = await verifyJwt(token, {
      keys: this.keys,
      issuers: [this.issuer],
      audience: this.audience,
      clockToleranceSec: SIGNUP_DEFAULTS.clockToleranceSec,
      maxTokenAgeSec: SIGNUP_DEFAULTS.maxTokenAgeSec,
      requiredClaims: ['sub'],
      now: () => this.clock.now().getTime(),
    });
    // The account id goes into Procurement resource names: one that could not name an account is refused, not escaped.
    if (typeof claims.sub !== 'string' || !isResourceId(claims.sub)) throw new InvalidTokenError('claim:sub');
    return signupClaimsOf({ ...claims, sub: claims.sub });
  }
}
