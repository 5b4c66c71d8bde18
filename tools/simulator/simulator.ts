/**
 * The marketplace simulator: plays the customer and Google against the fake Procurement API
 * and publishes the Pub/Sub messages Google would send for each action, in order.
 * It talks to the fake only through its `/__control/` HTTP API, so the fake may run in another process.
 */
import type { Topic } from '@google-cloud/pubsub';
import type { MarketplaceMessage } from '../fake-procurement/messages.js';
import type { EntitlementInspection } from '../fake-procurement/state.js';
import type { Account, Entitlement } from '../fake-procurement/types.js';

/** Publishes one message `data` object and resolves to the Pub/Sub message id. */
export type Publish = (data: object) => Promise<string>;

export interface MarketplaceSimulatorOptions {
  /** Base URL of the fake, e.g. `http://127.0.0.1:8089`. */
  procurementUrl: string;
  providerId: string;
  publish: Publish;
}

export interface SimulationResult {
  entitlementId?: string;
  accountId?: string;
  entitlement?: Entitlement;
  account?: Account;
  /** The message payloads published, in publishing order. */
  messages: MarketplaceMessage[];
  /** The Pub/Sub message id of each published message. */
  messageIds: string[];
}

export interface BuyOptions {
  /** An existing account, or the id to sign up with; a new account is signed up when omitted. */
  accountId?: string;
  product: string;
  plan: string;
  offerDuration?: string;
  /** RFC 3339 start of an offer accepted now but starting later. */
  futureStart?: string;
  /** Automatic offer approval: Google approves by itself and announces ENTITLEMENT_OFFER_ACCEPTED only. */
  automaticApproval?: boolean;
  offer?: string;
  usageReportingId?: string;
}

export interface AcceptOfferOptions {
  offer: string;
  plan?: string;
  offerDuration?: string;
  startTime: string;
  endTime?: string;
}

/** A refusal from the fake, carrying Google's HTTP and RPC status. */
export class SimulatorError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly status?: string,
  ) {
    super(message);
    this.name = 'SimulatorError';
  }
}

interface ControlOutcome {
  entitlement?: Entitlement;
  account?: Account;
  messages: MarketplaceMessage[];
}

export class MarketplaceSimulator {
  private readonly baseUrl: string;
  private readonly controlRoot: string;

  constructor(private readonly options: MarketplaceSimulatorOptions) {
    this.controlRoot = `${options.procurementUrl.replace(/\/+$/, '')}/__control`;
    this.baseUrl = `${this.controlRoot}/providers/${encodeURIComponent(options.providerId)}`;
  }

  /** A customer's first purchase creates their account (signup PENDING) and Google announces ACCOUNT_ACTIVE. */
  signUpAccount(options: { accountId?: string } = {}): Promise<SimulationResult> {
    return this.act('POST', '/accounts', options);
  }

  /** What the seller's sign-up page does once the user exists: approve the `signup` approval. */
  approveAccount(accountId: string, options: { reason?: string } = {}): Promise<SimulationResult> {
    return this.act('POST', `/accounts/${encodeURIComponent(accountId)}:approve`, options);
  }

  async buy(options: BuyOptions): Promise<SimulationResult> {
    const { accountId: requested, ...purchase } = options;
    const signUp =
      requested && (await this.accountExists(requested))
        ? undefined
        : await this.signUpAccount(requested ? { accountId: requested } : {});
    const accountId = requested ?? signUp?.accountId ?? '';
    const bought = await this.act('POST', '/entitlements', { accountId, ...purchase });
    return {
      ...bought,
      accountId,
      messages: [...(signUp?.messages ?? []), ...bought.messages],
      messageIds: [...(signUp?.messageIds ?? []), ...bought.messageIds],
    };
  }

  /** Google activates an entitlement the provider approved; refused with a clear error otherwise. */
  activate(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'activate');
  }

  /** `takesEffect: 'now'`: once approved, the change applies at once (ACTIVE, ENTITLEMENT_PLAN_CHANGED). */
  changePlan(
    entitlementId: string,
    plan: string,
    options: { offerDuration?: string; takesEffect?: 'now' | 'endOfTerm' } = {},
  ): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'requestPlanChange', { plan, ...options });
  }

  /**
   * Publishes what Google announced for the provider's own calls (a direct plan change, a rejected plan
   * change) when the fake has no publisher of its own (`--publish-topic`).
   */
  async flush(): Promise<SimulationResult> {
    return this.act('POST', '', undefined, `${this.controlRoot}/messages:take`);
  }

  /** The approved plan change takes effect at the end of the billing cycle. */
  completePlanChange(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'completePlanChange');
  }

  cancelPlanChange(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'cancelPlanChange');
  }

  cancel(
    entitlementId: string,
    options: { atPeriodEnd?: boolean; announceCancelling?: boolean } = {},
  ): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'cancel', {
      atPeriodEnd: options.atPeriodEnd ?? true,
      ...(options.announceCancelling ? { announceCancelling: true } : {}),
    });
  }

  /** The term of an entitlement pending cancellation runs out. */
  endPeriod(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'endPeriod');
  }

  revertCancellation(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'revertCancellation');
  }

  /** Google suspends the entitlement (e.g. billing problems) and announces it. */
  suspend(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'suspend');
  }

  /** Google lifts the suspension: the entitlement is ACTIVE again. */
  reinstate(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'reinstate');
  }

  renew(entitlementId: string): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'renew');
  }

  acceptOffer(entitlementId: string, options: AcceptOfferOptions): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'acceptOffer', options);
  }

  offerEnded(entitlementId: string, options: { cancel?: boolean } = {}): Promise<SimulationResult> {
    return this.onEntitlement(entitlementId, 'endOffer', options);
  }

  /** Marketplace deletes a cancelled entitlement; the API answers 404 for it afterwards. */
  deleteEntitlement(entitlementId: string): Promise<SimulationResult> {
    return this.act('DELETE', `/entitlements/${encodeURIComponent(entitlementId)}`);
  }

  deleteAccount(accountId: string): Promise<SimulationResult> {
    return this.act('DELETE', `/accounts/${encodeURIComponent(accountId)}`);
  }

  async listEntitlements(): Promise<EntitlementInspection[]> {
    return (await this.request<{ entitlements: EntitlementInspection[] }>('GET', '/entitlements')).entitlements;
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.request<{ accounts: Account[] }>('GET', '/accounts')).accounts;
  }

  getEntitlement(entitlementId: string): Promise<EntitlementInspection> {
    return this.request<EntitlementInspection>('GET', `/entitlements/${encodeURIComponent(entitlementId)}`);
  }

  private onEntitlement(entitlementId: string, verb: string, body: object = {}): Promise<SimulationResult> {
    return this.act('POST', `/entitlements/${encodeURIComponent(entitlementId)}:${verb}`, body);
  }

  private async accountExists(accountId: string): Promise<boolean> {
    try {
      await this.request('GET', `/accounts/${encodeURIComponent(accountId)}`);
      return true;
    } catch (error) {
      if (error instanceof SimulatorError && error.httpStatus === 404) return false;
      throw error;
    }
  }

  /** Performs one action on the fake, then publishes its messages one by one, in order. */
  private async act(method: string, path: string, body?: object, url?: string): Promise<SimulationResult> {
    const outcome = await this.request<ControlOutcome>(method, path, body, url);
    const messageIds: string[] = [];
    for (const message of outcome.messages) messageIds.push(await this.options.publish(message));
    return { ...outcome, ...idsOf(outcome), messageIds };
  }

  private async request<T>(method: string, path: string, body?: object, url?: string): Promise<T> {
    const response = await fetch(url ?? `${this.baseUrl}${path}`, {
      method,
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    const payload = (await response.json()) as T & { error?: { message?: string; status?: string } };
    if (!response.ok) {
      throw new SimulatorError(
        payload.error?.message ?? `${method} ${path} answered ${response.status}`,
        response.status,
        payload.error?.status,
      );
    }
    return payload;
  }
}

/** Builds a `publish` function for a `@google-cloud/pubsub` topic (honours PUBSUB_EMULATOR_HOST). */
export function pubsubPublisher(topic: Topic): Publish {
  return (data) => topic.publishMessage({ data: Buffer.from(JSON.stringify(data)) });
}

function idsOf(outcome: ControlOutcome): { entitlementId?: string; accountId?: string } {
  const entitlementId = lastSegment(outcome.entitlement?.name);
  const accountId = lastSegment(outcome.account?.name ?? outcome.entitlement?.account);
  return { ...(entitlementId ? { entitlementId } : {}), ...(accountId ? { accountId } : {}) };
}

function lastSegment(name: string | undefined): string | undefined {
  return name?.slice(name.lastIndexOf('/') + 1);
}
