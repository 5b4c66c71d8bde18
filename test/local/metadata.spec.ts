import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PubSub } from '@google-cloud/pubsub';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { startFakeProcurement, type FakeProcurement } from '../../tools/fake-procurement/server.js';
import { freePort, snapshotBuild } from '../chaos/service-process.js';
import { uniqueProjectId } from '../support/app.js';

// Off Google Cloud, a Google client that looks for credentials asks the GCE metadata server and
// google-auth-library prints `MetadataLookupWarning: received unexpected error = … ENOTFOUND` on
// stderr: at every start of the local service and of `npm run simulate`. Pointed at the
// emulators, the clients now use no credentials at all (src/infrastructure/emulator-auth.ts).
describe('the local stack on the emulators (NODE_ENV=development, as npm run local starts it)', () => {
  const build = snapshotBuild();
  const projectId = uniqueProjectId('meta');
  const emulatorEnv = {
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST!,
    PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST!,
  };
  let fake: FakeProcurement;
  let service: ChildProcess;
  let port: number;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    const pubsub = new PubSub({ projectId });
    const [topic] = await pubsub.createTopic('marketplace');
    await topic.createSubscription('marketplace-sub');
    await pubsub.createTopic('changes');
    await pubsub.close();
    fake = await startFakeProcurement({ providerIds: ['demo-provider'] });
    port = await freePort();
    service = spawn(process.execPath, [build.main], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...emulatorEnv,
        GOOGLE_CLOUD_PROJECT: projectId,
        NODE_ENV: 'development',
        PORT: String(port),
        CONFIG_DIR: 'config',
        MARKETPLACE_PROVIDER_ID: 'demo-provider',
        MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
        PROCUREMENT_ROOT_URL: fake.url,
        PROCUREMENT_STATIC_TOKEN: 'local-sandbox',
        CHANGE_EVENTS_TOPIC: 'changes',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    service.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Up when /health/ready answers (Firestore read) and the pull consumer has opened its stream.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if ((ready && stdout.includes('pulling Marketplace notifications')) || service.exitCode !== null) break;
      if (Date.now() > deadline) throw new Error(`the service did not start:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    if (service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
    await fake.close();
    build.remove();
  });

  it('should start, read Firestore and pull from Pub/Sub without asking for a metadata server', async () => {
    expect(stdout).toContain('pulling Marketplace notifications');
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(await ready.json()).toEqual({ status: 'ok', firestore: 'ok' });
    // The first calls are where the clients resolved credentials; give a late warning time to show.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stderr).toBe('');
  });

  it('should log one readable line per event in development, not JSON', () => {
    const lines = stdout.trimEnd().split('\n');
    expect(lines.find((l) => l.includes('pulling Marketplace notifications'))).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}pulling Marketplace notifications subscription=marketplace-sub$/,
    );
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
  });

  it('should let the simulator publish and show without the warning either', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...emulatorEnv,
      GOOGLE_CLOUD_PROJECT: projectId,
      PROCUREMENT_URL: fake.url,
      PUBSUB_TOPIC: `projects/${projectId}/topics/marketplace`,
    };
    // Not spawnSync: the fake Procurement API answering the simulator runs in this process.
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['dist/tools/simulator/cli.js', ...args], { env, timeout: 30_000 });
    const bought = await cli(
      'buy',
      '--product',
      'demo-product.endpoints.demo-entitlements.cloud.goog',
      '--plan',
      'pro',
    );
    expect(bought.stderr).toBe('');
    expect(bought.stdout).toContain('entitlementId=');
    const shown = await cli('show');
    expect(shown.stderr).toBe('');
  });
});
