import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  entitlementWhere,
  PRODUCT,
  PROVIDER,
  startMarketplaceStack,
  type MarketplaceStack,
} from '../support/marketplace.js';

const APPROVER = { name: 'local-approver', key: 'local-approver-key-for-this-test-only-000' };

/**
 * `npm run simulate -- approve|reject <id>` against a running service, with the local approver key it reads
 * from the sandbox's state file (as `npm run local` writes it), never typed by the user.
 */
describe('npm run simulate -- approve|reject', () => {
  let stack: MarketplaceStack;
  let dir: string;
  let stateFile: string;

  beforeAll(async () => {
    stack = await startMarketplaceStack({
      pull: true,
      env: { ADMIN_LOCAL_KEYS: `${APPROVER.name}:approver:${APPROVER.key}` },
    });
    dir = mkdtempSync(join(tmpdir(), 'sandbox-'));
    stateFile = join(dir, 'sandbox.json');
    writeFileSync(
      stateFile,
      JSON.stringify({
        project: stack.projectId,
        provider: PROVIDER,
        adminKeys: { approver: APPROVER },
        pid: process.pid,
        PORT: new URL(stack.app.url).port,
        FAKE_PORT: new URL(stack.fake.url).port,
      }),
    );
  });
  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Not spawnSync: the service under test runs in this process.
  const simulate = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['scripts/simulate.mjs', ...args], {
        env: { ...process.env, LOCAL_SANDBOX_FILE: stateFile },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  async function parked(): Promise<string> {
    const { accountId } = await stack.simulator.signUpAccount();
    stack.fake.state.setSignupState(PROVIDER, accountId!, 'APPROVED');
    const { entitlementId } = await stack.simulator.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval');
    return entitlementId!;
  }

  it('should approve a parked purchase as the local approver', async () => {
    const id = await parked();
    const result = await simulate('approve', id);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toContain(`approved gcp:${id} as local-approver`);
    expect(stack.fake.countCalls('entitlements.approve', id)).toBe(1);
  });

  it('should reject one with a reason, and say why when the service refuses', async () => {
    const id = await parked();
    const result = await simulate('reject', `gcp:${id}`, '--reason', 'not a customer of ours');
    expect(result.status).toBe(0);
    expect(stack.fake.countCalls('entitlements.reject', id)).toBe(1);
    await entitlementWhere(stack.store, id, (e) => e.status === 'rejected');
    const again = await simulate('approve', id);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^approve refused \(409\): /);
  });
});
