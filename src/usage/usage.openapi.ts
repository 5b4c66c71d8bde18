import type { JsonSchema } from '../admin/auth/roles.js';

/** Response bodies of the usage admin routes (merged into the admin API's `components.schemas`). */
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const dateTime = { type: 'string', format: 'date-time' };
const nullableDate = { type: ['string', 'null'], format: 'date-time' };

export const USAGE_SCHEMAS: Record<string, JsonSchema> = {
  UsageWindow: {
    type: 'object',
    description: '`usage/{entitlementId}/windows/{metric}:{startMs}`: one Service Control operation',
    required: ['id', 'metric', 'start', 'end', 'value', 'records', 'operationId', 'state'],
    properties: {
      id: { type: 'string' },
      entitlementId: { type: 'string' },
      metric: { type: 'string' },
      serviceControlName: { type: 'string' },
      type: { type: 'string', enum: ['int64', 'double'] },
      start: dateTime,
      end: dateTime,
      value: { type: 'string', description: 'The sum (int64: exact decimal string)' },
      records: { type: 'integer' },
      lateRecords: { type: 'integer', description: 'Records timed before `start` (their own window was reported)' },
      operationId: {
        type: 'string',
        description: 'UUID v5 of (entitlement, metric, start): the same on every attempt',
      },
      state: { type: 'string', enum: ['collecting', 'pending', 'sending', 'reported', 'refused', 'uncertain'] },
      final: { type: 'boolean' },
      attempts: { type: 'integer' },
      lastError: { type: ['string', 'null'] },
      checkErrors: { type: 'array', items: { type: 'object' } },
      reportedAt: nullableDate,
    },
  },
  EntitlementUsage: {
    type: 'object',
    required: ['usage', 'pendingRecords', 'windows'],
    properties: {
      usage: {
        type: 'object',
        description: '`usage/{entitlementId}`',
        properties: {
          entitlementId: { type: 'string' },
          since: dateTime,
          open: { type: 'boolean' },
          checkpoints: { type: 'object', additionalProperties: dateTime },
          stopped: { type: ['object', 'null'], description: 'Reporting stopped by check errors: reason, codes, at' },
          finalAt: nullableDate,
          lastReportedAt: nullableDate,
        },
      },
      pendingRecords: { type: 'integer', description: 'Records not in a window yet' },
      windows: {
        type: 'object',
        required: ['items', 'nextCursor'],
        properties: { items: { type: 'array', items: ref('UsageWindow') }, nextCursor: { type: ['string', 'null'] } },
      },
    },
  },
  UsageReporter: {
    type: 'object',
    required: ['lastRun', 'errors'],
    properties: {
      lastRun: { oneOf: [ref('Run'), { type: 'null' }] },
      errors: { type: 'array', items: { type: 'object' }, description: "The last run's per-entitlement errors" },
    },
  },
};
