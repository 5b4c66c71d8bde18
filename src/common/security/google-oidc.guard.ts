import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { AppError } from '../errors/app-error.js';
import type { AppLogger } from '../logging/app-logger.js';
import { GoogleOidcVerifier } from './jwt/google-oidc.js';
import { InvalidTokenError } from './jwt/jwt-verifier.js';
import type { HttpRequest } from '../http.js';

export interface GoogleOidcGuardOptions {
  /** What the endpoint is, for messages: "push", "scheduler". */
  caller: string;
  audience: string | undefined;
  serviceAccount: string | undefined;
  jwksUrl: string;
  /** Names the setting that turns the endpoint on, for the 404 when it is off. */
  setting: string;
}

/**
 * Base of the guards for Google-signed OIDC callers (Pub/Sub push, Cloud Scheduler): signature,
 * issuer, audience, `email` = the configured service account, `email_verified`. Without the
 * configuration the endpoint does not exist (404). A token of another account is 403, any other
 * bad token 401; the reason is logged, never the token.
 */
export abstract class GoogleOidcGuard implements CanActivate {
  private readonly verifier?: GoogleOidcVerifier;

  protected constructor(
    private readonly options: GoogleOidcGuardOptions,
    private readonly logger: AppLogger,
  ) {
    if (options.audience && options.serviceAccount) {
      this.verifier = new GoogleOidcVerifier({
        jwksUrl: options.jwksUrl,
        audience: options.audience,
        allowedEmails: [options.serviceAccount],
      });
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.verifier)
      throw new AppError(
        'not_found',
        `The ${this.options.caller} endpoint is not configured (${this.options.setting})`,
      );
    const header = context.switchToHttp().getRequest<HttpRequest>().headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    try {
      await this.verifier.verify(token);
      return true;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.logger.warning(`${this.options.caller} request refused`, { reason: error.reason });
      throw new AppError(
        error.reason === 'claim:email' ? 'forbidden' : 'unauthenticated',
        `Invalid ${this.options.caller} token`,
      );
    }
  }
}
