import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeGcloud, type FakeGcloud } from './harness.js';

const P = ['--project=acme-prod'];
const RUNTIME = 'entitlements-runtime@acme-prod.iam.gserviceaccount.com';
const GOOGLE_TOPIC = 'projects/cloudcommerceproc-prod/topics/acme-public';

function serviceYaml(dir: string, secret?: string): string {
  const file = join(dir, 'service.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: serving.knative.dev/v1',
      'kind: Service',
      'metadata:',
      '  name: svc',
      '  labels: { cloud.googleapis.com/location: europe-west1 }',
      'spec:',
      '  template:',
      '    spec:',
      `      serviceAccountName: ${RUNTIME}`,
      '      containers:',
      '        - image: europe-west1-docker.pkg.dev/acme-prod/repo/svc:1',
      '          env:',
      '            - { name: A, value: b }',
      ...(secret ? [`            - { name: S, valueFrom: { secretKeyRef: { name: ${secret}, key: latest } } }`] : []),
    ].join('\n'),
  );
  return file;
}

describe('the fake gcloud (tools/fake-gcloud) keeps state as gcloud does', () => {
  let fake: FakeGcloud;
  let dir: string;
  const ok = (args: string[], input?: string) => {
    const r = fake.gcloud([...P, ...args], input);
    expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    return r.stdout;
  };
  const refused = (args: string[]) => {
    const r = fake.gcloud([...P, ...args]);
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    return r.stderr;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-gcloud-spec-'));
    fake = fakeGcloud({ projectId: 'acme-prod', googleTopics: { [GOOGLE_TOPIC]: { admits: [RUNTIME] } } });
  });
  afterEach(() => {
    fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should refuse calls to an API the project has not enabled, and enable in one all-or-nothing batch', () => {
    expect(refused(['pubsub', 'topics', 'create', 't'])).toMatch(
      /^ERROR: \(gcloud\.pubsub\.topics\.create\) PERMISSION_DENIED: Cloud Pub\/Sub API has not been used in project/,
    );
    expect(
      refused(['services', 'enable', 'pubsub.googleapis.com', 'cloudcommerceprocurement.googleapis.com']),
    ).toContain('PERMISSION_DENIED: Permission denied to enable service [cloudcommerceprocurement.googleapis.com]');
    expect(ok(['services', 'list', '--enabled', '--format=value(config.name)'])).not.toContain('pubsub');
    ok(['services', 'enable', 'pubsub.googleapis.com']);
    ok(['pubsub', 'topics', 'create', 't']);
  });

  it('should answer NOT_FOUND for what does not exist and ALREADY_EXISTS for a second create', () => {
    ok(['services', 'enable', 'pubsub.googleapis.com', 'secretmanager.googleapis.com', 'iam.googleapis.com']);
    expect(refused(['pubsub', 'topics', 'describe', 't'])).toContain('NOT_FOUND: Resource not found (resource=t).');
    ok(['pubsub', 'topics', 'create', 't']);
    expect(ok(['pubsub', 'topics', 'describe', 't', '--format=value(name)'])).toBe('projects/acme-prod/topics/t\n');
    expect(refused(['pubsub', 'topics', 'create', 't'])).toContain('ALREADY_EXISTS');
    expect(refused(['secrets', 'describe', 's'])).toContain('NOT_FOUND');
    ok(['secrets', 'create', 's', '--replication-policy=automatic']);
    expect(refused(['secrets', 'create', 's'])).toContain('ALREADY_EXISTS');
    expect(refused(['iam', 'service-accounts', 'describe', RUNTIME])).toContain('NOT_FOUND');
    ok(['iam', 'service-accounts', 'create', 'entitlements-runtime']);
    expect(refused(['iam', 'service-accounts', 'create', 'entitlements-runtime'])).toContain('ALREADY_EXISTS');
    // A binding names an account that must exist.
    expect(
      refused([
        'projects',
        'add-iam-policy-binding',
        'acme-prod',
        '--member=serviceAccount:nobody@acme-prod.iam.gserviceaccount.com',
        '--role=roles/viewer',
      ]),
    ).toContain('INVALID_ARGUMENT: Service account nobody@acme-prod.iam.gserviceaccount.com does not exist.');
  });

  it('should keep IAM bindings and answer gcloud projections on them (--flatten, --filter, --format)', () => {
    ok(['services', 'enable', 'iam.googleapis.com']);
    ok(['iam', 'service-accounts', 'create', 'entitlements-runtime']);
    const bind = ['projects', 'add-iam-policy-binding', 'acme-prod', `--member=serviceAccount:${RUNTIME}`];
    ok([...bind, '--role=roles/datastore.user', '--condition=None']);
    const query = (role: string) =>
      ok([
        'projects',
        'get-iam-policy',
        'acme-prod',
        '--flatten=bindings[].members',
        `--filter=bindings.role=${role} AND bindings.members=serviceAccount:${RUNTIME}`,
        '--format=value(bindings.role)',
      ]);
    expect(query('roles/datastore.user')).toBe('roles/datastore.user\n');
    expect(query('roles/pubsub.editor')).toBe('');
    // The same binding again changes nothing.
    fake.clearCalls();
    ok([...bind, '--role=roles/datastore.user', '--condition=None']);
    expect(fake.calls().map((c) => c.changed)).toEqual([false]);
  });

  it('should refuse run services add-iam-policy-binding on a service that does not exist; replace creates it with a URL', () => {
    ok(['services', 'enable', 'run.googleapis.com', 'iam.googleapis.com', 'artifactregistry.googleapis.com']);
    ok(['services', 'enable', 'secretmanager.googleapis.com']);
    const binding = ['--region=europe-west1', '--member=allUsers', '--role=roles/run.invoker'];
    expect(refused(['run', 'services', 'add-iam-policy-binding', 'svc', ...binding])).toContain(
      "NOT_FOUND: Resource 'svc' of kind 'SERVICE' in region 'europe-west1' in project 'acme-prod' does not exist.",
    );
    expect(refused(['run', 'services', 'describe', 'svc', '--region=europe-west1'])).toContain(
      'Cannot find service [svc]',
    );
    // What a deploy needs first: the account, the registry, the secret with a value the account may read.
    const file = serviceYaml(dir, 's');
    expect(refused(['run', 'services', 'replace', file, '--region=europe-west1'])).toContain(
      `Service account ${RUNTIME} does not exist.`,
    );
    ok(['iam', 'service-accounts', 'create', 'entitlements-runtime']);
    expect(refused(['run', 'services', 'replace', file, '--region=europe-west1'])).toContain(
      'repository repo does not exist in europe-west1',
    );
    ok(['artifacts', 'repositories', 'create', 'repo', '--repository-format=docker', '--location=europe-west1']);
    ok(['secrets', 'create', 's']);
    expect(refused(['run', 'services', 'replace', file, '--region=europe-west1'])).toContain(
      'secret projects/123456789012/secrets/s/versions/latest was not found',
    );
    ok(['secrets', 'versions', 'add', 's', '--data-file=-'], 'value');
    expect(refused(['run', 'services', 'replace', file, '--region=europe-west1'])).toContain(
      `Permission denied on secret: projects/123456789012/secrets/s/versions/latest for Revision service account ${RUNTIME}`,
    );
    ok([
      'secrets',
      'add-iam-policy-binding',
      's',
      `--member=serviceAccount:${RUNTIME}`,
      '--role=roles/secretmanager.secretAccessor',
    ]);
    ok(['run', 'services', 'replace', file, '--region=europe-west1']);
    const url = ok([
      'run',
      'services',
      'describe',
      'svc',
      '--region=europe-west1',
      '--format=value(status.url)',
    ]).trim();
    expect(url).toMatch(/^https:\/\/svc-[a-z]{10}-ew\.a\.run\.app$/);
    ok(['run', 'services', 'add-iam-policy-binding', 'svc', ...binding]);
    // A second replace is a new revision on the same URL; update-traffic moves traffic back.
    ok(['run', 'services', 'replace', serviceYaml(dir), '--region=europe-west1']);
    const revisions = ok([
      'run',
      'revisions',
      'list',
      '--service=svc',
      '--region=europe-west1',
      '--format=value(metadata.name)',
    ])
      .trim()
      .split('\n');
    expect(revisions).toHaveLength(2);
    ok(['run', 'services', 'update-traffic', 'svc', '--region=europe-west1', `--to-revisions=${revisions[1]}=100`]);
    expect(fake.state().runServices['europe-west1/svc']!.traffic).toEqual([
      { revisionName: revisions[1], percent: 100 },
    ]);
  });

  it("should admit to Google's Marketplace topic only the linked account, through impersonation", () => {
    ok(['services', 'enable', 'pubsub.googleapis.com', 'iam.googleapis.com', 'iamcredentials.googleapis.com']);
    ok(['iam', 'service-accounts', 'create', 'entitlements-runtime']);
    const create = ['pubsub', 'subscriptions', 'create', 'mp', `--topic=${GOOGLE_TOPIC}`];
    // As the project owner: Google's topic does not know the owner.
    expect(refused(create)).toContain('PERMISSION_DENIED: User not authorized to perform this action.');
    const asRuntime = [...create, `--impersonate-service-account=${RUNTIME}`];
    expect(refused(asRuntime)).toContain(`Failed to impersonate [${RUNTIME}]`);
    ok([
      'iam',
      'service-accounts',
      'add-iam-policy-binding',
      RUNTIME,
      '--member=user:owner@example.com',
      '--role=roles/iam.serviceAccountTokenCreator',
    ]);
    // Impersonated, but without the right to create subscriptions in the project.
    expect(refused(asRuntime)).toContain('cannot create subscriptions here');
    ok([
      'projects',
      'add-iam-policy-binding',
      'acme-prod',
      `--member=serviceAccount:${RUNTIME}`,
      '--role=roles/pubsub.editor',
    ]);
    ok([...asRuntime, '--expiration-period=never', '--ack-deadline=60']);
    expect(
      ok([
        'pubsub',
        'subscriptions',
        'describe',
        'mp',
        '--format=value(topic,ackDeadlineSeconds,expirationPolicy.ttl)',
      ]),
    ).toBe(`${GOOGLE_TOPIC}\t60\t\n`);
    expect(
      refused([
        'pubsub',
        'subscriptions',
        'create',
        'other',
        '--topic=projects/cloudcommerceproc-prod/topics/nope',
        `--impersonate-service-account=${RUNTIME}`,
      ]),
    ).toContain('NOT_FOUND');
  });

  it('should record every call with its exit code and whether it changed the project', () => {
    fake.gcloud([...P, 'services', 'enable', 'pubsub.googleapis.com']);
    fake.gcloud([...P, 'pubsub', 'topics', 'describe', 't']);
    fake.gcloud([...P, 'services', 'list', '--enabled']);
    expect(fake.calls().map(({ code, changed }) => ({ code, changed }))).toEqual([
      { code: 0, changed: true },
      { code: 1, changed: false },
      { code: 0, changed: false },
    ]);
    expect(fake.gcloud(['pubsub', 'topics', 'list']).stderr).toContain('does not know');
    expect(fake.gcloud(['pubsub', 'topics', 'describe', 't']).stderr).toContain('[project] is not currently set');
  });
});
