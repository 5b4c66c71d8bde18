import { ERROR_CODES } from './error-codes.js';
import { OUTCOMES, SOURCES, STATUSES } from '../../entitlements/entitlement.js';
import { RECORDED_JOBS } from '../../lifecycle/lifecycle-store.js';
import type { JsonSchema } from '../auth/roles.js';
import { USAGE_SCHEMAS } from '../../usage/usage.openapi.js';

/** Response bodies of the admin API as JSON Schema 2020-12 (`components.schemas` of the OpenAPI document). */

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const dateTime = { type: 'string', format: 'date-time' };
const nullable = (schema: JsonSchema): JsonSchema => ({ oneOf: [schema, { type: 'null' }] });
const nullableDate = { type: ['string', 'null'], format: 'date-time' };
const page = (item: string): JsonSchema => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: ref(item) },
    nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page' },
  },
});

export const SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: 'object',
    required: ['code', 'message', 'errorId'],
    properties: {
      code: { type: 'string', enum: [...ERROR_CODES], description: 'Stable; switch on this, never on the message' },
      message: { type: 'string' },
      errorId: { type: 'string', description: 'Quote it when asking about a failure; it is in the logs' },
      details: {
        type: 'object',
        description: 'For 409: the current state (Procurement API and/or stored); for 400: the fields',
      },
    },
  },
  Entitlement: {
    type: 'object',
    description: '`entitlements/{id}` as stored (docs/firestore.md)',
    required: ['id', 'source', 'externalId', 'product', 'status', 'active', 'version', 'updatedAt'],
    properties: {
      id: { type: 'string', examples: ['gcp:5d6c1a2e-…'] },
      source: { type: 'string', enum: [...SOURCES] },
      externalId: { type: 'string' },
      subject: nullable({ type: 'object' }),
      product: { type: 'string' },
      plan: { type: ['string', 'null'] },
      providerProduct: { type: 'string' },
      providerPlan: { type: ['string', 'null'] },
      pendingPlan: nullable({
        type: 'object',
        properties: { plan: { type: ['string', 'null'] }, providerPlan: { type: 'string' } },
      }),
      status: { type: 'string', enum: [...STATUSES] },
      active: { type: 'boolean' },
      providerState: { type: 'string' },
      validFrom: nullableDate,
      validUntil: nullableDate,
      periodEnd: nullableDate,
      sourceUpdatedAt: dateTime,
      version: { type: 'integer' },
      createdAt: dateTime,
      updatedAt: dateTime,
      lastEvent: { type: 'object' },
      details: {
        type: 'object',
        description:
          '`marketplace`: accountId, orderId, approval (awaiting_account | awaiting_admin | approval_requested), planChangeApproval, planChangeReason, entitlementBenefitIds, consumers, newOfferEndTime, … (docs/firestore.md)',
      },
      erasedAt: nullableDate,
      awaiting: nullable({
        type: 'object',
        description:
          "What waits for an admin's decision and since when (the hourly decision check reads it); absent on documents last written before 2026-12-03",
        required: ['decision', 'since'],
        properties: { decision: { type: 'string', enum: ['entitlement', 'planChange'] }, since: dateTime },
      }),
    },
  },
  EntitlementPage: page('Entitlement'),
  HistoryEntry: {
    type: 'object',
    required: ['id', 'eventKey', 'eventType', 'actor', 'at', 'after'],
    properties: {
      id: { type: 'string' },
      eventKey: { type: 'string' },
      eventType: { type: 'string' },
      source: { type: 'string', enum: [...SOURCES] },
      actor: {
        type: 'object',
        properties: { type: { type: 'string', enum: ['provider', 'admin', 'system'] }, id: { type: 'string' } },
      },
      at: dateTime,
      sourceTime: dateTime,
      before: nullable({ type: 'object' }),
      after: { type: 'object' },
      subjectMoved: { type: 'boolean' },
    },
  },
  Account: {
    type: 'object',
    description: '`accounts/{id}`: the Marketplace account mirror',
    required: ['accountId', 'state', 'signup'],
    properties: {
      accountId: { type: 'string' },
      provider: { type: 'string' },
      state: { type: 'string' },
      signup: {
        type: 'object',
        properties: {
          state: { type: 'string', enum: ['PENDING', 'APPROVED', 'REJECTED', 'STATE_UNSPECIFIED', 'NONE'] },
          updateTime: nullableDate,
        },
      },
      linkedUserId: { type: ['string', 'null'] },
      linkedSubjectKey: { type: ['string', 'null'] },
      orderLinks: {
        type: ['object', 'null'],
        description: 'Orders linked to a user of their own: orderId → {userId, subjectKey, linkedAt, linkedBy}',
        additionalProperties: {
          type: 'object',
          properties: {
            userId: { type: 'string' },
            subjectKey: { type: 'string' },
            linkedAt: dateTime,
            linkedBy: { type: 'string' },
          },
        },
      },
      version: { type: 'integer' },
      updatedAt: dateTime,
    },
  },
  AccountPage: page('Account'),
  EventCounts: {
    type: 'object',
    required: ['since', 'until', 'hours', 'total', 'counts'],
    properties: {
      since: dateTime,
      until: dateTime,
      hours: { type: 'integer' },
      total: { type: 'integer' },
      counts: {
        type: 'array',
        description: 'Every source and outcome, zeros included',
        items: {
          type: 'object',
          required: ['source', 'outcome', 'count'],
          properties: {
            source: { type: 'string', enum: [...SOURCES] },
            outcome: { type: 'string', enum: [...OUTCOMES] },
            count: { type: 'integer' },
          },
        },
      },
    },
  },
  Run: {
    type: 'object',
    description: '`runs/{runId}`: one lifecycle run (docs/lifecycle.md)',
    required: ['runId', 'job', 'startedAt', 'finishedAt', 'ok', 'error', 'figures', 'report'],
    properties: {
      runId: { type: 'string' },
      job: { type: 'string', enum: [...RECORDED_JOBS] },
      startedAt: dateTime,
      finishedAt: dateTime,
      ok: { type: 'boolean', description: 'false: the run could not proceed (its trigger answered 503)' },
      error: { type: ['string', 'null'] },
      figures: {
        type: 'object',
        additionalProperties: { type: 'number' },
        description:
          "The report's counts, flattened: `expired`, `outcomes.applied`, `drift`, `errors`, `publish.published`, …",
      },
      report: nullable({ type: 'object', description: 'The report, lists cut at 50 items' }),
    },
  },
  RunPage: page('Run'),
  EntitlementDetail: {
    type: 'object',
    required: ['entitlement', 'history', 'account'],
    properties: {
      entitlement: ref('Entitlement'),
      history: { type: 'array', items: ref('HistoryEntry'), description: 'Newest first' },
      account: nullable(ref('Account')),
    },
  },
  AccountDetail: {
    type: 'object',
    required: ['account', 'entitlementIds'],
    properties: { account: ref('Account'), entitlementIds: { type: 'array', items: { type: 'string' } } },
  },
  Event: {
    type: 'object',
    description: '`events/{id}`: one inbound event (`raw` only when one event is read)',
    required: ['id', 'source', 'eventKey', 'eventType', 'outcome', 'attempts'],
    properties: {
      id: { type: 'string', description: 'Document id: `{source}:{eventKey}` (hashed when unsafe)' },
      source: { type: 'string', enum: [...SOURCES] },
      eventKey: { type: 'string' },
      eventType: { type: 'string' },
      outcome: { type: 'string', enum: [...OUTCOMES] },
      reason: { type: ['string', 'null'] },
      entitlementId: { type: ['string', 'null'] },
      transport: { type: 'object', properties: { kind: { type: 'string' }, id: { type: 'string' } } },
      attempts: { type: 'integer' },
      receivedAt: dateTime,
      updatedAt: dateTime,
      rawTruncated: { type: 'boolean' },
      refusedFields: {
        type: ['array', 'null'],
        items: { type: 'string' },
        description: 'The fields a refusal named (docs/input-rules.md); null when not refused for its fields',
      },
      resolution: nullable(ref('Resolution')),
      raw: { type: ['string', 'null'] },
      refusals: {
        type: 'object',
        description:
          'Only on `REFUSED` records (one per source, reason and UTC hour): requests refused before anyone was authenticated, counted, not stored; `samples` (one event read) are cut and redacted',
        properties: {
          count: { type: 'integer' },
          throttled: { type: 'integer', description: 'Of count, answered 429 (over the rate limit)' },
          firstAt: dateTime,
          lastAt: dateTime,
          samples: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                at: dateTime,
                bytes: { type: 'integer' },
                sha256: { type: ['string', 'null'] },
                head: { type: 'string', description: 'At most 256 bytes and half of the body; e-mails replaced' },
                contentType: { type: ['string', 'null'] },
                url: { type: 'string', description: 'Redacted: query values and token-like segments replaced' },
                signed: { type: ['boolean', 'null'] },
              },
            },
          },
        },
      },
    },
  },
  Resolution: {
    type: 'object',
    description: "An approver's resolution of a refused event (POST /admin/v1/events/{eventId}/resolve)",
    required: ['actor', 'reason', 'at', 'validUntil', 'validFrom'],
    properties: {
      actor: {
        type: 'object',
        properties: { kind: { type: 'string', enum: ['user', 'api-key'] }, id: { type: 'string' } },
      },
      reason: { type: 'string' },
      at: dateTime,
      validUntil: { ...nullableDate, description: 'null: explicitly open-ended' },
      validFrom: nullableDate,
    },
  },
  EventPage: page('Event'),
  ProcurementEntitlementState: nullable({
    type: 'object',
    properties: {
      name: { type: ['string', 'null'] },
      state: { type: ['string', 'null'] },
      product: { type: ['string', 'null'] },
      plan: { type: ['string', 'null'] },
      newPendingPlan: { type: ['string', 'null'] },
      newOfferStartTime: { type: ['string', 'null'], description: 'Set once approved (also by Google itself)' },
      account: { type: ['string', 'null'] },
      updateTime: { type: ['string', 'null'] },
    },
  }),
  ProcurementAccountState: {
    type: 'object',
    properties: {
      name: { type: ['string', 'null'] },
      state: { type: ['string', 'null'] },
      signup: { type: 'object', properties: { state: { type: 'string' }, reason: { type: ['string', 'null'] } } },
      updateTime: { type: ['string', 'null'] },
    },
  },
  LedgerOutcome: {
    type: 'object',
    required: ['outcome'],
    properties: {
      outcome: {
        type: 'string',
        description: 'applied | duplicate | stale | ignored | invalid | failed, or retry: not recorded yet',
      },
      reason: { type: 'string' },
    },
  },
  EntitlementActionResult: {
    type: 'object',
    required: ['entitlementId', 'action', 'before', 'procurement', 'ledger', 'auditId'],
    properties: {
      entitlementId: { type: 'string' },
      action: { type: 'string', enum: ['approve', 'reject', 'approvePlanChange', 'rejectPlanChange'] },
      before: ref('ProcurementEntitlementState'),
      procurement: { type: 'object', properties: { call: { type: 'string' }, ok: { const: true } } },
      ledger: ref('LedgerOutcome'),
      auditId: { type: ['string', 'null'] },
    },
  },
  AccountActionResult: {
    type: 'object',
    required: ['accountId', 'action', 'before', 'procurement', 'auditId'],
    properties: {
      accountId: { type: 'string' },
      action: { type: 'string', enum: ['approve', 'reject', 'reset'] },
      before: ref('ProcurementAccountState'),
      procurement: { type: 'object', properties: { call: { type: 'string' }, ok: { const: true } } },
      approvedNow: { type: 'boolean' },
      entitlementsApproved: {
        type: 'integer',
        description: 'Parked entitlements the policy approved with the account',
      },
      testAccount: {
        type: 'string',
        enum: ['config', 'request'],
        description: 'reset: what marked the account as a test account (marketplace.testAccounts, or the request)',
      },
      entitlementsMirrored: {
        type: 'integer',
        description: "reset: the account's entitlements written as Google has them after the reset (cancelled)",
      },
      ledger: ref('LedgerOutcome'),
      auditId: { type: ['string', 'null'] },
    },
  },
  ErasureResult: {
    type: 'object',
    required: ['subjectKey', 'entitlements', 'buyerReferencesRemoved', 'eventsScrubbed', 'accessDeleted', 'auditId'],
    properties: {
      subjectKey: { type: 'string', description: 'The erased subject (for an e-mail, its keyed `emailh:` key)' },
      entitlements: {
        type: 'array',
        items: { type: 'object', properties: { id: { type: 'string' }, outcome: { type: 'string' } } },
      },
      buyerReferencesRemoved: { type: 'integer' },
      eventsScrubbed: { type: 'integer' },
      accessDeleted: { type: 'boolean' },
      auditId: { type: ['string', 'null'] },
    },
  },
  ReplayResult: {
    type: 'object',
    required: ['eventId', 'before', 'result', 'after', 'auditId'],
    properties: {
      eventId: { type: 'string' },
      before: { type: 'object' },
      result: ref('LedgerOutcome'),
      after: nullable({ type: 'object' }),
      auditId: { type: ['string', 'null'] },
    },
  },
  ResolveResult: {
    type: 'object',
    required: ['eventId', 'before', 'window', 'result', 'after', 'auditId'],
    properties: {
      eventId: { type: 'string' },
      before: { type: 'object', description: 'outcome, reason, refusedFields, resolution, attempts before' },
      window: {
        type: 'object',
        properties: {
          validUntil: { ...nullableDate, description: 'null: explicitly open-ended' },
          validFrom: nullableDate,
          overridden: {
            type: 'array',
            items: { type: 'string' },
            description: 'Provider fields the window stood in for',
          },
        },
      },
      result: {
        type: 'object',
        description: 'The ledger: `outcome` (applied, stale, ignored) and, for webhooks, `results` per entitlement',
      },
      after: nullable({ type: 'object' }),
      auditId: { type: ['string', 'null'] },
    },
  },
  AuditEntry: {
    type: 'object',
    required: ['id', 'at', 'actor', 'role', 'action', 'target', 'outcome', 'answer'],
    properties: {
      id: { type: 'string' },
      at: dateTime,
      actor: {
        type: 'object',
        properties: { kind: { type: 'string', enum: ['user', 'api-key'] }, id: { type: 'string' } },
      },
      role: { type: 'string', enum: ['viewer', 'approver'] },
      action: {
        type: 'string',
        enum: [
          'entitlement.approve',
          'entitlement.reject',
          'planChange.approve',
          'planChange.reject',
          'account.approve',
          'account.reject',
          'account.reset',
          'event.replay',
          'event.resolve',
        ],
      },
      target: {
        type: 'object',
        properties: { type: { type: 'string' }, id: { type: 'string' }, plan: { type: 'string' } },
      },
      reason: { type: ['string', 'null'] },
      outcome: { type: 'string', enum: ['done', 'refused', 'failed'] },
      answer: { type: 'object' },
    },
  },
  AuditPage: page('AuditEntry'),
  Caller: {
    type: 'object',
    required: ['kind', 'id', 'role'],
    properties: {
      kind: { type: 'string', enum: ['user', 'api-key'] },
      id: { type: 'string', description: 'E-mail or API key name' },
      role: { type: 'string', enum: ['viewer', 'approver'] },
    },
  },
  OpenApiDocument: { type: 'object', description: 'This document' },
  ...USAGE_SCHEMAS,
};

export { ref };
