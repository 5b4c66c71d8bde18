import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PubSub } from '@google-cloud/pubsub';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fakeGcloud } from '../../tools/fake-gcloud/harness.js';
import { emptyPolicy } from '../../tools/fake-gcloud/state.js';
import { uniqueProjectId } from '../support/app.js';
// @ts-expect-error plain ESM helper without types
import { freePort } from '../../scripts/emulators.mjs';
import { renderedEnv } from './description.js';

const SECRETS = {
  PURCHASELY_SECRETS: 'smoke-purchasely-secret-0001,smoke-purchasely-secret-0002',
  EASYCART_SIGNING_KEYS: 'smoke-easycart-signing-key-01',
  GETCOURSE_PATH_TOKEN: 'smoke-getcourse-path-token-000000001',
  MARKETPLACE_LINK_SECRET: 'smoke-link-secret-0123456789abcdef0123456789',
  LINK_API_KEYS: 'smoke-link-api-key-0123456789abcdef0123456789',
  SUBJECT_KEY_SECRET: 'smoke-subject-key-secret-0123456789abcdef',
};
const ADMIN_KEY = 'ek_smoke_operator_key_0123456789';

function run(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['scripts/smoke.sh', ...args], { env: { PATH: process.env.PATH, ...env } });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `status check` pairs of the smoke script's lines. */
const verdicts = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => line.split(':')[0]!.split(/\s+/).join(' '));

describe('scripts/smoke.sh against the built service started with the production description (deploy/service.yaml)', () => {
  const projectId = uniqueProjectId('smoke');
  let service: ChildProcess;
  let output = '';
  let url: string;
  let page: Server;
  let pageUrl: string;

  beforeAll(async () => {
    // The pull consumer's subscription (setup-gcp.sh creates it on Google's topic; here on the emulator).
    const pubsub = new PubSub({ projectId });
    const [topic] = await pubsub.createTopic('marketplace');
    await topic.createSubscription('marketplace-events');
    await pubsub.close();
    // The product's sign-up page, which buyers land on.
    page = createServer((req, res) => res.writeHead(req.url === '/marketplace/welcome' ? 200 : 404).end('welcome'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(page.address() as { port: number }).port}/marketplace/welcome`;

    const port = String(await freePort());
    const description = renderedEnv({ projectId });
    service = spawn(process.execPath, ['dist/service.cjs'], {
      env: {
        PATH: process.env.PATH,
        FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
        PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
        // What Cloud Run provides: the port, and the secrets the description mounts.
        PORT: port,
        ...description.values,
        ...SECRETS,
        ADMIN_API_KEYS: `smoke:viewer:${createHash('sha256').update(ADMIN_KEY).digest('hex')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    service.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`${url}/health/ready`).catch(() => undefined);
      if (ready?.status === 200) break;
      if (Date.now() > deadline || service.exitCode !== null) throw new Error(`the service did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  afterAll(async () => {
    service?.kill('SIGTERM');
    if (service && service.exitCode === null) await new Promise((r) => service.once('exit', r));
    await new Promise((r) => page?.close(r));
  });

  it('should say ok for health, each provider, sign-up and admin, and exit 0', async () => {
    const result = await run([url], {
      SMOKE_PURCHASELY_SECRET: 'smoke-purchasely-secret-0002',
      SMOKE_EASYCART_KEY: SECRETS.EASYCART_SIGNING_KEYS,
      SMOKE_GETCOURSE_TOKEN: SECRETS.GETCOURSE_PATH_TOKEN,
      SMOKE_SIGNUP_PAGE: pageUrl,
      SMOKE_ADMIN_KEY: ADMIN_KEY,
    });
    expect({ out: result.stdout, err: result.stderr, code: result.code }).toMatchObject({ code: 0 });
    expect(verdicts(result.stdout)).toEqual([
      'ok health',
      'ok purchasely',
      'ok easycart',
      'ok getcourse',
      'ok sign-up',
      'ok admin',
    ]);
    expect(result.stdout).toMatch(/^ok +purchasely: signed test event → 200 applied \(test product smoke-test/m);
    expect(result.stdout).toContain('as smoke (viewer)');
    // A second run goes through the ledger again (new event ids), on the same test entitlements.
    const again = await run([url], {
      SMOKE_GETCOURSE_TOKEN: SECRETS.GETCOURSE_PATH_TOKEN,
      SMOKE_ADMIN_KEY: ADMIN_KEY,
      SMOKE_SIGNUP_PAGE: pageUrl,
    });
    expect(verdicts(again.stdout)).toEqual([
      'ok health',
      'skipped purchasely',
      'skipped easycart',
      'ok getcourse',
      'ok sign-up',
      'ok admin',
    ]);
    expect(again.code).toBe(0);
  });

  it('should name what is wrong, one line each, and exit 1', async () => {
    const result = await run([url], {
      SMOKE_PURCHASELY_SECRET: 'not-the-purchasely-secret-0001',
      SMOKE_EASYCART_KEY: SECRETS.EASYCART_SIGNING_KEYS,
      SMOKE_GETCOURSE_TOKEN: 'not-the-getcourse-path-token-00000001',
      SMOKE_SIGNUP_PAGE: `${pageUrl}-gone`,
      SMOKE_ADMIN_KEY: 'ek_not_a_key_the_service_knows_0001',
    });
    expect(result.code).toBe(1);
    expect(verdicts(result.stdout)).toEqual([
      'ok health',
      'problem purchasely',
      'ok easycart',
      'problem getcourse',
      'problem sign-up',
      'problem admin',
    ]);
    expect(result.stdout).toMatch(/^problem +purchasely: HTTP 401 .*\(the secret does not match/m);
    expect(result.stdout).toMatch(/^problem +sign-up: GET .*-gone: HTTP 404/m);
    expect(result.stdout).toMatch(/^problem +admin: GET \/admin\/v1\/me: HTTP 401 .*\(the credential is not one/m);
    const none = await run([url], {});
    expect(none.stdout).toMatch(/^problem +admin: no credential: set SMOKE_ADMIN_KEY/m);
  });

  it('should read, with --project, the secrets and the sign-up page of the deployed service (fake gcloud)', async () => {
    const fake = fakeGcloud({ projectId: 'acme-prod' });
    try {
      // What the deploy left: the service as described, its secrets with their values.
      const deployed = renderedEnv({ projectId: 'acme-prod' }).doc;
      const container = deployed.spec.template.spec.containers[0]!;
      container.env = container.env.map((e) =>
        e.name === 'MARKETPLACE_SIGNUP_REDIRECT_URL' ? { name: e.name, value: pageUrl } : e,
      );
      fake.update((p) => {
        p.enabledApis.push('run.googleapis.com', 'secretmanager.googleapis.com');
        for (const e of container.env) {
          const ref = e.valueFrom?.secretKeyRef;
          const value = SECRETS[e.name as keyof typeof SECRETS];
          if (ref && value) p.secrets[ref.name] = { versions: [{ data: value, state: 'ENABLED' }], iam: emptyPolicy() };
        }
        p.runServices['europe-west1/marketplace-entitlements'] = {
          description: deployed as unknown as Record<string, unknown>,
          url,
          deterministicUrl: url,
          revisions: ['marketplace-entitlements-00001-abc'],
          traffic: [{ revisionName: 'marketplace-entitlements-00001-abc', percent: 100 }],
          iam: emptyPolicy(),
        };
      });
      const result = await run([url, '--project', 'acme-prod'], { ...fake.env, SMOKE_ADMIN_KEY: ADMIN_KEY });
      expect({ out: result.stdout, err: result.stderr, code: result.code }).toMatchObject({ code: 0 });
      expect(verdicts(result.stdout)).toEqual([
        'ok health',
        'ok purchasely',
        'ok easycart',
        'ok getcourse',
        'ok sign-up',
        'ok admin',
      ]);
      expect(
        fake.calls().map((c) =>
          c.argv
            .filter((a) => !a.startsWith('-'))
            .slice(0, 3)
            .join(' '),
        ),
      ).toEqual([
        'run services describe',
        'secrets versions access',
        'secrets versions access',
        'secrets versions access',
      ]);
      // A project without the service: one line says so, the checks that need no gcloud still run.
      fake.update((p) => (p.runServices = {}));
      const missing = await run([url, '--project=acme-prod'], { ...fake.env, SMOKE_ADMIN_KEY: ADMIN_KEY });
      expect(missing.stdout.split('\n')[0]).toMatch(
        /^problem +gcloud: could not read the deployed service: .*Cannot find service/,
      );
      expect(missing.code).toBe(1);
    } finally {
      fake.close();
    }
  });

  it('should keep answering the old health paths for local tools (Cloud Run probes the new ones)', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ok', firestore: 'ok' });
  });

  it('should say the service cannot be reached, and refuse a malformed URL', async () => {
    const closed = `http://127.0.0.1:${String(await freePort())}`;
    const result = await run([closed], { SMOKE_ADMIN_KEY: ADMIN_KEY });
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^problem +health: \/health\/live: could not connect \(ECONNREFUSED\)/,
    );
    const bad = await run(['not-a-url'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a service URL: not-a-url');
  });
});
