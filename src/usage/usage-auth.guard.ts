import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { ServiceCredentialsGuard } from '../common/security/service-credentials.guard.js';
import { AppConfig } from '../config/app-config.js';

/**
 * Credentials of `POST /usage/v1/records`: the product backend's service credentials, the same mechanism as
 * `POST /marketplace/link` (a static API key from USAGE_API_KEYS, or a Google ID token for USAGE_AUDIENCE from a
 * service account in USAGE_ALLOWED_CALLERS). Admin identities are not accepted: the backend is no admin.
 */
@Injectable()
export class UsageAuthGuard extends ServiceCredentialsGuard {
  constructor(config: AppConfig, logger: AppLogger) {
    const { USAGE_API_KEYS, USAGE_AUDIENCE, USAGE_ALLOWED_CALLERS, GOOGLE_OIDC_JWKS_URL } = config.env;
    super(
      {
        endpoint: 'usage',
        settings: 'USAGE_API_KEYS or USAGE_AUDIENCE',
        apiKeys: USAGE_API_KEYS,
        audience: USAGE_AUDIENCE,
        allowedCallers: USAGE_ALLOWED_CALLERS,
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
      },
      logger,
    );
  }
}
