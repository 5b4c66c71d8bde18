import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logging/app-logger.js';
import { Clock } from '../entitlements/clock.js';
import { ChangeEventPublisher, type OutboundMessage } from './change-event-publisher.js';
import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import { LifecycleStore, type OutboxEntry, type TimeCursor } from './lifecycle-store.js';
import { errorMessage, forEachLimit, pagedPass, RunBudget } from './run-support.js';

export interface OutboxPublishReport {
  runId: string;
  topic: string | null;
  published: number;
  failed: number;
  /** Left for a later run to keep per-entitlement order: an earlier entry of the same entitlement failed or is leased elsewhere. */
  deferred: number;
  errors: { outboxId: string; orderingKey: string; message: string }[];
  more: boolean;
  /** Why nothing was attempted (no topic configured). */
  skipped?: string;
}

/** Order of the event types of one entitlement version: the change first, then a notice about it. */
const TYPE_ORDER: Record<string, number> = {
  'entitlement.changed': 0,
  'entitlement.expiring': 1,
  'decision.waiting': 2,
};

/**
 * Publishes the outbox to CHANGE_EVENTS_TOPIC, at least once and in order per entitlement
 * (ordering key = entitlement id). Entries are read oldest first, leased (so a concurrent publisher
 * on another instance leaves them alone), published, then marked `publishedAt` (Firestore's TTL
 * deletes them later). A failed publish keeps the entry (attempts + 1, `lastError`) and holds back
 * the rest of that entitlement's entries until a later run, so consumers never see a gap reordered.
 */
@Injectable()
export class OutboxPublisher {
  constructor(
    private readonly store: LifecycleStore,
    private readonly publisher: ChangeEventPublisher,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  async run(runId: string, budget = new RunBudget(LIFECYCLE_DEFAULTS.budgetMs.publish)): Promise<OutboxPublishReport> {
    const report: OutboxPublishReport = {
      runId,
      topic: this.publisher.topic,
      published: 0,
      failed: 0,
      deferred: 0,
      errors: [],
      more: false,
    };
    if (!this.publisher.topic)
      return { ...report, skipped: 'CHANGE_EVENTS_TOPIC is not configured; entries stay in the outbox' };
    const held = new Set<string>();
    // No stored cursor on purpose: every run starts from the oldest entry, so an entitlement held back by a
    // failure is seen before its later entries. Published entries leave the query; what is read is what is due.
    const list = (after: TimeCursor | null) => this.store.listUnpublished(LIFECYCLE_DEFAULTS.pageSize, after);
    const stopped = await pagedPass([list], null, budget, (items) =>
      this.publishPage(inPublishOrder(items), held, report),
    );
    report.more = stopped !== null;
    const log = report.failed ? this.logger.warning.bind(this.logger) : this.logger.info.bind(this.logger);
    log('outbox published', {
      runId,
      topic: report.topic,
      published: report.published,
      failed: report.failed,
      deferred: report.deferred,
      more: report.more,
    });
    return report;
  }

  private async publishPage(entries: OutboxEntry[], held: Set<string>, report: OutboxPublishReport): Promise<void> {
    const now = this.clock.now();
    const candidates = entries.filter((entry) => {
      const leasedElsewhere = entry.leaseUntil !== null && entry.leaseUntil.getTime() > now.getTime();
      if (leasedElsewhere) held.add(entry.orderingKey);
      if (held.has(entry.orderingKey)) report.deferred++;
      return !held.has(entry.orderingKey);
    });
    const leaseUntil = new Date(now.getTime() + LIFECYCLE_DEFAULTS.outbox.leaseMs);
    const claimed = new Set<OutboxEntry>();
    await forEachLimit(candidates, LIFECYCLE_DEFAULTS.concurrency * 4, async (entry) => {
      if (await this.store.claimOutboxEntry(entry, leaseUntil).catch(() => false)) claimed.add(entry);
    });
    const mine: OutboxEntry[] = [];
    for (const entry of candidates) {
      // An entry we could not claim belongs to another publisher now: hold its entitlement back.
      if (!claimed.has(entry)) held.add(entry.orderingKey);
      if (held.has(entry.orderingKey)) report.deferred++;
      else mine.push(entry);
    }
    // Issued in order; the client keeps per-key order and, after a failure, refuses the key's later messages.
    const results = await Promise.allSettled(mine.map((entry) => this.publisher.publish(toMessage(entry))));
    const failedKeys = new Set<string>();
    await forEachLimit(
      mine.map((entry, i) => [entry, results[i]!] as const),
      LIFECYCLE_DEFAULTS.concurrency * 4,
      async ([entry, result]) => {
        try {
          if (result.status === 'fulfilled') {
            const expireAt = new Date(now.getTime() + LIFECYCLE_DEFAULTS.outbox.publishedRetentionDays * 86_400_000);
            await this.store.markPublished(entry.id, result.value, this.clock.now(), expireAt);
            report.published++;
            return;
          }
          failedKeys.add(entry.orderingKey);
          const message = errorMessage(result.reason).slice(0, LIFECYCLE_DEFAULTS.outbox.maxErrorChars);
          report.failed++;
          report.errors.push({ outboxId: entry.id, orderingKey: entry.orderingKey, message });
          await this.store.markPublishFailed(entry.id, message, this.clock.now());
        } catch (error) {
          // Published but not marked: it is sent again by a later run (at least once).
          report.errors.push({ outboxId: entry.id, orderingKey: entry.orderingKey, message: errorMessage(error) });
        }
      },
    );
    for (const key of failedKeys) {
      held.add(key);
      this.publisher.resume(key);
    }
  }
}

/** Oldest first; within one entitlement by version, the change before a notice about the same version. */
export function inPublishOrder(entries: readonly OutboxEntry[]): OutboxEntry[] {
  const version = (e: OutboxEntry) => Number(e.event.entitlementVersion ?? 0);
  // Entries of different entitlements need no order between them; ties in time are broken by key to keep the sort consistent.
  return [...entries].sort(
    (a, b) =>
      a.createdAt.getTime() - b.createdAt.getTime() ||
      (a.orderingKey < b.orderingKey ? -1 : a.orderingKey > b.orderingKey ? 1 : 0) ||
      version(a) - version(b) ||
      (TYPE_ORDER[a.event.type] ?? 9) - (TYPE_ORDER[b.event.type] ?? 9),
  );
}

export function toMessage(entry: OutboxEntry): OutboundMessage {
  const event = entry.event;
  return {
    data: Buffer.from(JSON.stringify(event)),
    orderingKey: entry.orderingKey,
    attributes: {
      type: event.type,
      schemaVersion: String(event.schemaVersion),
      eventId: event.id,
      entitlementId: String(event.entitlementId ?? entry.orderingKey),
      source: String(event.source ?? ''),
    },
  };
}
