/**
 * The fake's in-memory Procurement back end: accounts, entitlements and their state machine.
 *
 * Two kinds of operations change it:
 * - provider calls, as the Partner Procurement API v1 serves them (approve, reject, plan-change
 *   approvals, accounts.approve/reject/reset, messageToUser patch);
 * - marketplace events, i.e. what a customer or Google itself does (purchase, activation, plan change,
 *   cancellation, renewal, deletion). These return the Pub/Sub messages Google would publish.
 *
 * Every operation returns a `Result`: refusals are values carrying Google's error, never exceptions.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { addDuration, isIsoDuration, monotonicClock, parseTimestamp, type Clock } from './clock.js';
import { attempt, errors, refuse, unwrap, type Result } from './errors.js';
import { parseEntitlementFilter } from './filter.js';
import {
  accountMessage,
  entitlementMessage,
  type EntitlementEventType,
  type EntitlementMessageExtras,
  type MarketplaceMessage,
} from './messages.js';
import { PAGE_SIZES, paginate, withPage, type ListRequest } from './paging.js';
import type {
  AcceptOfferOptions,
  AccountDecision,
  ApproveEntitlementRequest,
  CancelOptions,
  CreateAccountOptions,
  EntitlementInspection,
  ListAccountsResponse,
  ListEntitlementsResponse,
  MarketplaceOutcome,
  PatchEntitlementRequest,
  PlanChangeDecision,
  PlanChangeOptions,
  PurchaseOptions,
  RemovedEntitlement,
} from './requests.js';
import {
  accountName,
  entitlementName,
  lastSegment,
  SIGNUP_APPROVAL,
  type Account,
  type ApprovalState,
  type Entitlement,
  type EntitlementState,
} from './types.js';

export * from './requests.js';
export { PAGE_SIZES } from './paging.js';

/** Free-text reasons are capped at 256 bytes; the API truncates longer ones instead of refusing them. */
export const REASON_MAX_BYTES = 256;

const DEFAULT_OFFER_DURATION = 'P1M';
const DEMO_PROJECT_NUMBER = '123456789012';
const ACCOUNT_VIEWS = ['', 'ACCOUNT_VIEW_UNSPECIFIED', 'ACCOUNT_VIEW_BASIC', 'ACCOUNT_VIEW_FULL'];

const STATES_WITH_WRITABLE_MESSAGE: readonly EntitlementState[] = [
  'ENTITLEMENT_ACTIVATION_REQUESTED',
  'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
];
const LIVE_STATES: readonly EntitlementState[] = [
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_PENDING_PLAN_CHANGE',
  'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
];

// ---- internals -------------------------------------------------------------------------------

interface EntitlementRecord {
  seq: number;
  resource: Entitlement;
  approved: boolean;
  /** Who approved the activation: the provider (`entitlements.approve`) or Google (automatic offer approval). */
  approvedBy?: 'provider' | 'google';
  /** When an approved plan change takes effect (see `requestPlanChange`). */
  planChangeTakesEffect?: 'now' | 'endOfTerm';
  futureStart?: string;
  fixedOfferEnd?: string;
  approveRequest?: ApproveEntitlementRequest;
  planChangeRejectionReason?: string;
}

interface AccountRecord {
  seq: number;
  resource: Account;
  /** Eventual consistency: `accounts.get` answers this older copy while `staleReads` lasts. */
  previous?: Account;
  staleReads?: number;
}

/** How far reads may lag behind writes (undocumented by Google; see README "Eventual consistency"). */
export interface ConsistencyOptions {
  /** After `accounts.approve`/`reject`/`reset`, this many `accounts.get` calls still answer the old account. */
  staleAccountReads?: number;
}

interface ProviderData {
  accounts: Map<string, AccountRecord>;
  entitlements: Map<string, EntitlementRecord>;
  removed: Map<string, RemovedEntitlement>;
}

export class ProcurementState {
  private readonly providers = new Map<string, ProviderData>();
  private readonly clock: Clock;
  private seq = 0;
  /** Messages Google publishes as a result of provider calls (e.g. PLAN_CHANGED after a direct plan change). */
  private published: MarketplaceMessage[] = [];
  private consistency: Required<ConsistencyOptions> = { staleAccountReads: 0 };

  constructor(options: { providerIds: readonly string[]; clock?: Clock }) {
    this.clock = options.clock ?? monotonicClock();
    for (const providerId of options.providerIds) this.providers.set(providerId, emptyProvider());
  }

  get providerIds(): string[] {
    return [...this.providers.keys()];
  }

  hasProvider(providerId: string): boolean {
    return this.providers.has(providerId);
  }

  /** Forgets every account and entitlement (and any queued message or consistency lag). */
  clear(): void {
    for (const providerId of this.providers.keys()) this.providers.set(providerId, emptyProvider());
    this.published = [];
    this.consistency = { staleAccountReads: 0 };
  }

  /**
   * The Pub/Sub messages Google published for provider calls since the last take, in order: a direct
   * plan change (ENTITLEMENT_PLAN_CHANGED) or a rejected one (ENTITLEMENT_PLAN_CHANGE_CANCELLED).
   * Customer and Google actions return theirs in their outcome instead.
   */
  takePublished(): MarketplaceMessage[] {
    return this.published.splice(0);
  }

  setConsistency(options: ConsistencyOptions): void {
    this.consistency = { staleAccountReads: Math.max(0, Math.floor(options.staleAccountReads ?? 0)) };
  }

  // ---- provider API: entitlements ------------------------------------------------------------

  getEntitlement(providerId: string, entitlementId: string): Result<Entitlement> {
    return attempt(() => clone(this.entitlement(providerId, entitlementId).resource));
  }

  listEntitlements(providerId: string, request: ListRequest = {}): Result<ListEntitlementsResponse> {
    return attempt(() => {
      const matches = unwrap(parseEntitlementFilter(request.filter));
      const records = [...this.provider(providerId).entitlements.values()].filter((r) => matches(r.resource));
      const page = paginate(records, `entitlements:${request.filter ?? ''}`, request, PAGE_SIZES.entitlements);
      return withPage(
        'entitlements',
        page.items.map((r) => clone(r.resource)),
        page.nextPageToken,
      );
    });
  }

  approveEntitlement(
    providerId: string,
    entitlementId: string,
    request: ApproveEntitlementRequest = {},
  ): Result<Entitlement> {
    return attempt(() => {
      if (
        request.entitlementMigrated !== undefined &&
        !/^providers\/[^/]+\/entitlements\/[^/]+$/.test(request.entitlementMigrated)
      ) {
        refuse(errors.invalidArgument());
      }
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_ACTIVATION_REQUESTED']);
      // Google approved it itself (automatic offer approval): nothing is left for the provider (a guess; see README).
      if (record.approvedBy === 'google') refuse(errors.failedPrecondition());
      if (!this.signupApproved(providerId, record.resource.account)) refuse(errors.failedPrecondition());
      // Approving twice before Google activates is accepted as a no-op (undocumented; see README).
      if (record.approved) return clone(record.resource);
      record.approveRequest = clone(request);
      this.markApproved(record, 'provider');
      return clone(record.resource);
    });
  }

  /** The real API removes a rejected entitlement: a later `get` answers 404. */
  rejectEntitlement(
    providerId: string,
    entitlementId: string,
    request: { reason?: string } = {},
  ): Result<RemovedEntitlement> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_ACTIVATION_REQUESTED']);
      if (record.approved) refuse(errors.failedPrecondition());
      return this.remove(providerId, entitlementId, 'reject', truncateReason(request.reason));
    });
  }

  approvePlanChange(providerId: string, entitlementId: string, request: PlanChangeDecision): Result<Entitlement> {
    return attempt(() => {
      const record = this.pendingPlanChange(providerId, entitlementId, request);
      const now = this.clock();
      const offerEnd = record.resource.offerEndTime;
      const termRunning = offerEnd !== undefined && parseTimestamp(offerEnd) > parseTimestamp(now);
      if (record.planChangeTakesEffect === 'now' || !termRunning) {
        // No billing cycle to wait for: the change takes effect at once and Google announces it.
        const newPlan = record.resource.newPendingPlan;
        this.switchPlan(record, now);
        this.published.push(this.message('ENTITLEMENT_PLAN_CHANGED', record, { newPlan }));
      } else {
        this.update(record, { state: 'ENTITLEMENT_PENDING_PLAN_CHANGE', newOfferStartTime: offerEnd }, now);
      }
      return clone(record.resource);
    });
  }

  rejectPlanChange(providerId: string, entitlementId: string, request: PlanChangeDecision): Result<Entitlement> {
    return attempt(() => {
      const record = this.pendingPlanChange(providerId, entitlementId, request);
      record.planChangeRejectionReason = truncateReason(request.reason);
      delete record.planChangeTakesEffect;
      this.update(record, { state: 'ENTITLEMENT_ACTIVE', ...NO_PENDING_CHANGE });
      // "cancelled, either because it wasn't approved, or they switched back to their old plan".
      this.published.push(this.message('ENTITLEMENT_PLAN_CHANGE_CANCELLED', record));
      return clone(record.resource);
    });
  }

  /** `entitlements.patch`: only `messageToUser` is writable, and only while the provider is being asked something. */
  patchEntitlement(
    providerId: string,
    entitlementId: string,
    body: PatchEntitlementRequest,
    updateMask?: string,
  ): Result<Entitlement> {
    return attempt(() => {
      // Without a mask, output-only fields in the body are ignored and only messageToUser counts.
      const fields =
        updateMask === undefined ? Object.keys(body).filter((f) => f === 'messageToUser') : splitMask(updateMask);
      if (fields.length === 0 || fields.some((f) => f !== 'messageToUser' && f !== 'message_to_user')) {
        refuse(errors.invalidArgument());
      }
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, STATES_WITH_WRITABLE_MESSAGE);
      this.update(record, { messageToUser: body.messageToUser || undefined });
      return clone(record.resource);
    });
  }

  /** Documented as "not yet supported"; the fake answers 501 UNIMPLEMENTED (see README). */
  suspendEntitlement(providerId: string, entitlementId: string): Result<never> {
    return attempt(() => {
      this.entitlement(providerId, entitlementId);
      return refuse(errors.unimplemented('Suspending an entitlement is not yet supported.'));
    });
  }

  // ---- provider API: accounts ----------------------------------------------------------------

  getAccount(providerId: string, accountId: string, view = ''): Result<Account> {
    return attempt(() => {
      if (!ACCOUNT_VIEWS.includes(view)) refuse(errors.invalidArgument());
      const record = this.account(providerId, accountId);
      let source = record.resource;
      if (record.previous && (record.staleReads ?? 0) > 0) {
        record.staleReads = (record.staleReads ?? 0) - 1;
        source = record.previous;
      }
      const account = clone(source);
      if (view !== 'ACCOUNT_VIEW_FULL') delete account.resellerParentBillingAccount;
      return account;
    });
  }

  listAccounts(providerId: string, request: ListRequest = {}): Result<ListAccountsResponse> {
    return attempt(() => {
      const records = [...this.provider(providerId).accounts.values()];
      const page = paginate(records, 'accounts', request, PAGE_SIZES.accounts);
      return withPage(
        'accounts',
        page.items.map((r) => basicView(r.resource)),
        page.nextPageToken,
      );
    });
  }

  /** Approving an approval that is already APPROVED is refused with FAILED_PRECONDITION (undocumented; see README). */
  approveAccount(providerId: string, accountId: string, request: AccountDecision = {}): Result<Account> {
    return attempt(() => this.decideSignup(providerId, accountId, request, 'APPROVED'));
  }

  rejectAccount(providerId: string, accountId: string, request: AccountDecision = {}): Result<Account> {
    return attempt(() => this.decideSignup(providerId, accountId, request, 'REJECTED'));
  }

  /** A test tool: cancels every entitlement of the account and puts sign-up back to PENDING. Google publishes nothing. */
  resetAccount(providerId: string, accountId: string): Result<Account> {
    return attempt(() => {
      const record = this.account(providerId, accountId);
      this.keepForStaleReads(record);
      for (const entitlement of this.entitlementsOf(providerId, accountId)) {
        if (entitlement.resource.state !== 'ENTITLEMENT_CANCELLED') this.cancelNow(entitlement, 'unknown');
      }
      const now = this.clock();
      record.resource.approvals = [{ name: SIGNUP_APPROVAL, state: 'PENDING', updateTime: now }];
      record.resource.updateTime = now;
      return clone(record.resource);
    });
  }

  // ---- marketplace events: what customers and Google do --------------------------------------

  createAccount(providerId: string, options: CreateAccountOptions = {}): Result<MarketplaceOutcome> {
    return attempt(() => {
      const data = this.provider(providerId);
      const event = options.accountEvent ?? 'ACCOUNT_ACTIVE';
      if (!['ACCOUNT_ACTIVE', 'ACCOUNT_CREATION_REQUESTED', 'NONE'].includes(event)) refuse(errors.invalidArgument());
      const accountId = options.accountId ?? newAccountId();
      if (data.accounts.has(accountId)) refuse(errors.alreadyExists());
      const now = this.clock();
      const account: Account = {
        name: accountName(providerId, accountId),
        provider: providerId,
        state: 'ACCOUNT_ACTIVE',
        approvals: [{ name: SIGNUP_APPROVAL, state: options.signupApproved ? 'APPROVED' : 'PENDING', updateTime: now }],
        ...(options.inputProperties ? { inputProperties: clone(options.inputProperties) } : {}),
        ...(options.resellerParentBillingAccount
          ? { resellerParentBillingAccount: options.resellerParentBillingAccount }
          : {}),
        createTime: now,
        updateTime: now,
      };
      data.accounts.set(accountId, { seq: this.nextSeq(), resource: account });
      const messages = event === 'NONE' ? [] : [accountMessage(event, providerId, { id: accountId, updateTime: now })];
      return { account: clone(account), messages };
    });
  }

  /** A purchase: the entitlement starts in ACTIVATION_REQUESTED and waits for the provider. */
  createEntitlement(providerId: string, options: PurchaseOptions): Result<MarketplaceOutcome> {
    return attempt(() => {
      const data = this.provider(providerId);
      this.account(providerId, options.accountId);
      validatePurchase(options);
      const entitlementId = options.entitlementId ?? randomUUID();
      if (data.entitlements.has(entitlementId)) refuse(errors.alreadyExists());
      const now = this.clock();
      const resource = newEntitlement(providerId, entitlementId, options, now);
      const record: EntitlementRecord = { seq: this.nextSeq(), resource, approved: false };
      if (options.futureStart) record.futureStart = options.futureStart;
      if (options.offerEndTime) record.fixedOfferEnd = options.offerEndTime;
      data.entitlements.set(entitlementId, record);
      const messages: MarketplaceMessage[] = [];
      if (options.automaticApproval) {
        // Automatic offer approval: Google approves by itself and announces only the accepted offer.
        this.markApproved(record, 'google', now);
      } else {
        // Google's SaaS sample names the term `newOfferDuration` here, `newPendingOfferDuration` elsewhere.
        messages.push(
          this.message('ENTITLEMENT_CREATION_REQUESTED', record, { newOfferDuration: resource.offerDuration }),
        );
      }
      if (options.futureStart || options.automaticApproval) {
        const r = record.resource;
        messages.push(
          this.message('ENTITLEMENT_OFFER_ACCEPTED', record, {
            newPlan: r.plan,
            newProduct: r.productExternalName,
            newOffer: r.offer,
            newPendingOfferDuration: r.offerDuration,
            newOfferStartTime: r.newOfferStartTime ?? options.futureStart,
            newOfferEndTime: r.newOfferEndTime ?? options.offerEndTime,
            orderId: r.orderId,
            entitlementBenefitIds: r.entitlementBenefitIds,
          }),
        );
      }
      return { entitlement: clone(record.resource), messages };
    });
  }

  /** What Google does after the provider approved: the entitlement becomes ACTIVE and billing starts. */
  activateEntitlement(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_ACTIVATION_REQUESTED'], 'only a requested entitlement can be activated');
      if (!record.approved) {
        refuse(
          errors.failedPrecondition(
            `Entitlement ${entitlementId} has not been approved by the provider (call entitlements.approve first).`,
          ),
        );
      }
      const now = this.clock();
      const { offerDuration } = record.resource;
      this.update(
        record,
        {
          state: 'ENTITLEMENT_ACTIVE',
          offerEndTime: offerDuration ? addDuration(now, offerDuration) : record.fixedOfferEnd,
          newOfferStartTime: undefined,
          newOfferEndTime: undefined,
        },
        now,
      );
      return this.outcome(record, this.message('ENTITLEMENT_ACTIVE', record));
    });
  }

  requestPlanChange(providerId: string, entitlementId: string, options: PlanChangeOptions): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_ACTIVE'], 'plan changes are possible only on an ACTIVE entitlement');
      if (!options.plan || options.plan === record.resource.plan) {
        refuse(errors.invalidArgument('The new plan must differ from the current plan.'));
      }
      if (options.offerDuration !== undefined && !isIsoDuration(options.offerDuration)) {
        refuse(errors.invalidArgument('offerDuration must be an ISO-8601 duration.'));
      }
      if (options.takesEffect !== undefined && !['now', 'endOfTerm'].includes(options.takesEffect)) {
        refuse(errors.invalidArgument('takesEffect must be "now" or "endOfTerm".'));
      }
      record.planChangeTakesEffect = options.takesEffect ?? 'endOfTerm';
      this.update(record, {
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL',
        newPendingPlan: options.plan,
        newPendingOffer: options.offer,
        newPendingOfferDuration: options.offerDuration ?? record.resource.offerDuration,
      });
      const { newPendingPlan, newPendingOfferDuration } = record.resource;
      return this.outcome(
        record,
        this.message('ENTITLEMENT_PLAN_CHANGE_REQUESTED', record, { newPlan: newPendingPlan, newPendingOfferDuration }),
      );
    });
  }

  /** The approved change takes effect when the billing cycle ends. */
  completePlanChange(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        ['ENTITLEMENT_PENDING_PLAN_CHANGE'],
        'the plan change must be approved by the provider (entitlements.approvePlanChange) first',
      );
      const newPlan = record.resource.newPendingPlan;
      this.switchPlan(record, this.clock());
      return this.outcome(record, this.message('ENTITLEMENT_PLAN_CHANGED', record, { newPlan }));
    });
  }

  /** The customer withdraws a plan change that is awaiting approval or already approved. */
  cancelPlanChange(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        ['ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL', 'ENTITLEMENT_PENDING_PLAN_CHANGE'],
        'there is no pending plan change',
      );
      delete record.planChangeTakesEffect;
      this.update(record, { state: 'ENTITLEMENT_ACTIVE', ...NO_PENDING_CHANGE });
      return this.outcome(record, this.message('ENTITLEMENT_PLAN_CHANGE_CANCELLED', record));
    });
  }

  cancelEntitlement(
    providerId: string,
    entitlementId: string,
    options: CancelOptions = {},
  ): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      if (options.atPeriodEnd ?? true) {
        requireState(record, LIVE_STATES, 'only an active entitlement can be cancelled at the end of its term');
        this.update(record, {
          state: 'ENTITLEMENT_PENDING_CANCELLATION',
          subscriptionEndTime: record.resource.offerEndTime,
          ...NO_PENDING_CHANGE,
        });
        return this.outcome(record, this.message('ENTITLEMENT_PENDING_CANCELLATION', record));
      }
      requireState(
        record,
        [
          'ENTITLEMENT_ACTIVATION_REQUESTED',
          'ENTITLEMENT_PENDING_CANCELLATION',
          'ENTITLEMENT_SUSPENDED',
          ...LIVE_STATES,
        ],
        'the entitlement is already cancelled',
      );
      const cancelling = options.announceCancelling ? [this.message('ENTITLEMENT_CANCELLING', record)] : [];
      const reason =
        options.reason ??
        (record.resource.state === 'ENTITLEMENT_ACTIVATION_REQUESTED' ? 'user-aborted' : 'user-cancelled');
      this.cancelNow(record, reason);
      return this.outcome(record, ...cancelling, this.message('ENTITLEMENT_CANCELLED', record));
    });
  }

  /** The term of an entitlement pending cancellation ends. */
  endPeriod(
    providerId: string,
    entitlementId: string,
    options: { announceCancelling?: boolean } = {},
  ): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        ['ENTITLEMENT_PENDING_CANCELLATION'],
        'only an entitlement pending cancellation ends with its term',
      );
      const cancelling = options.announceCancelling ? [this.message('ENTITLEMENT_CANCELLING', record)] : [];
      this.cancelNow(record, 'user-cancelled');
      return this.outcome(record, ...cancelling, this.message('ENTITLEMENT_CANCELLED', record));
    });
  }

  revertCancellation(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_PENDING_CANCELLATION'], 'only a pending cancellation can be reverted');
      this.update(record, { state: 'ENTITLEMENT_ACTIVE', subscriptionEndTime: undefined });
      return this.outcome(record, this.message('ENTITLEMENT_CANCELLATION_REVERTED', record));
    });
  }

  /**
   * Google suspends a usable entitlement (e.g. a billing problem): ENTITLEMENT_SUSPENDED. Control side
   * only; the partner-facing `entitlements.suspend` stays unimplemented as in Google's API.
   */
  suspendByGoogle(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        ['ENTITLEMENT_ACTIVE', 'ENTITLEMENT_PENDING_CANCELLATION', 'ENTITLEMENT_PENDING_PLAN_CHANGE'],
        'only a usable entitlement can be suspended',
      );
      this.update(record, { state: 'ENTITLEMENT_SUSPENDED' });
      return this.outcome(record, this.message('ENTITLEMENT_SUSPENDED', record));
    });
  }

  /** Google lifts a suspension: SUSPENDED → ACTIVE, announced as ENTITLEMENT_ACTIVE. */
  reinstate(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_SUSPENDED'], 'only a suspended entitlement can be reinstated');
      this.update(record, { state: 'ENTITLEMENT_ACTIVE' });
      return this.outcome(record, this.message('ENTITLEMENT_ACTIVE', record));
    });
  }

  /** Auto-renewal at the end of a term: the offer end moves one term forward. */
  renewEntitlement(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        ['ENTITLEMENT_ACTIVE', 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL'],
        'only an active entitlement renews',
      );
      const { offerDuration, offerEndTime } = record.resource;
      if (!offerDuration) refuse(errors.failedPrecondition('An offer with a fixed end date does not renew.'));
      const now = this.clock();
      this.update(record, { offerEndTime: addDuration(offerEndTime ?? now, offerDuration) }, now);
      return this.outcome(record, this.message('ENTITLEMENT_RENEWED', record));
    });
  }

  /** An active customer accepts a new (private) offer starting later: it waits in PENDING_PLAN_CHANGE. */
  acceptOffer(providerId: string, entitlementId: string, options: AcceptOfferOptions): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_ACTIVE'], 'only an active entitlement can move to a new offer');
      validateTimestamp(options.startTime, 'startTime');
      if (options.endTime !== undefined) validateTimestamp(options.endTime, 'endTime');
      this.update(record, {
        state: 'ENTITLEMENT_PENDING_PLAN_CHANGE',
        newPendingPlan: options.plan ?? record.resource.plan,
        newPendingOffer: options.offer,
        newPendingOfferDuration: options.offerDuration,
        newOfferStartTime: options.startTime,
        newOfferEndTime: options.endTime,
      });
      const r = record.resource;
      return this.outcome(
        record,
        this.message('ENTITLEMENT_OFFER_ACCEPTED', record, {
          newPlan: r.newPendingPlan,
          newProduct: r.productExternalName,
          newOffer: r.newPendingOffer,
          newPendingOfferDuration: r.newPendingOfferDuration,
          newOfferStartTime: r.newOfferStartTime,
          newOfferEndTime: r.newOfferEndTime,
          orderId: r.orderId,
        }),
      );
    });
  }

  /**
   * A (private) offer ends. Google then either cancels the entitlement or keeps it running at list
   * price; in the latter case `offerEndTime` stays in the past.
   */
  endOffer(providerId: string, entitlementId: string, options: { cancel?: boolean } = {}): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(
        record,
        [...LIVE_STATES, 'ENTITLEMENT_PENDING_CANCELLATION'],
        'the entitlement has no running offer',
      );
      const now = this.clock();
      this.update(record, { offerEndTime: now }, now);
      const messages = [this.message('ENTITLEMENT_OFFER_ENDED', record)];
      if (options.cancel) {
        this.cancelNow(record, 'expired');
        messages.push(this.message('ENTITLEMENT_CANCELLED', record));
      }
      return this.outcome(record, ...messages);
    });
  }

  /** Marketplace deletes a cancelled entitlement's information; `get` answers 404 afterwards. */
  deleteCancelledEntitlement(providerId: string, entitlementId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      requireState(record, ['ENTITLEMENT_CANCELLED'], 'only a cancelled entitlement can be deleted');
      const now = this.clock();
      this.remove(providerId, entitlementId, 'delete');
      const message = entitlementMessage('ENTITLEMENT_DELETED', providerId, { id: entitlementId, updateTime: now });
      return { entitlement: clone(record.resource), messages: [message] };
    });
  }

  /** The customer closes their account: live entitlements are cancelled first, then the account goes. */
  deleteAccount(providerId: string, accountId: string): Result<MarketplaceOutcome> {
    return attempt(() => {
      const record = this.account(providerId, accountId);
      const messages: MarketplaceMessage[] = [];
      for (const entitlement of this.entitlementsOf(providerId, accountId)) {
        if (entitlement.resource.state === 'ENTITLEMENT_CANCELLED') continue;
        this.cancelNow(entitlement, 'account-closed');
        messages.push(this.message('ENTITLEMENT_CANCELLED', entitlement));
      }
      this.provider(providerId).accounts.delete(accountId);
      messages.push(accountMessage('ACCOUNT_DELETED', providerId, { id: accountId, updateTime: this.clock() }));
      return { account: clone(record.resource), messages };
    });
  }

  // ---- direct access for tests: set-up, drift, inspection -------------------------------------

  /**
   * Overwrites fields (an `undefined` value removes one); bumps `updateTime` unless it is given. Even
   * `provider` may drift (a resource that names another provider than its path).
   */
  setEntitlement(
    providerId: string,
    entitlementId: string,
    fields: Partial<Omit<Entitlement, 'name'>>,
  ): Result<Entitlement> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      const { updateTime, ...rest } = fields;
      applyFields(record.resource, rest);
      record.resource.updateTime = updateTime ?? this.clock();
      return clone(record.resource);
    });
  }

  /** Removes an entitlement without any precondition or message, as drift behind the service's back. */
  deleteEntitlement(providerId: string, entitlementId: string): Result<RemovedEntitlement> {
    return attempt(() => {
      this.entitlement(providerId, entitlementId);
      return this.remove(providerId, entitlementId, 'test');
    });
  }

  setAccount(
    providerId: string,
    accountId: string,
    fields: Partial<Omit<Account, 'name' | 'provider'>>,
  ): Result<Account> {
    return attempt(() => {
      const record = this.account(providerId, accountId);
      const { updateTime, ...rest } = fields;
      applyFields(record.resource, rest);
      record.resource.updateTime = updateTime ?? this.clock();
      return clone(record.resource);
    });
  }

  /** Sets the `signup` approval directly, e.g. to start a test from an approved account. */
  setSignupState(providerId: string, accountId: string, state: ApprovalState): Result<Account> {
    return attempt(() => {
      const record = this.account(providerId, accountId);
      const now = this.clock();
      record.resource.approvals = [{ name: SIGNUP_APPROVAL, state, updateTime: now }];
      record.resource.updateTime = now;
      return clone(record.resource);
    });
  }

  inspectEntitlement(providerId: string, entitlementId: string): Result<EntitlementInspection> {
    return attempt(() => {
      const record = this.entitlement(providerId, entitlementId);
      return {
        entitlement: clone(record.resource),
        approved: record.approved,
        ...(record.approvedBy ? { approvedBy: record.approvedBy } : {}),
        ...(record.approveRequest ? { approveRequest: clone(record.approveRequest) } : {}),
        ...(record.planChangeRejectionReason !== undefined
          ? { planChangeRejectionReason: record.planChangeRejectionReason }
          : {}),
      };
    });
  }

  /** What a rejected or deleted entitlement looked like, and why it went. */
  removedEntitlement(providerId: string, entitlementId: string): RemovedEntitlement | undefined {
    const removed = this.providers.get(providerId)?.removed.get(entitlementId);
    return removed && clone(removed);
  }

  allEntitlements(providerId: string): Entitlement[] {
    return [...(this.providers.get(providerId)?.entitlements.values() ?? [])].map((r) => clone(r.resource));
  }

  allAccounts(providerId: string): Account[] {
    return [...(this.providers.get(providerId)?.accounts.values() ?? [])].map((r) => clone(r.resource));
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private provider(providerId: string): ProviderData {
    return this.providers.get(providerId) ?? refuse(errors.permissionDenied());
  }

  private entitlement(providerId: string, entitlementId: string): EntitlementRecord {
    return this.provider(providerId).entitlements.get(entitlementId) ?? refuse(errors.notFound());
  }

  private account(providerId: string, accountId: string): AccountRecord {
    return this.provider(providerId).accounts.get(accountId) ?? refuse(errors.notFound());
  }

  private entitlementsOf(providerId: string, accountId: string): EntitlementRecord[] {
    return [...this.provider(providerId).entitlements.values()].filter(
      (r) => r.resource.account !== undefined && lastSegment(r.resource.account) === accountId,
    );
  }

  private signupApproved(providerId: string, account: string | undefined): boolean {
    const record = account === undefined ? undefined : this.provider(providerId).accounts.get(lastSegment(account));
    return record?.resource.approvals.some((a) => a.name === SIGNUP_APPROVAL && a.state === 'APPROVED') ?? false;
  }

  private pendingPlanChange(providerId: string, entitlementId: string, request: PlanChangeDecision): EntitlementRecord {
    if (!request.pendingPlanName) refuse(errors.invalidArgument());
    const record = this.entitlement(providerId, entitlementId);
    requireState(record, ['ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL']);
    if (record.resource.newPendingPlan !== request.pendingPlanName) refuse(errors.failedPrecondition());
    return record;
  }

  private decideSignup(
    providerId: string,
    accountId: string,
    request: AccountDecision,
    decision: ApprovalState,
  ): Account {
    // Only one approval exists, so an omitted name means `signup`, as the API documents.
    const approvalName = request.approvalName || SIGNUP_APPROVAL;
    const record = this.account(providerId, accountId);
    const approval = record.resource.approvals.find((a) => a.name === approvalName) ?? refuse(errors.invalidArgument());
    if (approval.state === decision) refuse(errors.failedPrecondition());
    this.keepForStaleReads(record);
    const now = this.clock();
    approval.state = decision;
    approval.updateTime = now;
    const reason = truncateReason(request.reason);
    if (reason) approval.reason = reason;
    else delete approval.reason;
    record.resource.updateTime = now;
    return clone(record.resource);
  }

  /**
   * Approval of an ACTIVATION_REQUESTED entitlement: it stays in that state until Google activates it,
   * with `newOfferStartTime` set (the API reference: populated once approved) and, for an offer with a
   * term or a fixed end, `offerEndTime` and `newOfferEndTime` (a guess at what Google fills in; see README).
   */
  private markApproved(record: EntitlementRecord, by: 'provider' | 'google', now: string = this.clock()): void {
    record.approved = true;
    record.approvedBy = by;
    const start = record.futureStart ?? now;
    const { offerDuration } = record.resource;
    const end = record.fixedOfferEnd ?? (offerDuration ? addDuration(start, offerDuration) : undefined);
    this.update(record, { newOfferStartTime: start, newOfferEndTime: end, offerEndTime: end }, now);
  }

  /** The pending plan (and offer) become current: ACTIVE on the new plan, with a new term. */
  private switchPlan(record: EntitlementRecord, now: string): void {
    const { newPendingPlan, newPendingOffer, newPendingOfferDuration, offer, offerDuration } = record.resource;
    const duration = newPendingOfferDuration ?? offerDuration;
    delete record.planChangeTakesEffect;
    this.update(
      record,
      {
        state: 'ENTITLEMENT_ACTIVE',
        plan: newPendingPlan,
        offer: newPendingOffer ?? offer,
        offerDuration: duration,
        offerEndTime: duration ? addDuration(now, duration) : record.resource.newOfferEndTime,
        ...NO_PENDING_CHANGE,
      },
      now,
    );
  }

  /** Keeps the account as it is now for the stale reads that follow a change, when a lag is set. */
  private keepForStaleReads(record: AccountRecord): void {
    if (this.consistency.staleAccountReads === 0) return;
    record.previous = clone(record.resource);
    record.staleReads = this.consistency.staleAccountReads;
  }

  private cancelNow(record: EntitlementRecord, reason: string): void {
    const now = this.clock();
    record.approved = false;
    delete record.approvedBy;
    this.update(
      record,
      { state: 'ENTITLEMENT_CANCELLED', cancellationReason: reason, subscriptionEndTime: now, ...NO_PENDING_CHANGE },
      now,
    );
  }

  private remove(
    providerId: string,
    entitlementId: string,
    removedBy: RemovedEntitlement['removedBy'],
    reason?: string,
  ): RemovedEntitlement {
    const data = this.provider(providerId);
    const record = this.entitlement(providerId, entitlementId);
    data.entitlements.delete(entitlementId);
    const removed: RemovedEntitlement = {
      entitlement: clone(record.resource),
      removedBy,
      ...(reason ? { reason } : {}),
    };
    data.removed.set(entitlementId, removed);
    return clone(removed);
  }

  /** Applies a change; `messageToUser` is cleared automatically whenever the state changes. */
  private update(record: EntitlementRecord, changes: Partial<Entitlement>, now: string = this.clock()): void {
    const stateChanges = changes.state !== undefined && changes.state !== record.resource.state;
    applyFields(record.resource, changes);
    if (stateChanges && !('messageToUser' in changes)) delete record.resource.messageToUser;
    record.resource.updateTime = now;
  }

  private message(
    type: EntitlementEventType,
    record: EntitlementRecord,
    extras?: EntitlementMessageExtras,
  ): MarketplaceMessage {
    const { name, provider, updateTime } = record.resource;
    return entitlementMessage(type, provider, { id: lastSegment(name), updateTime }, extras);
  }

  private outcome(record: EntitlementRecord, ...messages: MarketplaceMessage[]): MarketplaceOutcome {
    return { entitlement: clone(record.resource), messages };
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }
}

// ---- pure helpers ------------------------------------------------------------------------------

const NO_PENDING_CHANGE: Partial<Entitlement> = {
  newPendingPlan: undefined,
  newPendingOffer: undefined,
  newPendingOfferDuration: undefined,
  newOfferStartTime: undefined,
  newOfferEndTime: undefined,
};

function splitMask(mask: string): string[] {
  return mask
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
}

function emptyProvider(): ProviderData {
  return { accounts: new Map(), entitlements: new Map(), removed: new Map() };
}

function requireState(record: EntitlementRecord, states: readonly EntitlementState[], detail?: string): void {
  if (states.includes(record.resource.state)) return;
  refuse(errors.failedPrecondition(detail ? `Entitlement is ${record.resource.state}: ${detail}.` : undefined));
}

function newEntitlement(providerId: string, entitlementId: string, options: PurchaseOptions, now: string): Entitlement {
  const offerDuration = options.offerEndTime
    ? options.offerDuration
    : (options.offerDuration ?? DEFAULT_OFFER_DURATION);
  const entitlement: Entitlement = {
    name: entitlementName(providerId, entitlementId),
    account: accountName(providerId, options.accountId),
    provider: providerId,
    product: options.product,
    productExternalName: options.product,
    quoteExternalName: options.quoteExternalName,
    plan: options.plan,
    offer:
      options.offer ??
      `projects/${DEMO_PROJECT_NUMBER}/services/${options.product}/standardOffers/${randomBytes(4).toString('hex')}`,
    offerDuration,
    state: 'ENTITLEMENT_ACTIVATION_REQUESTED',
    createTime: now,
    updateTime: now,
    usageReportingId: options.usageReportingId,
    // Google's samples sometimes show orderId equal to the entitlement id; consumers must not rely on it.
    orderId: options.orderId ?? randomUUID(),
    consumers: options.consumers && clone(options.consumers),
    inputProperties: options.inputProperties && clone(options.inputProperties),
    entitlementBenefitIds: options.entitlementBenefitIds && [...options.entitlementBenefitIds],
  };
  return withoutUndefined(entitlement);
}

function validatePurchase(options: PurchaseOptions): void {
  if (!options.product) refuse(errors.invalidArgument('product is required.'));
  if (options.offerDuration !== undefined && !isIsoDuration(options.offerDuration)) {
    refuse(errors.invalidArgument('offerDuration must be an ISO-8601 duration such as P1M or P1Y.'));
  }
  if (options.offerEndTime !== undefined) validateTimestamp(options.offerEndTime, 'offerEndTime');
  if (options.futureStart !== undefined) validateTimestamp(options.futureStart, 'futureStart');
}

function validateTimestamp(value: string, field: string): void {
  try {
    parseTimestamp(value);
  } catch {
    refuse(errors.invalidArgument(`${field} must be an RFC 3339 UTC timestamp.`));
  }
}

/** Cuts a reason to 256 bytes of UTF-8 without splitting a character, as the API does. */
export function truncateReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= REASON_MAX_BYTES) return reason;
  let end = REASON_MAX_BYTES;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

function newAccountId(): string {
  const hex = randomBytes(8).toString('hex').toUpperCase();
  return `E-${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}`;
}

function basicView(account: Account): Account {
  const copy = clone(account);
  delete copy.resellerParentBillingAccount;
  return copy;
}

function applyFields<T extends object>(target: T, fields: Partial<T>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete (target as Record<string, unknown>)[key];
    else (target as Record<string, unknown>)[key] = clone(value);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
