import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { GoogleOidcVerifier } from '../../common/security/jwt/google-oidc.js';
import { InvalidTokenError } from '../../common/security/jwt/jwt-verifier.js';
import { AppConfig } from '../../config/app-config.js';

/**
 * Every push request carries a Google-signed OIDC token (`Authorization: Bearer`): signature,
 * issuer, audience, `email` = the configured push service account, `email_verified`.
 */
@Injectable()
export class PushAuthGuard implements CanActivate {
  private readonly verifier?: GoogleOidcVerifier;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const { PUSH_AUDIENCE, PUSH_SERVICE_ACCOUNT, GOOGLE_OIDC_JWKS_URL } = config.env;
    if (PUSH_AUDIENCE && PUSH_SERVICE_ACCOUNT) {
      this.verifier = new GoogleOidcVerifier({
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
        audience: PUSH_AUDIENCE,
        allowedEmails: [PUSH_SERVICE_ACCOUNT],
      });
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.verifier) throw new AppError('not_found', 'The push endpoint is not configured (PUSH_AUDIENCE)');
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    try {
      await this.verifier.verify(token);
      return true;
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        this.logger.warning('push request refused', { reason: error.reason });
        throw new AppError(error.reason === 'claim:email' ? 'forbidden' : 'unauthenticated', 'Invalid push token');
      }
      throw error;
    }
  }
}
