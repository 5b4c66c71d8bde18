import { z } from 'zod';
import { anyObject, component, instant, nullableInstant, page, Run } from '../admin/openapi/responses.js';

/** Response bodies of the usage admin routes (components of the admin API's OpenAPI document, responses.ts). */

export const UsageWindow = component(
  'UsageWindow',
  z
    .object({
      id: z.string(),
      entitlementId: z.string(),
      metric: z.string(),
      serviceControlName: z.string(),
      type: z.enum(['int64', 'double']),
      start: instant,
      end: instant,
      value: z.string().meta({ description: 'The sum (int64: exact decimal string)' }),
      records: z.int(),
      lateRecords: z.int().meta({ description: 'Records timed before `start` (their own window was reported)' }),
      operationId: z
        .string()
        .meta({ description: 'UUID v5 of (entitlement, metric, start): the same on every attempt' }),
      state: z.enum(['collecting', 'pending', 'sending', 'reported', 'refused', 'uncertain']),
      final: z.boolean(),
      attempts: z.int(),
      lastError: z.string().nullable(),
      checkErrors: z.array(
        z.object({ code: z.string(), detail: z.string().nullable(), subject: z.string().nullable() }),
      ),
      createdAt: instant,
      updatedAt: instant,
      reportedAt: nullableInstant,
      leaseUntil: nullableInstant.meta({ description: 'While `sending`: until when its sender holds it' }),
    })
    .meta({ description: '`usage/{entitlementId}/windows/{metric}:{startMs}`: one Service Control operation' }),
);

export const EntitlementUsage = component(
  'EntitlementUsage',
  z.object({
    usage: z
      .object({
        entitlementId: z.string(),
        since: instant,
        open: z.boolean(),
        checkpoints: z.record(z.string(), instant),
        stopped: z
          .object({ reason: z.string(), codes: z.array(z.string()), at: instant, entitlementVersion: z.int() })
          .nullable()
          .meta({ description: 'Reporting stopped by check errors: reason, codes, at' }),
        finalAt: nullableInstant,
        lastReportedAt: nullableInstant,
        createdAt: instant,
        updatedAt: instant,
      })
      .meta({ description: '`usage/{entitlementId}`' }),
    pendingRecords: z.int().meta({ description: 'Records not in a window yet' }),
    windows: page(UsageWindow),
  }),
);

export const UsageReporter = component(
  'UsageReporter',
  z.object({
    lastRun: Run.nullable(),
    errors: z.array(anyObject()).meta({ description: "The last run's per-entitlement errors" }),
  }),
);
