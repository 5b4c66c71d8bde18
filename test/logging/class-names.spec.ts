import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { uniqueProjectId } from '../support/app.js';
// @ts-expect-error plain ESM helper without types
import { freePort } from '../../scripts/emulators.mjs';

/** The bundle as the container runs it (`node dist/service.cjs`): Nest's lines name classes as written. */
describe('class names in the bundle’s log lines', () => {
  it('should log CoreModule, not CoreModule2, with every line in JSON', async () => {
    const child = spawn(process.execPath, ['dist/service.cjs'], {
      env: {
        ...process.env,
        GOOGLE_CLOUD_PROJECT: uniqueProjectId('names'),
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        K_SERVICE: 'entitlements',
        K_REVISION: 'entitlements-00001-abc',
        PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!output.includes('successfully started') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const lines = output
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const messages = lines.map((l) => String(l['message']));
    expect(messages).toContain('CoreModule dependencies initialized');
    expect(messages).toContain('AdminModule dependencies initialized');
    const contexts = lines.map((l) => String(l['context']));
    expect(contexts).toContain('RoutesResolver');
    expect(contexts).toContain('InstanceLoader');
    expect(contexts.filter((c) => /^_|\d$/.test(c))).toEqual([]);
    expect(messages.filter((m) => /\b[A-Z]\w*(Module|Controller|Service)\d+\b/.test(m))).toEqual([]);
    expect(messages.some((m) => /^PurchaselyController \{\/webhooks\/purchasely\}/.test(m))).toBe(true);
  }, 60_000);
});
