import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import { memoryLogger } from '../../../test/support/app.js';
import type { AppConfig } from '../../config/app-config.js';
import { ProcurementError } from './procurement-errors.js';
import { ProcurementClient } from './procurement.client.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ProcurementClient transport', () => {
  it('should report an unreachable API as a transient network error naming the cause', async () => {
    const config = {
      env: {
        MARKETPLACE_PROVIDER_ID: 'p',
        PROCUREMENT_ROOT_URL: `http://127.0.0.1:${await closedPort()}/`,
        PROCUREMENT_STATIC_TOKEN: 't',
      },
    } as unknown as AppConfig;
    const { logger, lines } = memoryLogger('info');
    const error = await new ProcurementClient(config, logger).getEntitlement('e-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcurementError);
    expect((error as ProcurementError).retryable).toBe(true);
    expect((error as ProcurementError).message).toBe(
      'entitlements.get providers/p/entitlements/e-1: network error (ECONNREFUSED)',
    );
    // One line for the call, after its last attempt: what the "Procurement API calls failing" alert counts.
    expect(lines().filter((l) => l['message'] === 'procurement call failed')).toEqual([
      expect.objectContaining({
        severity: 'WARNING',
        method: 'entitlements.get',
        kind: 'transient',
        attempts: 4,
        error: 'entitlements.get providers/p/entitlements/e-1: network error (ECONNREFUSED)',
      }),
    ]);
  }, 20_000);

  it('should refuse an id that can never name a resource before sending, as never retryable', async () => {
    const config = {
      env: {
        MARKETPLACE_PROVIDER_ID: 'p',
        PROCUREMENT_ROOT_URL: `http://127.0.0.1:${await closedPort()}/`,
        PROCUREMENT_STATIC_TOKEN: 't',
      },
    } as unknown as AppConfig;
    const { logger, lines } = memoryLogger('info');
    const client = new ProcurementClient(config, logger);
    for (const id of ['..', '.', 'a/b', 'x:approve', '']) {
      const error = await client.getEntitlement(id).catch((e: unknown) => e);
      expect({ id, kind: (error as ProcurementError).kind, retryable: (error as ProcurementError).retryable }).toEqual({
        id,
        kind: 'invalid_name',
        retryable: false,
      });
    }
    await expect(client.approveAccount('../x')).rejects.toMatchObject({ kind: 'invalid_name' });
    // Refused before sending: nothing was called, nothing failed at Google.
    expect(lines().filter((l) => l['message'] === 'procurement call failed')).toEqual([]);
  });
});
