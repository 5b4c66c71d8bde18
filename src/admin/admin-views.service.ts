import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import type { Outcome, Source, EntitlementStatus } from '../entitlements/entitlement.js';
import { EntitlementStore } from '../entitlements/entitlement-store.js';
import { MarketplaceStore } from '../marketplace/marketplace-store.js';
import { ADMIN_DEFAULTS } from './admin.defaults.js';
import type { RecordedJob } from '../lifecycle/lifecycle-store.js';
import type { SignupState } from '../marketplace/events/accounts.js';
import { Clock } from '../entitlements/clock.js';
import { AdminStore, type EntitlementFilter, type Page } from './admin-store.js';
import { decodeCursor, pageBody } from './admin.schemas.js';

interface PageQuery {
  pageSize: number;
  cursor?: string;
}

/** The read side of the admin API: lists, approval views, one entitlement or account, events, audit. */
@Injectable()
export class AdminViews {
  constructor(
    private readonly admin: AdminStore,
    private readonly entitlements: EntitlementStore,
    private readonly marketplace: MarketplaceStore,
    private readonly clock: Clock,
  ) {}

  async listEntitlements(
    q: PageQuery & {
      status?: EntitlementStatus;
      source?: Source;
      product?: string;
      account?: string;
      email?: string;
      user?: string;
    },
  ) {
    const filter: EntitlementFilter = {
      status: q.status,
      source: q.source,
      product: q.product,
      accountId: q.account,
      email: q.email,
      userId: q.user,
    };
    return pageBody(await this.admin.listEntitlements(filter, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }));
  }

  /** Entitlements waiting for activation: by default only those the policy leaves to an admin. */
  async pendingApprovals(q: PageQuery & { scope: 'admin' | 'all' }) {
    const filter: EntitlementFilter = {
      status: 'pending_approval',
      ...(q.scope === 'admin' ? { approval: 'awaiting_admin' } : {}),
    };
    return pageBody(await this.admin.listEntitlements(filter, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }));
  }

  /** Plan changes: by default only those waiting for an admin; `all` includes approved ones waiting for the cycle's end. */
  async pendingPlanChanges(q: PageQuery & { scope: 'admin' | 'all' }) {
    const filter: EntitlementFilter = {
      status: 'pending_plan_change',
      ...(q.scope === 'admin' ? { planChangeApproval: 'awaiting_admin' } : {}),
    };
    return pageBody(await this.admin.listEntitlements(filter, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }));
  }

  async entitlement(id: string) {
    const entitlement = await this.entitlements.getEntitlement(id);
    if (!entitlement) throw new AppError('not_found', `No entitlement ${id}`);
    const accountId = (entitlement.details.marketplace as { accountId?: string } | undefined)?.accountId;
    const [history, account] = await Promise.all([
      this.admin.listHistory(id, ADMIN_DEFAULTS.historyLimit),
      accountId ? this.marketplace.getAccount(accountId) : Promise.resolve(null),
    ]);
    return { entitlement, history, account };
  }

  async account(accountId: string) {
    const account = await this.marketplace.getAccount(accountId);
    if (!account) throw new AppError('not_found', `No account ${accountId}`);
    return { account, entitlementIds: await this.marketplace.entitlementIdsOfAccount(accountId) };
  }

  async events(q: PageQuery & { outcome: Outcome; source?: Source }) {
    return pageBody(
      await this.admin.listEvents(
        { outcome: q.outcome, source: q.source },
        { pageSize: q.pageSize, after: decodeCursor(q.cursor) },
      ),
    );
  }

  /** The inbound events that concerned one entitlement (its raw events: read one for its payload). */
  async eventsOf(entitlementId: string, q: PageQuery) {
    return pageBody(
      await this.admin.listEventsOf(entitlementId, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }),
    );
  }

  /** Events received in the last `hours`, per source and outcome: the console's chart. */
  async eventStats(q: { hours: number }) {
    const until = this.clock.now();
    const since = new Date(until.getTime() - q.hours * 3_600_000);
    const counts = await this.admin.countEvents(since);
    return { since, until, hours: q.hours, total: counts.reduce((sum, c) => sum + c.count, 0), counts };
  }

  async accounts(q: PageQuery & { signup?: SignupState }) {
    return pageBody(
      await this.admin.listAccounts({ signup: q.signup }, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }),
    );
  }

  async runs(q: PageQuery & { job?: RecordedJob }) {
    return this.newestFirst(
      await this.admin.listRuns({ job: q.job }, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }),
    );
  }

  async event(id: string) {
    const event = await this.admin.getEvent(id);
    if (!event) throw new AppError('not_found', `No event ${id}`);
    return event;
  }

  async audit(q: PageQuery & { target?: string }) {
    return this.newestFirst(
      await this.admin.listAudit({ targetId: q.target }, { pageSize: q.pageSize, after: decodeCursor(q.cursor) }),
    );
  }

  /** A newest-first page; null when its cursor names a document that is gone. */
  private newestFirst<T>(page: Page<T> | null) {
    if (!page)
      throw new AppError('validation_failed', 'Invalid cursor', {
        fields: [{ field: 'cursor', problem: 'no such entry' }],
      });
    return pageBody(page);
  }
}
