import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { verifyGoogleIdToken } from '../../common/security/jwt/google-oidc.js';
import { RemoteKeySource, type KeySource } from '../../common/security/jwt/key-source.js';
import { InvalidTokenError } from '../../common/security/jwt/jwt-verifier.js';
import { AppConfig } from '../../config/app-config.js';
import { AccessList, sha256Hex } from './access-list.js';
import type { Principal } from './roles.js';

const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export interface Credentials {
  authorization?: string;
  apiKey?: string;
}

/**
 * Turns request credentials into a principal. An `x-api-key` header wins over `Authorization`: on a
 * Cloud Run service that requires IAM, `Authorization` carries the invoker's token for Cloud Run
 * itself, so automation sends its key beside it. A bearer value shaped like a JWT is a Google ID
 * token; anything else is an API key.
 */
@Injectable()
export class AdminAuthenticator {
  private readonly access: AccessList;
  private readonly audience?: string;
  private readonly keys?: KeySource;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const env = config.env;
    this.access = new AccessList({
      approvers: env.ADMIN_APPROVERS,
      viewers: env.ADMIN_VIEWERS,
      // The sandbox's local keys (refused by the production config) are named keys like any other.
      apiKeys: [
        ...env.ADMIN_API_KEYS,
        ...env.ADMIN_LOCAL_KEYS.map((k) => ({ name: k.name, role: k.role, sha256: sha256Hex(k.key) })),
      ],
    });
    if (env.ADMIN_AUDIENCE) {
      this.audience = env.ADMIN_AUDIENCE;
      this.keys = new RemoteKeySource({ url: env.GOOGLE_OIDC_JWKS_URL });
    }
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    if (credentials.apiKey !== undefined) return this.byKey(credentials.apiKey.trim());
    const header = credentials.authorization?.trim();
    const bearer = header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (!bearer) {
      throw new AppError(
        'unauthenticated',
        'Credentials required: Authorization: Bearer <Google ID token or API key>, or x-api-key',
      );
    }
    return COMPACT_JWS.test(bearer) ? this.byIdToken(bearer) : this.byKey(bearer);
  }

  private byKey(presented: string): Principal {
    const key = presented ? this.access.keyFor(presented) : null;
    if (!key) {
      this.logger.warning('admin request refused', { reason: 'unknown api key' });
      throw new AppError('unauthenticated', 'Unknown API key');
    }
    return { kind: 'api-key', id: key.name, role: key.role };
  }

  private async byIdToken(token: string): Promise<Principal> {
    if (!this.keys || !this.audience || !this.access.acceptsUsers) {
      throw new AppError(
        'unauthenticated',
        'Google ID tokens are not accepted here (ADMIN_AUDIENCE / ADMIN_APPROVERS / ADMIN_VIEWERS are not set)',
      );
    }
    let identity: { email: string; hd?: string };
    try {
      identity = await verifyGoogleIdToken(token, { keys: this.keys, audience: this.audience });
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        this.logger.warning('admin request refused', { reason: error.reason });
        throw new AppError('unauthenticated', 'Invalid token');
      }
      throw error; // KeyFetchError: Google's keys unreachable, 503
    }
    const role = this.access.roleOfUser(identity.email, identity.hd);
    if (!role) {
      this.logger.warning('admin request refused', { reason: 'not an admin', email: identity.email });
      throw new AppError('forbidden', `${identity.email} is not allowed to use the admin API`);
    }
    return { kind: 'user', id: identity.email.toLowerCase(), role };
  }
}
