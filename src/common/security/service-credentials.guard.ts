import { createHash, timingSafeEqual } from 'node:crypto';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { AppError } from '../errors/app-error.js';
import type { HttpRequest } from '../http.js';
import type { AppLogger } from '../logging/app-logger.js';
import { GoogleOidcVerifier } from './jwt/google-oidc.js';
import { InvalidTokenError } from './jwt/jwt-verifier.js';

/** The authenticated service caller, set by a ServiceCredentialsGuard: `sa:<email>` or `api-key:<n>`. */
export type ServiceRequest = HttpRequest & { serviceCaller?: string };

export interface ServiceCredentialsOptions {
  /** What the endpoint is, for messages: "link", "usage". */
  endpoint: string;
  /** Names the settings that turn the endpoint on, for the 404 when it is off. */
  settings: string;
  apiKeys: string[] | undefined;
  audience: string | undefined;
  allowedCallers: string[] | undefined;
  jwksUrl: string;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Service-to-service credentials (`Authorization: Bearer …`): a static API key (compared in constant time, every
 * key checked), or a Google ID token for the audience from an allowed service account. No or bad credentials →
 * 401; a Google token of another account → 403; neither configured → 404.
 */
export abstract class ServiceCredentialsGuard implements CanActivate {
  private readonly oidc?: GoogleOidcVerifier;
  private readonly apiKeyDigests: Buffer[];

  protected constructor(
    private readonly options: ServiceCredentialsOptions,
    private readonly logger: AppLogger,
  ) {
    if (options.audience && options.allowedCallers?.length) {
      this.oidc = new GoogleOidcVerifier({
        jwksUrl: options.jwksUrl,
        audience: options.audience,
        allowedEmails: options.allowedCallers,
      });
    }
    this.apiKeyDigests = (options.apiKeys ?? []).map(digest);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { endpoint } = this.options;
    if (!this.oidc && this.apiKeyDigests.length === 0) {
      throw new AppError('not_found', `The ${endpoint} endpoint is not configured (${this.options.settings})`);
    }
    const request = context.switchToHttp().getRequest<ServiceRequest>();
    const header = request.headers.authorization;
    const credential = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!credential) throw new AppError('unauthenticated', 'Service credentials required (Authorization: Bearer)');

    const keyNumber = this.apiKeyNumber(credential);
    if (keyNumber) {
      request.serviceCaller = `api-key:${keyNumber}`;
      return true;
    }
    if (this.oidc && JWT_SHAPE.test(credential)) {
      try {
        request.serviceCaller = `sa:${(await this.oidc.verify(credential)).email}`;
        return true;
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
        this.logger.warning(`${endpoint} call refused`, { reason: error.reason });
        throw new AppError(
          error.reason === 'claim:email' ? 'forbidden' : 'unauthenticated',
          'Invalid service credentials',
        );
      }
    }
    this.logger.warning(`${endpoint} call refused`, { reason: 'api key' });
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
