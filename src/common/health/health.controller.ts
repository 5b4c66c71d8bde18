import { Controller, Get, HttpCode } from '@nestjs/common';
import { TransientError } from '../errors/app-error.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';

/**
 * Health: liveness answers while the process runs; readiness needs Firestore. Cloud Run's probes
 * (deploy/service.yaml) use `/health/live` and `/health/ready`: Cloud Run reserves some paths ending
 * in `z` and advises against all of them, so `/healthz` and `/readyz` are only kept as aliases for
 * local tools that still call them (they may never reach the container behind Cloud Run's front end).
 */
export const HEALTH_PATHS = { live: 'health/live', ready: 'health/ready' } as const;

@Controller()
export class HealthController {
  constructor(private readonly store: EntitlementStore) {}

  @Get([HEALTH_PATHS.live, 'healthz'])
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get([HEALTH_PATHS.ready, 'readyz'])
  async ready(): Promise<{ status: 'ok'; firestore: 'ok' }> {
    try {
      await this.store.ping();
    } catch (error) {
      throw new TransientError('Firestore is not reachable', error);
    }
    return { status: 'ok', firestore: 'ok' };
  }
}
