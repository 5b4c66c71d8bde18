import { readFileSync, writeFileSync, renameSync } from 'node:fs';

/** An IAM policy as gcloud prints it. */
export interface Policy {
  bindings: { role: string; members: string[] }[];
  etag: string;
  version: number;
}

export interface Subscription {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  messageRetentionDuration: string;
  pushConfig: { pushEndpoint?: string; oidcToken?: { serviceAccountEmail: string; audience?: string } };
  expirationPolicy: { ttl?: string };
  deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts: number };
  retryPolicy?: { minimumBackoff: string; maximumBackoff: string };
  state: 'ACTIVE';
  iam: Policy;
}

export interface SchedulerJob {
  name: string;
  schedule: string;
  timeZone: string;
  attemptDeadline: string;
  state: 'ENABLED';
  httpTarget: {
    uri: string;
    httpMethod: string;
    oidcToken?: { serviceAccountEmail: string; audience?: string };
  };
}

export interface RunService {
  /** The applied description, as given to `run services replace` (plus what Cloud Run adds). */
  description: Record<string, unknown>;
  url: string;
  deterministicUrl: string;
  revisions: string[];
  traffic: { revisionName: string; percent: number }[];
  iam: Policy;
}

/**
 * One Google Cloud project as far as scripts/setup-gcp.sh, the deploy and the smoke script see it, plus the
 * parts of Google's side they touch (the Marketplace topic in Google's project, the Service Control services).
 */
export interface FakeProject {
  projectId: string;
  projectNumber: string;
  /** The caller (`gcloud config get-value account`); owner of the project. */
  account: string;
  enabledApis: string[];
  /** APIs the project may not enable by itself (cloudcommerceprocurement until Google's partner team grants it). */
  restrictedApis: string[];
  iam: Policy;
  serviceAccounts: Record<string, { displayName: string; iam: Policy }>;
  repositories: Record<string, { format: string; iam: Policy }>;
  firestore?: {
    locationId: string;
    type: string;
    indexes: { id: string; collectionGroup: string; queryScope: string; fields: Record<string, string>[] }[];
    fields: Record<string, { ttl?: boolean; indexesDisabled?: boolean }>;
  };
  topics: Record<string, { iam: Policy }>;
  subscriptions: Record<string, Subscription>;
  secrets: Record<string, { versions: { data: string; state: 'ENABLED' | 'DISABLED' }[]; iam: Policy }>;
  schedulerJobs: Record<string, SchedulerJob>;
  runServices: Record<string, RunService>;
  logMetrics: Record<string, Record<string, unknown>>;
  alertPolicies: Record<string, Record<string, unknown>>;
  /** Google's side: topic path → the service accounts its IAM admits (those linked in Producer Portal). */
  googleTopics: Record<string, { admits: string[] }>;
  /** Service Control services (created by Google once the pricing draft is submitted) and their IAM. */
  endpointServices: Record<string, { iam: Policy }>;
  /** Counter behind ids and etags, so runs are deterministic. */
  serial: number;
}

export function emptyPolicy(): Policy {
  return { bindings: [], etag: 'ACAB', version: 1 };
}

/** A new project: nothing but the caller as owner and the APIs Google enables by default. */
export function emptyProject(options: {
  projectId: string;
  projectNumber?: string;
  account?: string;
  googleTopics?: Record<string, { admits: string[] }>;
  endpointServices?: string[];
  partnerAccess?: boolean;
}): FakeProject {
  const account = options.account ?? 'owner@example.com';
  return {
    projectId: options.projectId,
    projectNumber: options.projectNumber ?? '123456789012',
    account,
    enabledApis: [
      'logging.googleapis.com',
      'monitoring.googleapis.com',
      'servicemanagement.googleapis.com',
      'serviceusage.googleapis.com',
      'cloudresourcemanager.googleapis.com',
    ],
    restrictedApis: options.partnerAccess ? [] : ['cloudcommerceprocurement.googleapis.com'],
    iam: { bindings: [{ role: 'roles/owner', members: [memberOf(account)] }], etag: 'ACAB', version: 1 },
    serviceAccounts: {},
    repositories: {},
    topics: {},
    subscriptions: {},
    secrets: {},
    schedulerJobs: {},
    runServices: {},
    logMetrics: {},
    alertPolicies: {},
    googleTopics: options.googleTopics ?? {},
    endpointServices: Object.fromEntries((options.endpointServices ?? []).map((s) => [s, { iam: emptyPolicy() }])),
    serial: 0,
  };
}

export function memberOf(account: string): string {
  return account.endsWith('.gserviceaccount.com') ? `serviceAccount:${account}` : `user:${account}`;
}

export function loadState(file: string): FakeProject {
  return JSON.parse(readFileSync(file, 'utf8')) as FakeProject;
}

export function saveState(file: string, state: FakeProject): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}
