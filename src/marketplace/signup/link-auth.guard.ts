import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import type { HttpRequest } from '../../common/http.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { GoogleOidcVerifier } from '../../common/security/jwt/google-oidc.js';
import { InvalidTokenError } from '../../common/security/jwt/jwt-verifier.js';
import { AppConfig } from '../../config/app-config.js';

/** The authenticated caller of the link endpoint, set by LinkAuthGuard: `sa:<email>` or `api-key:<n>`. */
export type LinkRequest = HttpRequest & { linkCaller?: string };

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Service-to-service credentials of `POST /marketplace/link` (`Authorization: Bearer …`): a static API key from
 * LINK_API_KEYS (compared in constant time, every key checked), or a Google ID token for LINK_AUDIENCE from a
 * service account in LINK_ALLOWED_CALLERS. No or bad credentials → 401; a Google token of another account → 403.
 */
@Injectable()
export class LinkAuthGuard implements CanActivate {
  private readonly oidc?: GoogleOidcVerifier;
  private readonly apiKeyDigests: Buffer[];

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const { LINK_AUDIENCE, LINK_ALLOWED_CALLERS, LINK_API_KEYS, GOOGLE_OIDC_JWKS_URL } = config.env;
    if (LINK_AUDIENCE && LINK_ALLOWED_CALLERS?.length) {
      this.oidc = new GoogleOidcVerifier({
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
        audience: LINK_AUDIENCE,
        allowedEmails: LINK_ALLOWED_CALLERS,
      });
    }
    this.apiKeyDigests = (LINK_API_KEYS ?? []).map(digest);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.oidc && this.apiKeyDigests.length === 0) {
      throw new AppError('not_found', 'The link endpoint is not configured (LINK_API_KEYS or LINK_AUDIENCE)');
    }
    const request = context.switchToHttp().getRequest<LinkRequest>();
    const header = request.headers.authorization;
    const credential = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!credential) throw new AppError('unauthenticated', 'Service credentials required (Authorization: Bearer)');

    const keyNumber = this.apiKeyNumber(credential);
    if (keyNumber) {
      request.linkCaller = `api-key:${keyNumber}`;
      return true;
    }
    if (this.oidc && JWT_SHAPE.test(credential)) {
      try {
        request.linkCaller = `sa:${(await this.oidc.verify(credential)).email}`;
        return true;
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
        this.logger.warning('link call refused', { reason: error.reason });
        throw new AppError(
          error.reason === 'claim:email' ? 'forbidden' : 'unauthenticated',
          'Invalid service credentials',
        );
      }
    }
    this.logger.warning('link call refused', { reason: 'api key' });
    throw new AppError('unauthenticated', 'Invalid service credentials');
  }

  /** 1-based number of the matching key, or 0. Digests make the lengths equal; every key is compared. */
  private apiKeyNumber(credential: string): number {
    const received = digest(credential);
    let match = 0;
    this.apiKeyDigests.forEach((key, i) => {
      if (timingSafeEqual(received, key) && match === 0) match = i + 1;
    });
    return match;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
