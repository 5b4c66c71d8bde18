import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AppError } from '../common/errors/app-error.js';
import { Clock } from '../entitlements/clock.js';
import { EntitlementStore } from '../entitlements/entitlement-store.js';
import { parseBody, type FieldProblem } from '../webhooks/common/zod-body.js';
import { UsageCatalog } from './usage-catalog.js';
import { USAGE_DEFAULTS } from './usage.defaults.js';
import { UsageStore, type RecordInput, type RecordOutcome } from './usage-store.js';
import { valueProblem } from './usage-windows.js';

/** A record id: chosen by the writer (its retry sends the same one), a Firestore document id of safe characters. */
const RECORD_ID = /^[A-Za-z0-9._:@+=-]{1,200}$/;

export const usageRecordsBody = z.strictObject({
  records: z
    .array(
      z.strictObject({
        entitlementId: z.string().regex(/^gcp:[A-Za-z0-9._-]{1,200}$/, 'must be a Marketplace entitlement id (gcp:…)'),
        id: z.string().regex(RECORD_ID, 'must be 1–200 of A-Z a-z 0-9 . _ : @ + = -'),
        metric: z.string().min(1).max(64),
        value: z.number(),
        time: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .min(1)
    .max(USAGE_DEFAULTS.maxRecordsPerRequest),
});
export type UsageRecordsBody = z.infer<typeof usageRecordsBody>;

export interface IntakeResult {
  created: number;
  duplicates: number;
  conflicts: number;
  results: { entitlementId: string; id: string; outcome: RecordOutcome }[];
}

/**
 * `POST /usage/v1/records`: validates the whole batch first (an unknown entitlement or metric, a bad value refuses
 * it all with a 400 naming each record; nothing is written), then writes each entitlement's records in one
 * transaction. A record id that exists already is a no-op (`duplicate`), or `conflict` if its content differs.
 */
@Injectable()
export class UsageIntake {
  constructor(
    private readonly store: UsageStore,
    private readonly entitlements: EntitlementStore,
    private readonly catalog: UsageCatalog,
    private readonly clock: Clock,
  ) {}

  async add(body: unknown): Promise<IntakeResult> {
    const { records } = parseBody(usageRecordsBody, body);
    const now = this.clock.now();
    const problems: FieldProblem[] = [];
    const byEntitlement = new Map<string, { index: number; record: RecordInput }[]>();
    const ids = [...new Set(records.map((r) => r.entitlementId))];
    const found = await Promise.all(ids.map((id) => this.entitlements.getEntitlement(id)));
    const plans = new Map(
      ids.map((id, i) => [id, found[i] ? this.catalog.planFor(found[i].providerProduct, found[i].plan) : null]),
    );
    const usage = new Map(await Promise.all(ids.map(async (id) => [id, await this.store.getUsage(id)] as const)));
    records.forEach((r, index) => {
      const field = `records.${index}`;
      const plan = plans.get(r.entitlementId);
      if (!found[ids.indexOf(r.entitlementId)])
        return problems.push({ field: `${field}.entitlementId`, problem: 'no such entitlement' });
      if (!plan)
        return problems.push({
          field: `${field}.entitlementId`,
          problem: "the entitlement's plan reports no usage (config/products.yaml)",
        });
      if (usage.get(r.entitlementId)?.open === false)
        return problems.push({
          field: `${field}.entitlementId`,
          problem: 'the entitlement ended and its final usage report was sent',
        });
      const metric = plan.metrics.get(r.metric);
      if (!metric) {
        return problems.push({
          field: `${field}.metric`,
          problem: `unknown metric "${r.metric}": this plan reports ${[...plan.metrics.keys()].join(', ')}`,
        });
      }
      const bad = valueProblem(metric.type, r.value);
      if (bad) return problems.push({ field: `${field}.value`, problem: bad });
      const time = r.time ? new Date(r.time) : now;
      if (time.getTime() > now.getTime() + USAGE_DEFAULTS.maxFutureMs) {
        return problems.push({ field: `${field}.time`, problem: 'too far in the future' });
      }
      const list = byEntitlement.get(r.entitlementId) ?? [];
      list.push({ index, record: { id: r.id, metric: r.metric, value: r.value, time } });
      byEntitlement.set(r.entitlementId, list);
      return undefined;
    });
    if (problems.length) {
      throw new AppError(
        'validation_failed',
        `Invalid usage records: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`,
        {
          fields: problems,
        },
      );
    }
    const results: IntakeResult['results'] = new Array(records.length);
    for (const [entitlementId, list] of byEntitlement) {
      if (!usage.get(entitlementId)) await this.store.openUsage(entitlementId, now);
      const outcomes = await this.store.addRecords(
        entitlementId,
        list.map((l) => l.record),
        now,
      );
      list.forEach((l, i) => (results[l.index] = { entitlementId, id: l.record.id, outcome: outcomes[i]! }));
    }
    const count = (o: RecordOutcome) => results.filter((r) => r.outcome === o).length;
    return { created: count('created'), duplicates: count('duplicate'), conflicts: count('conflict'), results };
  }
}
