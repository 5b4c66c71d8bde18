import { Injectable } from '@nestjs/common';
import { cloudcommerceprocurement, type cloudcommerceprocurement_v1 } from '@googleapis/cloudcommerceprocurement';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { Buffer } from 'node:buffer';
import { AppLogger } from '../../common/logging/app-logger.js';
import { AppConfig } from '../../config/app-config.js';
import { ProcurementError, toProcurementError } from './procurement-errors.js';
import { isResourceId } from './resource-names.js';

export type Entitlement = cloudcommerceprocurement_v1.Schema$Entitlement;
export type Account = cloudcommerceprocurement_v1.Schema$Account;

/** Retry and timeout settings for Procurement API calls. */
export const PROCUREMENT_DEFAULTS = {
  /** Attempts per call on 429, 5xx and network errors; other 4xx are never retried. */
  attempts: 4,
  /** First backoff; doubles per attempt, with full jitter. */
  initialBackoffMs: 200,
  maxBackoffMs: 3_000,
  /** Per-request timeout. */
  timeoutMs: 10_000,
  /** Page size for list calls (the API's default for entitlements is 200). */
  pageSize: 200,
  /** Reject reasons longer than this are refused by us (the API would silently truncate). */
  maxReasonBytes: 256,
} as const;

interface CallOptions {
  retry: false;
  timeout: number;
  fetchImplementation: typeof fetch;
}

/**
 * Options of every generated-client call. Node's own `fetch` (undici) carries the requests: gaxios
 * would otherwise load `node-fetch`, whose stream plumbing costs ~0.1 ms of CPU more per call
 * (docs/performance.md, fifth session).
 */
const CALL_OPTIONS: CallOptions = {
  retry: false,
  timeout: PROCUREMENT_DEFAULTS.timeoutMs,
  fetchImplementation: (input, init) => fetch(input, init),
};

/**
 * The Cloud Commerce Partner Procurement API, on the per-API package (the monolithic
 * `googleapis` costs ~0.6 s and ~90 MB at every cold start). The only file that knows the
 * generated client; errors come out as `ProcurementError`.
 */
@Injectable()
export class ProcurementClient {
  private readonly api: cloudcommerceprocurement_v1.Cloudcommerceprocurement;
  readonly providerId: string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const { MARKETPLACE_PROVIDER_ID, PROCUREMENT_ROOT_URL, PROCUREMENT_STATIC_TOKEN } = config.env;
    this.providerId = MARKETPLACE_PROVIDER_ID ?? '';
    this.api = cloudcommerceprocurement({
      version: 'v1',
      // The client keeps only the origin of rootUrl: a fake must serve /v1/... itself.
      ...(PROCUREMENT_ROOT_URL ? { rootUrl: PROCUREMENT_ROOT_URL.replace(/\/?$/, '/') } : {}),
      auth: PROCUREMENT_STATIC_TOKEN
        ? staticToken(PROCUREMENT_STATIC_TOKEN)
        : new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }),
    });
    this.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  }

  /** Throws `invalid_name` (never sent, never retried) for an id that cannot name a resource. */
  entitlementName(entitlementId: string): string {
    return `providers/${this.providerId}/entitlements/${checkedId('entitlement', entitlementId)}`;
  }

  accountName(accountId: string): string {
    return `providers/${this.providerId}/accounts/${checkedId('account', accountId)}`;
  }

  /** The entitlement, or `null` when the API answers 404 (it is gone). */
  async getEntitlement(entitlementId: string): Promise<Entitlement | null> {
    const name = this.entitlementName(entitlementId);
    return this.orNull(() =>
      this.call(`entitlements.get ${name}`, (o) => this.api.providers.entitlements.get({ name }, o)),
    );
  }

  async getAccount(accountId: string): Promise<Account | null> {
    const name = this.accountName(accountId);
    return this.orNull(() => this.call(`accounts.get ${name}`, (o) => this.api.providers.accounts.get({ name }, o)));
  }

  /** One page of the entitlements matching `filter` (e.g. `state=active`); `nextPageToken` is absent on the last. */
  async listEntitlementsPage(
    filter: string | undefined,
    pageToken: string | undefined,
  ): Promise<{ items: Entitlement[]; nextPageToken?: string }> {
    const page = await this.call('entitlements.list', (o) =>
      this.api.providers.entitlements.list(
        { parent: `providers/${this.providerId}`, filter, pageSize: PROCUREMENT_DEFAULTS.pageSize, pageToken },
        o,
      ),
    );
    return { items: page.entitlements ?? [], nextPageToken: page.nextPageToken ?? undefined };
  }

  /** Every entitlement matching `filter`, all pages: only for lists known to be short (those waiting for approval). */
  async listEntitlements(filter?: string): Promise<Entitlement[]> {
    const out: Entitlement[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.listEntitlementsPage(filter, pageToken);
      out.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** One page of the provider's accounts (Google's maximum page size for accounts is 200). */
  async listAccountsPage(pageToken: string | undefined): Promise<{ items: Account[]; nextPageToken?: string }> {
    const page = await this.call('accounts.list', (o) =>
      this.api.providers.accounts.list({ parent: `providers/${this.providerId}`, pageSize: 200, pageToken }, o),
    );
    return { items: page.accounts ?? [], nextPageToken: page.nextPageToken ?? undefined };
  }

  async approveEntitlement(entitlementId: string): Promise<void> {
    const name = this.entitlementName(entitlementId);
    await this.call(`entitlements.approve ${name}`, (o) =>
      this.api.providers.entitlements.approve({ name, requestBody: {} }, o),
    );
  }

  async rejectEntitlement(entitlementId: string, reason: string): Promise<void> {
    assertReason(reason);
    const name = this.entitlementName(entitlementId);
    await this.call(`entitlements.reject ${name}`, (o) =>
      this.api.providers.entitlements.reject({ name, requestBody: { reason } }, o),
    );
  }

  async approvePlanChange(entitlementId: string, pendingPlanName: string): Promise<void> {
    const name = this.entitlementName(entitlementId);
    await this.call(`entitlements.approvePlanChange ${name}`, (o) =>
      this.api.providers.entitlements.approvePlanChange({ name, requestBody: { pendingPlanName } }, o),
    );
  }

  async rejectPlanChange(entitlementId: string, pendingPlanName: string, reason: string): Promise<void> {
    assertReason(reason);
    const name = this.entitlementName(entitlementId);
    await this.call(`entitlements.rejectPlanChange ${name}`, (o) =>
      this.api.providers.entitlements.rejectPlanChange({ name, requestBody: { pendingPlanName, reason } }, o),
    );
  }

  /**
   * `entitlements.patch` of `messageToUser`, the text the buyer sees on the Marketplace while the
   * entitlement waits (writable only in ACTIVATION_REQUESTED and PENDING_PLAN_CHANGE_APPROVAL); `''` clears it.
   * Returns the entitlement as patched (its `updateTime` moved).
   */
  async setMessageToUser(entitlementId: string, messageToUser: string): Promise<Entitlement> {
    const name = this.entitlementName(entitlementId);
    return this.call(`entitlements.patch ${name}`, (o) =>
      this.api.providers.entitlements.patch({ name, updateMask: 'messageToUser', requestBody: { messageToUser } }, o),
    );
  }

  /** `accounts.reset`: for the seller's own test accounts; cancels the account's entitlements, sign-up back to PENDING. */
  async resetAccount(accountId: string): Promise<void> {
    const name = this.accountName(accountId);
    await this.call(`accounts.reset ${name}`, (o) => this.api.providers.accounts.reset({ name, requestBody: {} }, o));
  }

  async approveAccount(accountId: string, reason?: string): Promise<void> {
    const name = this.accountName(accountId);
    await this.call(`accounts.approve ${name}`, (o) =>
      this.api.providers.accounts.approve({ name, requestBody: { approvalName: 'signup', reason } }, o),
    );
  }

  async rejectAccount(accountId: string, reason: string): Promise<void> {
    assertReason(reason);
    const name = this.accountName(accountId);
    await this.call(`accounts.reject ${name}`, (o) =>
      this.api.providers.accounts.reject({ name, requestBody: { approvalName: 'signup', reason } }, o),
    );
  }

  private async orNull<T>(fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ProcurementError && error.kind === 'not_found') return null;
      throw error;
    }
  }

  /**
   * One line per call that failed for good (after the retries, or at once when not retryable), whatever the
   * caller makes of it: what the "Procurement API calls failing" alert counts (deploy/monitoring), by method and kind.
   */
  private failed(what: string, error: ProcurementError, attempts: number): void {
    if (EXPECTED_KINDS.has(error.kind)) return;
    this.logger.warning('procurement call failed', {
      method: what.split(' ')[0],
      kind: error.kind,
      httpStatus: error.httpStatus ?? null,
      grpcStatus: error.grpcStatus ?? null,
      attempts,
      error: error.message,
    });
  }

  /** One call with our own backoff; the generated client's built-in retry is off so policy is in one place. */
  private async call<T>(what: string, request: (options: CallOptions) => Promise<{ data: T }>): Promise<T> {
    if (!this.providerId) throw new ProcurementError('invalid_argument', 'MARKETPLACE_PROVIDER_ID is not configured');
    for (let attempt = 1; ; attempt++) {
      try {
        return (await request({ ...CALL_OPTIONS })).data; // a copy: the client may add to its options
      } catch (raw) {
        const error = toProcurementError(raw, what);
        if (!error.retryable || attempt >= PROCUREMENT_DEFAULTS.attempts) {
          this.failed(what, error, attempt);
          throw error;
        }
        const cap = Math.min(
          PROCUREMENT_DEFAULTS.maxBackoffMs,
          PROCUREMENT_DEFAULTS.initialBackoffMs * 2 ** (attempt - 1),
        );
        await this.sleep(Math.random() * cap);
      }
    }
  }
}

/** Answers the callers expect and handle as a result, not as a failure: a read of something Google does not have. */
const EXPECTED_KINDS = new Set(['not_found']);

function checkedId(what: 'entitlement' | 'account', id: string): string {
  if (isResourceId(id)) return id;
  throw new ProcurementError('invalid_name', `${JSON.stringify(id.slice(0, 80))} is not a Procurement ${what} id`);
}

function staticToken(token: string): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 10 * 365 * 86_400_000 });
  return client;
}

function assertReason(reason: string): void {
  const bytes = Buffer.byteLength(reason, 'utf8');
  if (bytes > PROCUREMENT_DEFAULTS.maxReasonBytes) {
    throw new ProcurementError(
      'invalid_argument',
      `reason is ${bytes} bytes; the Procurement API allows at most ${PROCUREMENT_DEFAULTS.maxReasonBytes}`,
    );
  }
}
