import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fakeGcloud, type Call, type FakeGcloud } from '../../tools/fake-gcloud/harness.js';
import { renderedEnv } from './description.js';

const PROJECT = 'acme-prod';
const NUMBER = '123456789012';
const RUNTIME = `entitlements-runtime@${PROJECT}.iam.gserviceaccount.com`;
const SCHEDULER = `entitlements-scheduler@${PROJECT}.iam.gserviceaccount.com`;
const PUSH = `entitlements-push@${PROJECT}.iam.gserviceaccount.com`;
const GOOGLE_TOPIC = `projects/cloudcommerceproc-prod/topics/${PROJECT}`;
const REGION = 'europe-west1';
const SERVICE = 'marketplace-entitlements';
const TIMEOUT = 300_000;

/** The scripts, the description and the files they read, in a directory a test may change. */
function repoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'setup-gcp-'));
  for (const path of ['scripts', 'deploy', 'config', 'firestore.indexes.json']) {
    cpSync(path, join(dir, path), { recursive: true });
  }
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  return dir;
}

function setup(
  fake: FakeGcloud,
  root = '.',
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(root, 'scripts/setup-gcp.sh'), '--project', PROJECT, ...args], {
      env: fake.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What cloudbuild.yaml's render and deploy steps do, against the fake; secrets get a value first. */
function deploy(fake: FakeGcloud, root = '.'): void {
  for (const secret of Object.keys(fake.state().secrets)) {
    if (fake.state().secrets[secret]!.versions.length) continue;
    const added = fake.gcloud(
      [`--project=${PROJECT}`, 'secrets', 'versions', 'add', secret, '--data-file=-'],
      `value-of-${secret}-0123456789abcdef0123456789abcdef`,
    );
    expect(added.stderr).toContain('Created version');
  }
  const out = join(mkdtempSync(join(tmpdir(), 'render-')), 'service.yaml');
  const image = `${REGION}-docker.pkg.dev/${PROJECT}/entitlements/${SERVICE}:b1`;
  const render = spawnSync(
    process.execPath,
    [join(root, 'scripts/deploy-config.mjs'), 'render', `--project=${PROJECT}`, `--project-number=${NUMBER}`],
    { encoding: 'utf8', input: '' },
  );
  expect(render.status).toBe(2); // --image is required
  const rendered = spawnSync(
    process.execPath,
    [
      join(root, 'scripts/deploy-config.mjs'),
      'render',
      `--project=${PROJECT}`,
      `--project-number=${NUMBER}`,
      `--image=${image}`,
      `--out=${out}`,
      '--allow-example-values',
    ],
    { encoding: 'utf8' },
  );
  expect(rendered.stderr).toBe('');
  const replaced = fake.gcloud([`--project=${PROJECT}`, 'run', 'services', 'replace', out, `--region=${REGION}`]);
  expect({ code: replaced.code, stderr: replaced.stderr }).toMatchObject({ code: 0 });
  rmSync(dirname(out), { recursive: true, force: true });
}

const lineStatus = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => /^(ok|changed|skipped|PENDING|would) /.test(l))
    .map((l) => l.split(' ')[0]!);
const isRead = (c: Call) =>
  c.argv.some((a) => ['describe', 'list', 'get-iam-policy', 'get-value', 'access'].includes(a));
const joined = (c: Call) => c.argv.join(' ');
/** The command words of a call, without its flags: `scheduler jobs update http entitlements-expire`. */
const words = (c: Call, n: number) =>
  c.argv
    .filter((a) => !a.startsWith('-'))
    .slice(0, n)
    .join(' ');

/** The schedules docs/lifecycle.md's trigger table gives, by job name. */
function documentedSchedules(): Record<string, string> {
  const rows = readFileSync('docs/lifecycle.md', 'utf8').matchAll(
    /^\| `\/lifecycle\/v1\/([a-z-]+)` .*?\| `([^`]+)` /gm,
  );
  return Object.fromEntries([...rows].map((m) => [m[1]!, m[2]!]));
}

describe('scripts/setup-gcp.sh on an empty project (fake gcloud), deployed, run again', () => {
  let fake: FakeGcloud;
  const runs: { code: number | null; stdout: string; stderr: string; calls: Call[] }[] = [];

  beforeAll(async () => {
    fake = fakeGcloud({
      projectId: PROJECT,
      projectNumber: NUMBER,
      googleTopics: { [GOOGLE_TOPIC]: { admits: [RUNTIME] } },
    });
    const run = async () => {
      fake.clearCalls();
      const result = await setup(fake);
      runs.push({ ...result, calls: fake.calls() });
    };
    await run(); // 0: the empty project
    await run(); // 1: again, nothing deployed yet
    fake.clearCalls();
    deploy(fake);
    runs.push({ code: 0, stdout: '', stderr: '', calls: fake.calls() }); // 2: the first deploy
    await run(); // 3: after the deploy
    // Drift: a job pointed elsewhere by hand (or at the old script's placeholder).
    fake.update((p) => {
      p.schedulerJobs[`${REGION}/entitlements-expire`]!.httpTarget.uri = 'https://SERVICE_URL/lifecycle/v1/expire';
    });
    await run(); // 4: again
  }, TIMEOUT);
  afterAll(() => fake.close());

  it('should set up everything but what needs the service, and say what is left, on the first run', () => {
    const [first] = runs;
    expect({ code: first!.code, stderr: first!.stderr }).toEqual({ code: 0, stderr: '' });
    expect(first!.stdout).toMatch(/^PENDING {2}Partner Procurement API enabled: .*PERMISSION_DENIED/m);
    expect(first!.stdout).toMatch(/^skipped {2}Cloud Scheduler jobs .*known once it is deployed$/m);
    expect(first!.stdout).toContain('- Deploy (docs/operations.md, "Deploy"), then run this script again:');
    const state = fake.state();
    expect(state.firestore?.indexes.length).toBe(
      JSON.parse(readFileSync('firestore.indexes.json', 'utf8')).indexes.length,
    );
    expect(Object.keys(state.serviceAccounts).sort()).toEqual(
      [RUNTIME, SCHEDULER, `entitlements-deployer@${PROJECT}.iam.gserviceaccount.com`].sort(),
    );
    // The Marketplace subscription, created as the linked account (Google's topic admits no one else).
    const create = first!.calls.find((c) => joined(c).includes('pubsub subscriptions create marketplace-events'))!;
    expect(create.argv).toEqual(
      expect.arrayContaining([`--topic=${GOOGLE_TOPIC}`, `--impersonate-service-account=${RUNTIME}`]),
    );
    expect(state.subscriptions['marketplace-events']).toMatchObject({
      topic: GOOGLE_TOPIC,
      ackDeadlineSeconds: 60,
      expirationPolicy: {},
      deadLetterPolicy: {
        deadLetterTopic: `projects/${PROJECT}/topics/marketplace-dead-letter`,
        maxDeliveryAttempts: 10,
      },
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
      pushConfig: {},
    });
  });

  it('should change nothing when run again before the deploy', () => {
    const second = runs[1]!;
    expect(second.code).toBe(0);
    expect(second.calls.filter((c) => c.changed).map(joined)).toEqual([]);
    expect(lineStatus(second.stdout).filter((s) => s === 'changed')).toEqual([]);
  });

  it('should mount every secret it created, and let the runtime account read each', () => {
    const { secrets } = renderedEnv({ projectId: PROJECT });
    expect(Object.keys(fake.state().secrets).sort()).toEqual([...new Set(Object.values(secrets))].sort());
    // The deploy (cloudbuild.yaml's replace) went through: every secret existed, had a value, was readable.
    expect(runs[2]!.calls.at(-1)).toMatchObject({ code: 0, changed: true });
  });

  it('should bind on the service only once it exists, and fail no step on the way', () => {
    const all = runs.flatMap((r) => r.calls);
    const replaced = all.findIndex((c) => joined(c).includes('run services replace'));
    const bindings = all
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => joined(c).includes('run services add-iam-policy-binding'));
    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.every(({ i }) => i > replaced)).toBe(true);
    expect(bindings.map(({ c }) => c.code)).toEqual(bindings.map(() => 0));
    // Failed calls are reads of what does not exist yet, or the two steps that wait on Google.
    const failedWrites = all.filter((c) => c.code !== 0 && !isRead(c)).map(joined);
    expect(
      failedWrites.filter(
        (c) => !/services enable cloudcommerceprocurement|endpoints services add-iam-policy-binding/.test(c),
      ),
    ).toEqual([]);
  });

  it('should point every Scheduler job at the deployed service, on the schedules docs/lifecycle.md gives', () => {
    const third = runs[3]!;
    expect({ code: third.code, stderr: third.stderr }).toEqual({ code: 0, stderr: '' });
    const state = fake.state();
    const url = state.runServices[`${REGION}/${SERVICE}`]!.url;
    const { values } = renderedEnv({ projectId: PROJECT, projectNumber: NUMBER });
    const jobs = Object.values(state.schedulerJobs);
    const schedules = documentedSchedules();
    expect(Object.keys(schedules).sort()).toEqual([
      'check-decisions',
      'expire',
      'expiring',
      'publish-outbox',
      'reconcile',
      'report-usage',
    ]);
    expect(jobs.map((j) => j.name.split('/').at(-1)).sort()).toEqual(
      Object.keys(schedules)
        .map((n) => `entitlements-${n}`)
        .sort(),
    );
    for (const job of jobs) {
      const name = job.name
        .split('/')
        .at(-1)!
        .replace(/^entitlements-/, '');
      expect(job).toMatchObject({
        schedule: schedules[name],
        timeZone: 'Etc/UTC',
        attemptDeadline: '300s',
        httpTarget: {
          uri: `${url}/lifecycle/v1/${name}`,
          httpMethod: 'POST',
          oidcToken: { serviceAccountEmail: SCHEDULER, audience: values.SCHEDULER_AUDIENCE },
        },
      });
    }
    expect(JSON.stringify(state)).not.toContain('SERVICE_URL');
    expect(state.runServices[`${REGION}/${SERVICE}`]!.iam.bindings).toEqual([
      { role: 'roles/run.invoker', members: [`serviceAccount:${SCHEDULER}`] },
    ]);
    expect(third.stdout).toContain(`- Check the deployment: scripts/smoke.sh ${url} --project ${PROJECT}`);
  });

  it('should change nothing on a run after that but what drifted, and put that back', () => {
    const last = runs[4]!;
    expect(last.code).toBe(0);
    expect(last.calls.filter((c) => c.changed).map((c) => words(c, 5))).toEqual([
      'scheduler jobs update http entitlements-expire',
    ]);
    expect(lineStatus(last.stdout).filter((s) => s !== 'ok')).toEqual(['PENDING', 'PENDING', 'changed']);
    expect(last.stdout).toMatch(/^changed {2}Scheduler job entitlements-expire: /m);
    expect(fake.state().schedulerJobs[`${REGION}/entitlements-expire`]!.httpTarget.uri).toBe(
      `${fake.state().runServices[`${REGION}/${SERVICE}`]!.url}/lifecycle/v1/expire`,
    );
  });
});

describe('scripts/setup-gcp.sh with push delivery, monitoring files, and Google still onboarding', () => {
  let fake: FakeGcloud;
  let root: string;

  beforeAll(() => {
    root = repoCopy();
    const file = join(root, 'deploy/service.yaml');
    const pushed = readFileSync(file, 'utf8').replace(
      /^( +)- \{ name: MARKETPLACE_SUBSCRIPTION, value: marketplace-events \}$/m,
      `$1- { name: PUSH_AUDIENCE, value: '\${RUN_APP_URL}/marketplace/push' }\n$1- { name: PUSH_SERVICE_ACCOUNT, value: '${PUSH}' }`,
    );
    expect(pushed).toContain('PUSH_SERVICE_ACCOUNT');
    writeFileSync(file, pushed);
    writeFileSync(
      join(root, 'deploy/monitoring/invalid-events.metric.yaml'),
      'description: inbound events recorded invalid\nfilter: jsonPayload.outcome="invalid"\n',
    );
    writeFileSync(
      join(root, 'deploy/monitoring/dead-letters.policy.yaml'),
      'displayName: Dead letters waiting\ncombiner: OR\nconditions: []\n',
    );
    // No Marketplace topic yet: Google's Partner Engineer has not created it.
    fake = fakeGcloud({ projectId: PROJECT, projectNumber: NUMBER });
  });
  afterAll(() => {
    fake.close();
    rmSync(root, { recursive: true, force: true });
  });

  it(
    'should wait for the topic, then subscribe, push to the service once deployed, and apply monitoring files',
    async () => {
      const first = await setup(fake, root);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(
        /^PENDING {2}subscription marketplace-events on Google's topic .*NOT_FOUND.*\n +Google's topic admits only the account linked for Pub\/Sub/m,
      );
      expect(fake.state().subscriptions['marketplace-events']).toBeUndefined();
      // Every file of deploy/monitoring, and the two this test added.
      const files = readdirSync(join(root, 'deploy/monitoring'));
      expect(Object.keys(fake.state().logMetrics).sort()).toEqual(
        files.filter((f) => f.endsWith('.metric.yaml')).map((f) => f.slice(0, -'.metric.yaml'.length)),
      );
      expect(Object.keys(fake.state().logMetrics)).toContain('invalid-events');
      const policies = Object.values(fake.state().alertPolicies).map((p) => p['displayName'] as string);
      expect(policies).toContain('Dead letters waiting');
      expect(policies).toHaveLength(files.filter((f) => f.endsWith('.policy.yaml')).length);

      fake.update((p) => (p.googleTopics[GOOGLE_TOPIC] = { admits: [RUNTIME] }));
      const second = await setup(fake, root);
      expect(second.stdout).toMatch(/^changed {2}subscription marketplace-events on Google's topic/m);
      expect(second.stdout).toMatch(/^skipped {2}marketplace-events push endpoint: the service is not deployed yet/m);
      expect(fake.state().subscriptions['marketplace-events']).toMatchObject({
        ackDeadlineSeconds: 600,
        pushConfig: {},
      });

      deploy(fake, root);
      writeFileSync(
        join(root, 'deploy/monitoring/invalid-events.metric.yaml'),
        'description: inbound events recorded invalid (any source)\nfilter: jsonPayload.outcome="invalid"\n',
      );
      fake.clearCalls();
      const third = await setup(fake, root);
      expect({ code: third.code, stderr: third.stderr }).toEqual({ code: 0, stderr: '' });
      const url = fake.state().runServices[`${REGION}/${SERVICE}`]!.url;
      expect(fake.state().subscriptions['marketplace-events']!.pushConfig).toEqual({
        pushEndpoint: `${url}/marketplace/push`,
        oidcToken: {
          serviceAccountEmail: PUSH,
          audience: `https://${SERVICE}-${NUMBER}.${REGION}.run.app/marketplace/push`,
        },
      });
      expect(fake.state().logMetrics['invalid-events']!['description']).toBe(
        'inbound events recorded invalid (any source)',
      );
      expect(
        fake
          .calls()
          .filter((c) => c.changed)
          .map((c) => words(c, 3)),
      ).toEqual(expect.arrayContaining(['pubsub subscriptions modify-push-config', 'logging metrics update']));
      expect(fake.calls().some((c) => joined(c).includes('alpha monitoring policies create'))).toBe(false);
    },
    TIMEOUT,
  );
});

describe('scripts/setup-gcp.sh when a step fails, and --dry-run', () => {
  it(
    'should stop at a failing step with one line naming it and gcloud’s error',
    async () => {
      const fake = fakeGcloud({ projectId: PROJECT }, (p) => p.restrictedApis.push('cloudscheduler.googleapis.com'));
      try {
        const result = await setup(fake);
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          'FAILED   APIs enabled (12): ERROR: (gcloud.services.enable) PERMISSION_DENIED: Permission denied to enable service [cloudscheduler.googleapis.com]',
        ]);
        expect(result.stdout).not.toContain('# Service accounts');
        expect(fake.calls().filter((c) => c.changed)).toEqual([]);
      } finally {
        fake.close();
      }
    },
    TIMEOUT,
  );

  it(
    'should only read, and print the commands it would run, on an empty project',
    async () => {
      const fake = fakeGcloud({ projectId: PROJECT });
      try {
        const result = await setup(fake, '.', ['--dry-run']);
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
        expect(
          fake
            .calls()
            .filter((c) => c.changed || !isRead(c))
            .map(joined),
        ).toEqual([]);
        const commands = result.stdout.split('\n').filter((l) => l.startsWith('+ gcloud '));
        for (const expected of [
          `+ gcloud --project=${PROJECT} services enable run.googleapis.com`,
          `iam service-accounts create entitlements-runtime`,
          `artifacts repositories create entitlements --repository-format=docker --location=${REGION}`,
          'firestore indexes composite create --collection-group=events --query-scope=collection',
          'firestore fields ttls update expireAt --collection-group=events --enable-ttl',
          'firestore indexes fields update raw --collection-group=events --disable-indexes',
          `pubsub subscriptions create marketplace-events --topic=${GOOGLE_TOPIC}`,
          `--impersonate-service-account=${RUNTIME}`,
          'secrets create purchasely-secrets --replication-policy=automatic',
        ]) {
          expect({ expected, found: commands.some((c) => c.includes(expected)) }).toEqual({ expected, found: true });
        }
        expect(result.stdout).toContain('(dry run: nothing was changed)');
      } finally {
        fake.close();
      }
    },
    TIMEOUT,
  );

  it('should print the commands for an empty project without gcloud at all, and refuse without --project', () => {
    // A PATH with what the script uses, but no gcloud.
    const bin = mkdtempSync(join(tmpdir(), 'no-gcloud-'));
    for (const tool of ['cat', 'cut', 'dirname', 'grep', 'mktemp', 'paste', 'rm', 'sed', 'tail']) {
      symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
    }
    symlinkSync(process.execPath, join(bin, 'node'));
    const result = spawnSync('/bin/bash', ['scripts/setup-gcp.sh', '--project', PROJECT, '--dry-run'], {
      encoding: 'utf8',
      env: { PATH: bin },
    });
    rmSync(bin, { recursive: true, force: true });
    expect({ code: result.status, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('+ gcloud --project=acme-prod secrets create admin-api-keys');
    expect(result.stdout).toContain('skipped  Cloud Scheduler jobs');
    const refused = spawnSync('bash', ['scripts/setup-gcp.sh', '--dry-run'], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--project is required');
  });
});
