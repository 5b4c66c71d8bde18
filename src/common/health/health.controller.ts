import { Controller, Get, HttpCode } from '@nestjs/common';
import { TransientError } from '../errors/app-error.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';

/** Cloud Run probes: liveness answers while the process runs; readiness needs Firestore. */
@Controller()
export class HealthController {
  constructor(private readonly store: EntitlementStore) {}

  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(): Promise<{ status: 'ok'; firestore: 'ok' }> {
    try {
      await this.store.ping();
    } catch (error) {
      throw new TransientError('Firestore is not reachable', error);
    }
    return { status: 'ok', firestore: 'ok' };
  }
}
