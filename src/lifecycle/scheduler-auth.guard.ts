import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { GoogleOidcGuard } from '../common/security/google-oidc.guard.js';
import { AppConfig } from '../config/app-config.js';

/** Cloud Scheduler's HTTP jobs: OIDC token of SCHEDULER_SERVICE_ACCOUNT for SCHEDULER_AUDIENCE. */
@Injectable()
export class SchedulerAuthGuard extends GoogleOidcGuard {
  constructor(config: AppConfig, logger: AppLogger) {
    const { SCHEDULER_AUDIENCE, SCHEDULER_SERVICE_ACCOUNT, GOOGLE_OIDC_JWKS_URL } = config.env;
    super(
      {
        caller: 'scheduler',
        audience: SCHEDULER_AUDIENCE,
        serviceAccount: SCHEDULER_SERVICE_ACCOUNT,
        jwksUrl: GOOGLE_OIDC_JWKS_URL,
        setting: 'SCHEDULER_AUDIENCE',
      },
      logger,
    );
  }
}
