import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { flag, type Invocation } from './cli.js';
import {
  emptyPolicy,
  memberOf,
  type FakeProject,
  type Policy,
  type RunService,
  type SchedulerJob,
  type Subscription,
} from './state.js';

/** A refusal, printed as gcloud prints API errors: `ERROR: (gcloud.<command>) <STATUS>: <message>`. */
export class GcloudError extends Error {
  constructor(
    readonly status: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** What a command returns: a resource or a list (projected by --format), and gcloud's progress line. */
export interface Outcome {
  result?: unknown;
  isList?: boolean;
  /** Printed as is (e.g. `secrets versions access`), not projected. */
  raw?: string;
  stderr?: string;
}

interface Context {
  state: FakeProject;
  inv: Invocation;
  /** The identity the call runs as: the caller, or the service account it impersonates. */
  identity: string;
  stdin: () => string;
}

/** yaml is loaded only by the commands that read YAML files (every call is a process of its own). */
const parseYaml = (text: string): unknown =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

const notFound = (message: string) => new GcloudError('NOT_FOUND', message);
const alreadyExists = (message: string) => new GcloudError('ALREADY_EXISTS', message);
const invalid = (message: string) => new GcloudError('INVALID_ARGUMENT', message);
const denied = (message: string) => new GcloudError('PERMISSION_DENIED', message);

const API_OF: Record<string, string> = {
  iam: 'iam.googleapis.com',
  artifacts: 'artifactregistry.googleapis.com',
  firestore: 'firestore.googleapis.com',
  pubsub: 'pubsub.googleapis.com',
  secrets: 'secretmanager.googleapis.com',
  scheduler: 'cloudscheduler.googleapis.com',
  run: 'run.googleapis.com',
  logging: 'logging.googleapis.com',
  alpha: 'monitoring.googleapis.com',
  endpoints: 'servicemanagement.googleapis.com',
};
const API_TITLE: Record<string, string> = {
  'iam.googleapis.com': 'Identity and Access Management (IAM) API',
  'artifactregistry.googleapis.com': 'Artifact Registry API',
  'firestore.googleapis.com': 'Cloud Firestore API',
  'pubsub.googleapis.com': 'Cloud Pub/Sub API',
  'secretmanager.googleapis.com': 'Secret Manager API',
  'cloudscheduler.googleapis.com': 'Cloud Scheduler API',
  'run.googleapis.com': 'Cloud Run Admin API',
  'iamcredentials.googleapis.com': 'IAM Service Account Credentials API',
};

function requireApi(state: FakeProject, api: string): void {
  if (!state.enabledApis.includes(api)) {
    throw denied(
      `${API_TITLE[api] ?? api} has not been used in project ${state.projectNumber} before or it is disabled. ` +
        `Enable it by visiting https://console.developers.google.com/apis/api/${api}/overview?project=${state.projectNumber} then retry.`,
    );
  }
}

function required(ctx: Context, name: string): string {
  const value = flag(ctx.inv, name);
  if (value === undefined || value === '') throw invalid(`argument --${name}: must be specified.`);
  return value;
}

function positional(ctx: Context, what: string): string {
  const value = ctx.inv.positional[0];
  if (!value) throw invalid(`argument ${what}: Must be specified.`);
  return value;
}

function bump(state: FakeProject): number {
  state.serial += 1;
  return state.serial;
}

function hash(text: string, length: number): string {
  return createHash('sha256')
    .update(text)
    .digest('hex')
    .replace(/[^a-z]/g, '')
    .padEnd(length, 'q')
    .slice(0, length);
}

// ---------------------------------------------------------------- IAM

const MEMBER = /^(user|serviceAccount|group|domain):[^\s:]+$|^allUsers$|^allAuthenticatedUsers$/;

function projectServiceAccount(state: FakeProject, email: string): boolean {
  return email.endsWith(`@${state.projectId}.iam.gserviceaccount.com`);
}

function checkMember(state: FakeProject, member: string): void {
  if (!MEMBER.test(member)) throw invalid(`Invalid member: ${member}`);
  const email = member.startsWith('serviceAccount:') ? member.slice('serviceAccount:'.length) : undefined;
  if (email && projectServiceAccount(state, email) && !state.serviceAccounts[email]) {
    throw invalid(`Service account ${email} does not exist.`);
  }
}

function hasBinding(policy: Policy, member: string, roles: string[]): boolean {
  return policy.bindings.some((b) => roles.includes(b.role) && b.members.includes(member));
}

function addBinding(ctx: Context, policy: Policy, what: string): Outcome {
  const member = required(ctx, 'member');
  const role = required(ctx, 'role');
  checkMember(ctx.state, member);
  if (!/^(roles|projects\/[^/]+\/roles|organizations\/[^/]+\/roles)\/[A-Za-z0-9_.]+$/.test(role)) {
    throw invalid(`Role ${role} is not supported for this resource.`);
  }
  const condition = flag(ctx.inv, 'condition');
  if (condition !== undefined && condition !== 'None') throw invalid('the fake does not model IAM conditions');
  let binding = policy.bindings.find((b) => b.role === role);
  if (!binding) {
    binding = { role, members: [] };
    policy.bindings.push(binding);
  }
  if (!binding.members.includes(member)) {
    binding.members.push(member);
    binding.members.sort();
    policy.etag = `Bw${bump(ctx.state)}`;
  }
  return { result: policy, stderr: `Updated IAM policy for ${what}.` };
}

const OWNER_ROLES = ['roles/owner', 'roles/editor'];

/** Whether the call's identity holds one of `roles` on the project (owners and editors hold all). */
function identityMay(ctx: Context, roles: string[]): boolean {
  return hasBinding(ctx.state.iam, ctx.identity, [...OWNER_ROLES, ...roles]);
}

function identityMayActAs(ctx: Context, email: string): boolean {
  const sa = ctx.state.serviceAccounts[email];
  const roles = ['roles/iam.serviceAccountUser'];
  return identityMay(ctx, roles) || (!!sa && hasBinding(sa.iam, ctx.identity, roles));
}

/** `--impersonate-service-account`: the caller needs Token Creator on it, and the credentials API on. */
export function impersonate(state: FakeProject, email: string): string {
  requireApi(state, 'iamcredentials.googleapis.com');
  const sa = state.serviceAccounts[email];
  const caller = memberOf(state.account);
  const roles = ['roles/iam.serviceAccountTokenCreator'];
  if (!sa || !(hasBinding(sa.iam, caller, roles) || hasBinding(state.iam, caller, roles))) {
    throw denied(
      `Failed to impersonate [${email}]. Make sure the account that's trying to impersonate it has access to the ` +
        `service account itself and the "roles/iam.serviceAccountTokenCreator" role.`,
    );
  }
  return `serviceAccount:${email}`;
}

// ---------------------------------------------------------------- commands

function services(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  if (verb === 'list') {
    if (flag(ctx.inv, 'enabled') !== 'true') throw invalid('the fake lists only --enabled services');
    return {
      isList: true,
      result: state.enabledApis.map((api) => ({
        name: `projects/${state.projectNumber}/services/${api}`,
        config: { name: api },
        state: 'ENABLED',
      })),
    };
  }
  const apis = ctx.inv.positional;
  if (!apis.length) throw invalid('argument SERVICE: Must be specified.');
  // One batch: if one is refused, none is enabled.
  const refused = apis.find((api) => state.restrictedApis.includes(api));
  if (refused) throw denied(`Permission denied to enable service [${refused}]`);
  for (const api of apis) if (!state.enabledApis.includes(api)) state.enabledApis.push(api);
  return { stderr: `Operation "operations/acf.p2-${state.projectNumber}-${bump(state)}" finished successfully.` };
}

function projects(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  const id = positional(ctx, 'PROJECT_ID');
  if (id !== state.projectId) throw denied(`The caller does not have permission (project ${id})`);
  if (verb === 'describe') {
    return {
      result: {
        projectId: state.projectId,
        projectNumber: state.projectNumber,
        name: state.projectId,
        lifecycleState: 'ACTIVE',
      },
    };
  }
  if (verb === 'get-iam-policy') return { result: state.iam };
  return addBinding(ctx, state.iam, `project [${id}]`);
}

function serviceAccounts(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  if (verb === 'create') {
    const name = positional(ctx, 'NAME');
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(name)) {
      throw invalid(`"${name}" is not a valid service account id: 6-30 characters, [a-z][a-z0-9-]*[a-z0-9]`);
    }
    const email = `${name}@${state.projectId}.iam.gserviceaccount.com`;
    if (state.serviceAccounts[email]) {
      throw alreadyExists(`Service account ${name} already exists within project projects/${state.projectId}.`);
    }
    state.serviceAccounts[email] = { displayName: flag(ctx.inv, 'display-name') ?? '', iam: emptyPolicy() };
    return { stderr: `Created service account [${name}].` };
  }
  const email = positional(ctx, 'SERVICE_ACCOUNT');
  const sa = state.serviceAccounts[email];
  if (!sa) throw notFound(`Unknown service account`);
  if (verb === 'describe') {
    return {
      result: {
        email,
        name: `projects/${state.projectId}/serviceAccounts/${email}`,
        displayName: sa.displayName,
        projectId: state.projectId,
      },
    };
  }
  if (verb === 'get-iam-policy') return { result: sa.iam };
  return addBinding(ctx, sa.iam, `serviceAccount [${email}]`);
}

function repositories(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  const name = positional(ctx, 'REPOSITORY');
  const location = required(ctx, 'location');
  const key = `${location}/${name}`;
  const repo = state.repositories[key];
  if (verb === 'create') {
    if (repo) throw alreadyExists(`the repository already exists`);
    state.repositories[key] = { format: (flag(ctx.inv, 'repository-format') ?? '').toUpperCase(), iam: emptyPolicy() };
    return { stderr: `Created repository [${name}].` };
  }
  if (!repo) throw notFound(`Requested entity was not found.`);
  if (verb === 'describe') {
    return {
      result: { name: `projects/${state.projectId}/locations/${location}/repositories/${name}`, format: repo.format },
    };
  }
  if (verb === 'get-iam-policy') return { result: repo.iam };
  return addBinding(ctx, repo.iam, `repository [${name}]`);
}

function databaseOf(state: FakeProject): NonNullable<FakeProject['firestore']> {
  if (!state.firestore) throw notFound(`The database (default) does not exist for project ${state.projectId}`);
  return state.firestore;
}

function fieldName(state: FakeProject, group: string, field: string): string {
  return `projects/${state.projectId}/databases/(default)/collectionGroups/${group}/fields/${field}`;
}

function firestore(ctx: Context, path: string): Outcome {
  const { state } = ctx;
  if (path === 'databases describe' || path === 'databases create') {
    const database = flag(ctx.inv, 'database') ?? '(default)';
    if (database !== '(default)') throw invalid('the fake models the (default) database only');
    if (path === 'databases create') {
      if (state.firestore) throw alreadyExists(`Database already exists. Please use another database_id`);
      state.firestore = {
        locationId: required(ctx, 'location'),
        type:
          (flag(ctx.inv, 'type') ?? 'firestore-native') === 'firestore-native' ? 'FIRESTORE_NATIVE' : 'DATASTORE_MODE',
        indexes: [],
        fields: {},
      };
      return { stderr: 'Success! Selected Google Cloud Firestore Native database for ' + state.projectId };
    }
    const db = databaseOf(state);
    return {
      result: { name: `projects/${state.projectId}/databases/(default)`, locationId: db.locationId, type: db.type },
    };
  }
  const db = databaseOf(state);
  switch (path) {
    case 'indexes composite list':
      return {
        isList: true,
        result: db.indexes.map((index) => {
          // Firestore lists every composite index with __name__ last, in the last field's direction.
          const last = index.fields.at(-1)?.['order'] ?? 'ASCENDING';
          return {
            name: `projects/${state.projectId}/databases/(default)/collectionGroups/${index.collectionGroup}/indexes/${index.id}`,
            queryScope: index.queryScope,
            fields: [...index.fields, { fieldPath: '__name__', order: last }],
            state: 'READY',
          };
        }),
      };
    case 'indexes composite create': {
      const group = required(ctx, 'collection-group');
      const scope = (flag(ctx.inv, 'query-scope') ?? 'collection').toUpperCase().replace('-', '_');
      const fields = (ctx.inv.flags.get('field-config') ?? []).map((config): Record<string, string> => {
        const parts = Object.fromEntries(config.split(',').map((kv) => kv.split('=') as [string, string]));
        if (!parts['field-path']) throw invalid(`--field-config needs field-path: ${config}`);
        return parts['order']
          ? { fieldPath: parts['field-path'], order: parts['order'].toUpperCase() }
          : { fieldPath: parts['field-path'], arrayConfig: (parts['array-config'] ?? '').toUpperCase() };
      });
      if (fields.length < 2) throw invalid('a composite index needs at least two fields');
      const same = (f: Record<string, string>[]) => JSON.stringify(f) === JSON.stringify(fields);
      if (db.indexes.some((i) => i.collectionGroup === group && i.queryScope === scope && same(i.fields))) {
        throw alreadyExists('index already exists');
      }
      db.indexes.push({
        id: `CICAg${hash(`${state.serial}`, 8)}${bump(state)}`,
        collectionGroup: group,
        queryScope: scope,
        fields,
      });
      return { stderr: 'Create request issued' };
    }
    case 'fields ttls list':
      return {
        isList: true,
        result: Object.entries(db.fields)
          .filter(([, f]) => f.ttl)
          .map(([key]) => {
            const [group, field] = key.split('/') as [string, string];
            return { name: fieldName(state, group, field), ttlConfig: { state: 'ACTIVE' } };
          }),
      };
    case 'fields ttls update':
    case 'indexes fields update': {
      const field = positional(ctx, 'FIELD');
      const group = required(ctx, 'collection-group');
      const key = `${group}/${field}`;
      const current = db.fields[key] ?? {};
      if (path === 'fields ttls update') {
        if (flag(ctx.inv, 'enable-ttl') !== 'true' && flag(ctx.inv, 'disable-ttl') !== 'true') {
          throw invalid('one of --enable-ttl or --disable-ttl must be specified');
        }
        current.ttl = flag(ctx.inv, 'enable-ttl') === 'true';
      } else {
        if (flag(ctx.inv, 'disable-indexes') !== 'true') throw invalid('the fake models --disable-indexes only');
        current.indexesDisabled = true;
      }
      db.fields[key] = current;
      return { stderr: `Updated field [${field}].` };
    }
    case 'indexes fields list':
      return {
        isList: true,
        result: Object.entries(db.fields)
          .filter(([, f]) => f.indexesDisabled)
          .map(([key]) => {
            const [group, field] = key.split('/') as [string, string];
            return { name: fieldName(state, group, field), indexConfig: { usesAncestorConfig: false } };
          }),
      };
    default:
      throw invalid(`unsupported: firestore ${path}`);
  }
}

function topicPath(state: FakeProject, name: string): string {
  return name.startsWith('projects/') ? name : `projects/${state.projectId}/topics/${name}`;
}

function localTopic(state: FakeProject, name: string): string {
  const path = topicPath(state, name);
  if (!path.startsWith(`projects/${state.projectId}/topics/`))
    throw denied('User not authorized to perform this action.');
  return path.slice(`projects/${state.projectId}/topics/`.length);
}

function topics(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  const name = localTopic(state, positional(ctx, 'TOPIC'));
  const topic = state.topics[name];
  if (verb === 'create') {
    if (topic) throw alreadyExists(`Resource already exists in the project (resource=${name}).`);
    state.topics[name] = { iam: emptyPolicy() };
    return { stderr: `Created topic [projects/${state.projectId}/topics/${name}].` };
  }
  if (!topic) throw notFound(`Resource not found (resource=${name}).`);
  if (verb === 'describe') return { result: { name: `projects/${state.projectId}/topics/${name}` } };
  if (verb === 'get-iam-policy') return { result: topic.iam };
  return addBinding(ctx, topic.iam, `topic [${name}]`);
}

function duration(value: string, what: string): string {
  const m = /^(\d+)(s|m|h|d)?$/.exec(value);
  if (!m) throw invalid(`${what}: invalid duration ${value}`);
  const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's'];
  return `${Number(m[1]) * factor}s`;
}

/** Applies the flags create and update share; returns the fields the flags touched. */
function applySubscriptionFlags(ctx: Context, sub: Subscription): void {
  const { inv, state } = ctx;
  const ack = flag(inv, 'ack-deadline');
  if (ack !== undefined) {
    const seconds = Number(ack);
    if (!Number.isInteger(seconds) || seconds < 10 || seconds > 600) throw invalid('ack deadline must be 10-600 s');
    sub.ackDeadlineSeconds = seconds;
  }
  const expiration = flag(inv, 'expiration-period');
  if (expiration !== undefined) {
    sub.expirationPolicy = expiration === 'never' ? {} : { ttl: duration(expiration, '--expiration-period') };
  }
  const deadLetter = flag(inv, 'dead-letter-topic');
  if (deadLetter !== undefined) {
    const dlq = localTopic(state, deadLetter);
    if (!state.topics[dlq]) throw notFound(`Resource not found (resource=${dlq}).`);
    sub.deadLetterPolicy = {
      deadLetterTopic: topicPath(state, deadLetter),
      maxDeliveryAttempts: Number(flag(inv, 'max-delivery-attempts') ?? sub.deadLetterPolicy?.maxDeliveryAttempts ?? 5),
    };
  } else if (flag(inv, 'max-delivery-attempts') !== undefined) {
    if (!sub.deadLetterPolicy) throw invalid('--max-delivery-attempts needs a dead-letter topic');
    sub.deadLetterPolicy.maxDeliveryAttempts = Number(flag(inv, 'max-delivery-attempts'));
  }
  const min = flag(inv, 'min-retry-delay');
  const max = flag(inv, 'max-retry-delay');
  if (min !== undefined || max !== undefined) {
    sub.retryPolicy = {
      minimumBackoff: duration(min ?? sub.retryPolicy?.minimumBackoff ?? '10s', '--min-retry-delay'),
      maximumBackoff: duration(max ?? sub.retryPolicy?.maximumBackoff ?? '600s', '--max-retry-delay'),
    };
  }
  applyPushFlags(ctx, sub);
}

function applyPushFlags(ctx: Context, sub: Subscription): void {
  const endpoint = flag(ctx.inv, 'push-endpoint');
  if (endpoint === undefined) return;
  if (endpoint === '') {
    sub.pushConfig = {};
    return;
  }
  if (!/^https:\/\/[^/\s]+/.test(endpoint)) throw invalid(`Invalid push endpoint: ${endpoint}`);
  const account = flag(ctx.inv, 'push-auth-service-account');
  sub.pushConfig = { pushEndpoint: endpoint };
  if (account) {
    if (projectServiceAccount(ctx.state, account) && !ctx.state.serviceAccounts[account]) {
      throw invalid(`Service account ${account} does not exist.`);
    }
    if (!identityMayActAs(ctx, account)) {
      throw denied(`${ctx.identity} needs iam.serviceAccounts.actAs on ${account} to push as it.`);
    }
    const audience = flag(ctx.inv, 'push-auth-token-audience');
    sub.pushConfig.oidcToken = { serviceAccountEmail: account, ...(audience ? { audience } : {}) };
  }
}

function subscriptions(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  const raw = positional(ctx, 'SUBSCRIPTION');
  const name = raw.startsWith('projects/') ? raw.split('/').at(-1)! : raw;
  const sub = state.subscriptions[name];
  if (verb === 'create') {
    if (!identityMay(ctx, ['roles/pubsub.editor', 'roles/pubsub.admin'])) {
      throw denied(`User not authorized to perform this action. (${ctx.identity} cannot create subscriptions here)`);
    }
    const topic = topicPath(state, required(ctx, 'topic'));
    if (topic.startsWith(`projects/${state.projectId}/`)) {
      if (!state.topics[localTopic(state, topic)]) throw notFound(`Resource not found (resource=${topic}).`);
    } else {
      const google = state.googleTopics[topic];
      if (!google) throw notFound(`Resource not found (resource=${topic}).`);
      const email = ctx.identity.startsWith('serviceAccount:') ? ctx.identity.slice('serviceAccount:'.length) : '';
      if (!google.admits.includes(email)) throw denied('User not authorized to perform this action.');
    }
    if (sub) throw alreadyExists(`Resource already exists in the project (resource=${name}).`);
    const created: Subscription = {
      name: `projects/${state.projectId}/subscriptions/${name}`,
      topic,
      ackDeadlineSeconds: 10,
      messageRetentionDuration: '604800s',
      pushConfig: {},
      // Pub/Sub's default: an idle subscription expires after 31 days.
      expirationPolicy: { ttl: '2678400s' },
      state: 'ACTIVE',
      iam: emptyPolicy(),
    };
    applySubscriptionFlags(ctx, created);
    state.subscriptions[name] = created;
    return { stderr: `Created subscription [${created.name}].` };
  }
  if (!sub) throw notFound(`Resource not found (resource=${name}).`);
  switch (verb) {
    case 'describe': {
      if (!identityMay(ctx, ['roles/pubsub.viewer', 'roles/pubsub.editor', 'roles/pubsub.subscriber'])) {
        throw denied('User not authorized to perform this action.');
      }
      const { iam: _iam, ...shown } = sub;
      return { result: shown };
    }
    case 'update':
      applySubscriptionFlags(ctx, sub);
      return { stderr: `Updated subscription [${sub.name}].` };
    case 'modify-push-config':
      if (flag(ctx.inv, 'push-endpoint') === undefined) throw invalid('argument --push-endpoint: Must be specified.');
      applyPushFlags(ctx, sub);
      return { stderr: `Updated subscription [${sub.name}].` };
    case 'get-iam-policy':
      return { result: sub.iam };
    default:
      return addBinding(ctx, sub.iam, `subscription [${name}]`);
  }
}

function secrets(ctx: Context, path: string): Outcome {
  const { state } = ctx;
  if (path.startsWith('versions ')) {
    const verb = path.slice('versions '.length);
    const name = verb === 'access' ? required(ctx, 'secret') : positional(ctx, 'SECRET');
    const secret = state.secrets[name];
    if (!secret)
      throw notFound(`Secret [projects/${state.projectNumber}/secrets/${name}] not found or has no versions.`);
    if (verb === 'add') {
      if (required(ctx, 'data-file') !== '-')
        throw invalid('the fake reads secret data from stdin only (--data-file=-)');
      const data = ctx.stdin();
      if (!data) throw invalid('Secret Payload cannot be empty.');
      secret.versions.push({ data, state: 'ENABLED' });
      return { stderr: `Created version [${secret.versions.length}] of the secret [${name}].` };
    }
    if (verb === 'list') {
      return {
        isList: true,
        result: secret.versions
          .map((v, i) => ({
            name: `projects/${state.projectNumber}/secrets/${name}/versions/${i + 1}`,
            state: v.state,
          }))
          .reverse(),
      };
    }
    const wanted = positional(ctx, 'VERSION');
    const enabled = secret.versions.map((v, i) => ({ ...v, n: i + 1 })).filter((v) => v.state === 'ENABLED');
    const version = wanted === 'latest' ? enabled.at(-1) : enabled.find((v) => String(v.n) === wanted);
    if (!version)
      throw notFound(`Secret Version [projects/${state.projectNumber}/secrets/${name}/versions/${wanted}] not found.`);
    return { raw: version.data };
  }
  const name = positional(ctx, 'SECRET');
  const secret = state.secrets[name];
  if (path === 'create') {
    if (secret) throw alreadyExists(`Secret [projects/${state.projectNumber}/secrets/${name}] already exists.`);
    if (flag(ctx.inv, 'replication-policy') && flag(ctx.inv, 'replication-policy') !== 'automatic') {
      throw invalid('the fake models automatic replication only');
    }
    state.secrets[name] = { versions: [], iam: emptyPolicy() };
    return { stderr: `Created secret [${name}].` };
  }
  if (!secret) throw notFound(`Secret [projects/${state.projectNumber}/secrets/${name}] not found.`);
  if (path === 'describe') {
    return { result: { name: `projects/${state.projectNumber}/secrets/${name}`, replication: { automatic: {} } } };
  }
  if (path === 'get-iam-policy') return { result: secret.iam };
  return addBinding(ctx, secret.iam, `secret [${name}]`);
}

function schedulerJob(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  const id = positional(ctx, 'JOB');
  const location = required(ctx, 'location');
  const key = `${location}/${id}`;
  const job = state.schedulerJobs[key];
  if (verb === 'describe') {
    if (!job) throw notFound(`Job not found.`);
    return { result: job };
  }
  if (verb === 'create http') {
    if (job) throw alreadyExists(`Job projects/${state.projectId}/locations/${location}/jobs/${id} already exists.`);
    const created: SchedulerJob = {
      name: `projects/${state.projectId}/locations/${location}/jobs/${id}`,
      schedule: required(ctx, 'schedule'),
      timeZone: 'Etc/UTC',
      attemptDeadline: '180s',
      state: 'ENABLED',
      httpTarget: { uri: required(ctx, 'uri'), httpMethod: 'POST' },
    };
    applyJobFlags(ctx, created);
    state.schedulerJobs[key] = created;
    return { stderr: `Created job [${id}].` };
  }
  if (!job) throw notFound(`Job not found.`);
  applyJobFlags(ctx, job);
  return { stderr: `Updated job [${id}].` };
}

function applyJobFlags(ctx: Context, job: SchedulerJob): void {
  const { inv } = ctx;
  const schedule = flag(inv, 'schedule');
  if (schedule !== undefined) {
    if (schedule.trim().split(/\s+/).length !== 5) throw invalid(`Schedule has invalid value ${schedule}`);
    job.schedule = schedule;
  }
  const uri = flag(inv, 'uri');
  if (uri !== undefined) {
    if (!/^https?:\/\/[^/\s]+/.test(uri)) throw invalid(`Invalid URL: ${uri}`);
    job.httpTarget.uri = uri;
  }
  job.httpTarget.httpMethod = (flag(inv, 'http-method') ?? job.httpTarget.httpMethod).toUpperCase();
  const timeZone = flag(inv, 'time-zone');
  if (timeZone !== undefined) job.timeZone = timeZone;
  const deadline = flag(inv, 'attempt-deadline');
  if (deadline !== undefined) job.attemptDeadline = duration(deadline, '--attempt-deadline');
  const account = flag(inv, 'oidc-service-account-email');
  if (account !== undefined) {
    if (projectServiceAccount(ctx.state, account) && !ctx.state.serviceAccounts[account]) {
      throw invalid(`Service account ${account} does not exist.`);
    }
    const audience = flag(inv, 'oidc-token-audience');
    job.httpTarget.oidcToken = { serviceAccountEmail: account, ...(audience ? { audience } : {}) };
  } else if (flag(inv, 'oidc-token-audience') !== undefined) {
    if (!job.httpTarget.oidcToken) throw invalid('--oidc-token-audience needs --oidc-service-account-email');
    job.httpTarget.oidcToken.audience = flag(inv, 'oidc-token-audience')!;
  }
}

/** Env names Cloud Run sets itself and refuses in a description. */
const RESERVED_ENV = ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML document of any shape
type Doc = Record<string, any>;

/** Checks a Service description as Cloud Run's admission and the revision's start-up would. */
function admit(ctx: Context, doc: Doc, region: string): void {
  const { state } = ctx;
  if (doc['apiVersion'] !== 'serving.knative.dev/v1' || doc['kind'] !== 'Service') {
    throw invalid('expected apiVersion serving.knative.dev/v1 and kind Service');
  }
  const name = doc['metadata']?.['name'];
  if (typeof name !== 'string' || !/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/.test(name)) {
    throw invalid(`metadata.name: invalid service name ${String(name)}`);
  }
  const label = doc['metadata']?.['labels']?.['cloud.googleapis.com/location'];
  if (label && label !== region) throw invalid(`the location label ${label} does not match --region ${region}`);
  const ingress = doc['metadata']?.['annotations']?.['run.googleapis.com/ingress'];
  if (ingress && !['all', 'internal', 'internal-and-cloud-load-balancing'].includes(ingress)) {
    throw invalid(`run.googleapis.com/ingress: ${ingress}`);
  }
  const spec = doc['spec']?.['template']?.['spec'];
  const containers = spec?.['containers'];
  if (!Array.isArray(containers) || containers.length === 0) throw invalid('spec.template.spec.containers is required');
  const account: string | undefined = spec['serviceAccountName'];
  if (account && projectServiceAccount(state, account) && !state.serviceAccounts[account]) {
    throw invalid(`Service account ${account} does not exist.`);
  }
  for (const container of containers as Doc[]) {
    const image: string = container['image'] ?? '';
    const registry = /^([a-z0-9-]+)-docker\.pkg\.dev\/([^/]+)\/([^/]+)\/[^:@]+[:@].+$/.exec(image);
    if (!registry) throw invalid(`Image '${image}' is not an Artifact Registry image with a tag or digest`);
    const [, location, project, repository] = registry as unknown as [string, string, string, string];
    if (project === state.projectId && !state.repositories[`${location}/${repository}`]) {
      throw notFound(`Image '${image}' not found: repository ${repository} does not exist in ${location}.`);
    }
    for (const env of (container['env'] ?? []) as Doc[]) {
      if (RESERVED_ENV.includes(env['name'])) {
        throw invalid(
          `The following reserved env names were provided: ${env['name']}. These values are automatically set by the system.`,
        );
      }
      const ref = env['valueFrom']?.['secretKeyRef'];
      if (!ref) continue;
      const secret = state.secrets[ref['name']];
      const versions = secret?.versions.filter((v) => v.state === 'ENABLED') ?? [];
      if (!secret || versions.length === 0 || (ref['key'] !== 'latest' && !secret.versions[Number(ref['key']) - 1])) {
        throw notFound(
          `Revision is not ready: secret projects/${state.projectNumber}/secrets/${ref['name']}/versions/${ref['key']} was not found.`,
        );
      }
      const member = account ? `serviceAccount:${account}` : '';
      const reader = ['roles/secretmanager.secretAccessor', ...OWNER_ROLES];
      if (!hasBinding(secret.iam, member, reader) && !hasBinding(state.iam, member, reader)) {
        throw denied(
          `Permission denied on secret: projects/${state.projectNumber}/secrets/${ref['name']}/versions/${ref['key']} for Revision service account ${account}. The service account used must be granted the 'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.`,
        );
      }
    }
  }
}

const REGION_CODE = (region: string) =>
  region
    .replace(/[0-9]+$/, '')
    .split('-')
    .map((part) => part[0])
    .join('');

function runServices(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  if (verb === 'replace') {
    const file = positional(ctx, 'FILE');
    const doc = parseYaml(readFileSync(file, 'utf8')) as Doc;
    const region = flag(ctx.inv, 'region') ?? doc?.['metadata']?.['labels']?.['cloud.googleapis.com/location'];
    if (!region) throw invalid('--region or the cloud.googleapis.com/location label is required');
    admit(ctx, doc, region);
    const name: string = doc['metadata']['name'];
    const key = `${region}/${name}`;
    const existing = state.runServices[key];
    const revision = `${name}-${String((existing?.revisions.length ?? 0) + 1).padStart(5, '0')}-${hash(`${name}${state.serial}`, 3)}`;
    bump(state);
    const service: RunService = existing ?? {
      description: doc,
      // The hash URL every service has (the deterministic one is listed in run.googleapis.com/urls).
      url: `https://${name}-${hash(`${state.projectId}/${name}`, 10)}-${REGION_CODE(region)}.a.run.app`,
      deterministicUrl: `https://${name}-${state.projectNumber}.${region}.run.app`,
      revisions: [],
      traffic: [],
      iam: emptyPolicy(),
    };
    service.description = doc;
    service.revisions.push(revision);
    service.traffic = [{ revisionName: revision, percent: 100 }];
    state.runServices[key] = service;
    return {
      stderr: `New configuration has been applied to service [${name}].\nURL: ${service.url}`,
    };
  }
  if (verb === 'revisions list') {
    const name = required(ctx, 'service');
    const service = state.runServices[`${required(ctx, 'region')}/${name}`];
    if (!service) throw notFound(`Cannot find service [${name}]`);
    return { isList: true, result: [...service.revisions].reverse().map((r) => ({ metadata: { name: r } })) };
  }
  const name = positional(ctx, 'SERVICE');
  const region = required(ctx, 'region');
  const service = state.runServices[`${region}/${name}`];
  if (!service) {
    if (verb === 'describe') throw new GcloudError(undefined, `Cannot find service [${name}]`);
    throw notFound(
      `Resource '${name}' of kind 'SERVICE' in region '${region}' in project '${state.projectId}' does not exist.`,
    );
  }
  switch (verb) {
    case 'describe': {
      const metadata: Doc = service.description['metadata'] ?? {};
      const annotations: Record<string, string> = { ...(metadata['annotations'] ?? {}) };
      annotations['run.googleapis.com/urls'] = JSON.stringify([service.deterministicUrl, service.url]);
      return {
        result: {
          ...service.description,
          metadata: { ...metadata, annotations },
          status: {
            url: service.url,
            latestReadyRevisionName: service.revisions.at(-1),
            latestCreatedRevisionName: service.revisions.at(-1),
            traffic: service.traffic,
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      };
    }
    case 'get-iam-policy':
      return { result: service.iam };
    case 'add-iam-policy-binding':
      return addBinding(ctx, service.iam, `service [${name}]`);
    default: {
      // update-traffic --to-revisions=REV=100 | --to-latest
      if (flag(ctx.inv, 'to-latest') === 'true') {
        service.traffic = [{ revisionName: service.revisions.at(-1)!, percent: 100 }];
      } else {
        const to = required(ctx, 'to-revisions');
        service.traffic = to.split(',').map((pair) => {
          const [revisionName, percent] = pair.split('=') as [string, string];
          if (!service.revisions.includes(revisionName)) throw notFound(`Revision [${revisionName}] not found.`);
          return { revisionName, percent: Number(percent) };
        });
        if (service.traffic.reduce((sum, t) => sum + t.percent, 0) !== 100)
          throw invalid('percents must add up to 100');
      }
      return { stderr: `Traffic: ${JSON.stringify(service.traffic)}` };
    }
  }
}

function endpointServices(ctx: Context, verb: string): Outcome {
  const name = positional(ctx, 'SERVICE');
  const service = ctx.state.endpointServices[name];
  if (!service) throw denied(`Service '${name}' not found or permission denied.`);
  if (verb === 'get-iam-policy') return { result: service.iam };
  return addBinding(ctx, service.iam, `service [${name}]`);
}

function configFile(ctx: Context, name: string): Record<string, unknown> {
  return parseYaml(readFileSync(required(ctx, name), 'utf8')) as Record<string, unknown>;
}

function logMetrics(ctx: Context, verb: string): Outcome {
  const name = positional(ctx, 'METRIC_NAME');
  const metric = ctx.state.logMetrics[name];
  if (verb === 'describe') {
    if (!metric) throw notFound(`metric ${name} does not exist`);
    return { result: metric };
  }
  if (verb === 'create' && metric) throw alreadyExists(`metric ${name} already exists`);
  if (verb === 'update' && !metric) throw notFound(`metric ${name} does not exist`);
  const config = configFile(ctx, 'config-from-file');
  if (typeof config['filter'] !== 'string') throw invalid('a log-based metric needs a filter');
  ctx.state.logMetrics[name] = { ...config, name };
  return { stderr: `${verb === 'create' ? 'Created' : 'Updated'} [${name}].` };
}

function alertPolicies(ctx: Context, verb: string): Outcome {
  const { state } = ctx;
  if (verb === 'list') {
    return { isList: true, result: Object.entries(state.alertPolicies).map(([name, p]) => ({ ...p, name })) };
  }
  const policy = configFile(ctx, 'policy-from-file');
  if (typeof policy['displayName'] !== 'string') throw invalid('an alerting policy needs a displayName');
  if (verb === 'create') {
    const name = `projects/${state.projectId}/alertPolicies/${bump(state)}`;
    state.alertPolicies[name] = policy;
    return { stderr: `Created alert policy [${name}].` };
  }
  const name = positional(ctx, 'ALERT_POLICY');
  if (!state.alertPolicies[name]) throw notFound(`alert policy ${name} does not exist`);
  state.alertPolicies[name] = policy;
  return { stderr: `Updated alert policy [${name}].` };
}

/** Runs one invocation against the state (mutating it); throws GcloudError on a refusal. */
export function run(state: FakeProject, inv: Invocation, stdin: () => string): Outcome {
  const [group, ...rest] = inv.command as [string, ...string[]];
  const path = rest.join(' ');
  if (group === 'config') {
    if (inv.positional[0] !== 'account') throw invalid('the fake knows `config get-value account` only');
    return { raw: `${state.account}\n` };
  }
  const project = flag(inv, 'project');
  if (!project) throw new GcloudError(undefined, 'The required property [project] is not currently set.');
  if (project !== state.projectId && group !== 'projects') {
    throw denied(`The caller does not have permission (project ${project})`);
  }
  const api = API_OF[group];
  if (api) requireApi(state, api);
  const impersonated = flag(inv, 'impersonate-service-account');
  const identity = impersonated ? impersonate(state, impersonated) : memberOf(state.account);
  const ctx: Context = { state, inv, identity, stdin };
  if (impersonated && !(group === 'pubsub' && (path === 'subscriptions create' || path === 'subscriptions describe'))) {
    // The fake grants impersonated accounts nothing else; the scripts impersonate for the Marketplace subscription only.
    throw denied(`the fake lets ${impersonated} create and describe subscriptions only`);
  }
  switch (group) {
    case 'services':
      return services(ctx, path);
    case 'projects':
      return projects(ctx, path);
    case 'iam':
      return serviceAccounts(ctx, rest[1]!);
    case 'artifacts':
      return repositories(ctx, rest[1]!);
    case 'firestore':
      return firestore(ctx, path);
    case 'pubsub':
      return rest[0] === 'topics' ? topics(ctx, rest[1]!) : subscriptions(ctx, rest[1]!);
    case 'secrets':
      return secrets(ctx, path);
    case 'scheduler':
      return schedulerJob(ctx, rest.slice(1).join(' '));
    case 'run':
      return runServices(ctx, rest[0] === 'revisions' ? 'revisions list' : rest[1]!);
    case 'endpoints':
      return endpointServices(ctx, rest[1]!);
    case 'logging':
      return logMetrics(ctx, rest[1]!);
    case 'alpha':
      return alertPolicies(ctx, rest[2]!);
    default:
      throw invalid(`unsupported command group ${group}`);
  }
}
