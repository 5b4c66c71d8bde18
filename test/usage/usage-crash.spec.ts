import { afterAll, describe, expect, it } from '@jest/globals';
import { operationId } from '../../src/usage/usage-windows.js';
import { startFakeServiceControl } from '../../tools/fake-service-control/server.js';
import { ServiceProcess, snapshotBuild } from '../chaos/service-process.js';
import { HOUR, reportsOf, startUsageApp } from './support.js';

/**
 * A crash between the report call and its record: the service as the container runs it (dist/service.cjs, its
 * in-process timer running the reporter) is SIGKILLed while Google holds the report's answer. The re-run must not
 * send that window again: Google may already bill it.
 */
describe('Usage reporter killed between the report call and its record', () => {
  const build = snapshotBuild();
  afterAll(() => build.remove());

  it('should leave the window uncertain and never report its operation id a second time', async () => {
    const fake = await startFakeServiceControl();
    const realNow = Date.now();
    const app = await startUsageApp({ fake, now: new Date(realNow - 2 * HOUR) });
    const child = new ServiceProcess(build.main, {
      ...app.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      CONFIG_DIR: 'config',
      FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST!,
      PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST!,
      LIFECYCLE_TIMER_SECONDS: '1',
    });
    try {
      const id = await app.buy('e-900');
      await app.jobs.reportUsage(); // opens usage/{id} two hours ago
      const usage = await app.usage.getUsage(id);
      const start = new Date(Math.floor(usage!.since.getTime() / HOUR) * HOUR);
      const op = operationId(id, 'api_calls', start);
      expect(
        (
          await app.post([
            {
              entitlementId: id,
              id: 'k1',
              metric: 'api_calls',
              value: 42,
              time: new Date(realNow - 90 * 60_000).toISOString(),
            },
          ])
        ).status,
      ).toBe(200);

      fake.holdReports(true);
      await child.start();
      const deadline = Date.now() + 20_000;
      while (reportsOf(fake, op).received === 0) {
        if (Date.now() > deadline) throw new Error(`the child never reported:\n${child.lastOutput()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await child.kill();
      fake.holdReports(false);
      expect((await app.windows(id)).map((w) => [w.id, w.state])).toEqual([
        [`api_calls:${start.getTime()}`, 'sending'],
      ]);

      // The re-run, past the dead sender's lease.
      app.clock.set(new Date(Date.now() + 2 * 60_000));
      const rerun = await app.jobs.reportUsage();
      expect(rerun.windows).toMatchObject({ uncertain: 1, reported: 0 });
      expect(rerun.serviceControlCalls.report).toBe(0);
      await app.jobs.reportUsage();
      expect(reportsOf(fake, op).received).toBe(1);
      const [window] = await app.windows(id);
      expect(window).toMatchObject({ state: 'uncertain', value: '42', operationId: op });
      expect((await app.usage.getUsage(id))?.checkpoints.api_calls).toEqual(window!.end);
    } finally {
      await child.kill();
      await app.close();
      await fake.close();
    }
  }, 60_000);
});
