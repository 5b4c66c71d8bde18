import { Injectable } from '@nestjs/common';
import { AppLogger } from '../../common/logging/app-logger.js';
import { ServiceCredentialsGuard, type ServiceRequest } from '../../common/security/service-credentials.guard.js';
import { AppConfig } from '../../config/app-config.js';

/** The authenticated caller of the link endpoint, set by LinkAuthGuard: `sa:<email>` or `api-key:<n>`. */
export type LinkRequest = ServiceRequest;

/**
 * Service-to-service credentials of `POST /marketplace/link` (`Authorization: Bearer …`): a static API key from
 * LINK_API_KEYS, or a Google ID token for LINK_AUDIENCE from a service account in LINK_ALLOWED_CALLERS.
 */
@Injectable()
export class LinkAuthGuard extends ServiceCredentialsGuard {
  constructor(config: AppConfig, logger: AppLogger) {
    const { LINK_AUDIENCE, LINK_ALLOWED_CALLERS, LINK_API_KEYS, GOOGLE_OIDC_JWKS_URL } = config.env;
    super(
      {
        endpoint: 'link',
        settings: 'LINK_API_KEYS or LINK_AUDIENCE',
        apiKeys: LINK_API_KEYS,
        audience: LINK_AUDIENCE,
        allowedCallers: LINK_ALLOWED_CALLERS,
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
      },
      logger,
    );
  }
}
