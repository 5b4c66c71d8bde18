import { Injectable } from '@nestjs/common';
import { AppLogger } from '../../common/logging/app-logger.js';
import { GoogleOidcGuard } from '../../common/security/google-oidc.guard.js';
import { AppConfig } from '../../config/app-config.js';

/** Pub/Sub push: OIDC token of PUSH_SERVICE_ACCOUNT for PUSH_AUDIENCE on every request. */
@Injectable()
export class PushAuthGuard extends GoogleOidcGuard {
  constructor(config: AppConfig, logger: AppLogger) {
    const { PUSH_AUDIENCE, PUSH_SERVICE_ACCOUNT, GOOGLE_OIDC_JWKS_URL } = config.env;
    super(
      {
        caller: 'push',
        audience: PUSH_AUDIENCE,
        serviceAccount: PUSH_SERVICE_ACCOUNT,
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
        setting: 'PUSH_AUDIENCE',
      },
      logger,
    );
  }
}
