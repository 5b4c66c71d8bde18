import { z } from 'zod';
import { OUTCOMES, SOURCES, STATUSES } from '../../entitlements/entitlement.js';
import { RECORDED_JOBS } from '../../lifecycle/lifecycle-store.js';
import { ADMIN_ROLES } from '../auth/roles.js';
import { ERROR_CODES } from './error-codes.js';

/**
 * Response bodies of the admin API, as zod schemas of what the handlers return. The OpenAPI document
 * derives `components.schemas` from them (openapi.document.ts), and `@AdminRoute` makes the compiler
 * check each handler's return type against the schema its route documents (roles.ts).
 *
 * Conventions: a `z.object` lists every field the service sends (JSON Schema `additionalProperties:
 * false`); bags whose keys vary are `open` and say so. `z.date()` is a `Date` in the handler and an
 * RFC 3339 `date-time` string on the wire (JSON.stringify), which is how the document shows it.
 */

/** The named response schemas: each becomes `#/components/schemas/{id}`. */
export const RESPONSES = z.registry<{ id: string }>();

/** Registers `schema` as the component `id` (its `description`, if any, comes from `.meta()`). */
export function component<S extends z.ZodType>(id: string, schema: S): S {
  RESPONSES.add(schema, { id });
  return schema;
}

export const instant = z.date();
export const nullableInstant = z.date().nullable();
const count = z.int().nonnegative();
/** An object whose keys vary (a stored bag, a report): documented as an object, its keys open. */
export const open = (description?: string) => {
  const bag = z.record(z.string(), z.unknown());
  return description ? bag.meta({ description }) : bag;
};
/** Like `open`, for values the service types as an interface of its own (any object fits). */
export const anyObject = (description?: string) =>
  z.unknown().meta({ type: 'object', ...(description ? { description } : {}) });

/** One page of a list: `items` and the opaque cursor of the next page. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page' }),
  });

const principalKind = z.enum(['user', 'api-key']);
const role = z.enum(ADMIN_ROLES);

export const ErrorBody = component(
  'Error',
  z
    .object({
      code: z.enum(ERROR_CODES).meta({ description: 'Stable; switch on this, never on the message' }),
      message: z.string(),
      errorId: z.string().meta({ description: 'Quote it when asking about a failure; it is in the logs' }),
      details: open(
        'For 409: the current state (Procurement API and/or stored); for 400: the fields; for 429: retryAfterSeconds',
      ).optional(),
    })
    .meta({ description: 'The one error body of the API' }),
);

const Subject = z
  .object({
    key: z.string().meta({ description: 'The `access/{subjectKey}` document id' }),
    userId: z.string().optional(),
    email: z.string().optional(),
    anonymousId: z.string().optional(),
    accountId: z.string().optional(),
    orderId: z.string().optional(),
  })
  .meta({ description: 'Who the entitlement belongs to (docs/firestore.md)' });

export const Entitlement = component(
  'Entitlement',
  z
    .object({
      id: z.string().meta({ examples: ['gcp:5d6c1a2e-…'] }),
      source: z.enum(SOURCES),
      externalId: z.string(),
      subject: Subject.nullable().optional(),
      product: z.string(),
      plan: z.string().nullable().optional(),
      providerProduct: z.string().optional(),
      providerPlan: z.string().nullable().optional(),
      pendingPlan: z.object({ plan: z.string().nullable(), providerPlan: z.string() }).nullable().optional(),
      status: z.enum(STATUSES),
      active: z.boolean(),
      providerState: z.string().optional(),
      validFrom: nullableInstant.optional(),
      validUntil: nullableInstant.optional(),
      periodEnd: nullableInstant.optional(),
      sourceUpdatedAt: instant.optional(),
      version: z.int(),
      createdAt: instant.optional(),
      updatedAt: instant,
      lastEvent: z.object({ key: z.string(), type: z.string(), at: instant }).optional(),
      details: open(
        '`marketplace`: accountId, orderId, approval (awaiting_account | awaiting_admin | approval_requested), planChangeApproval, planChangeReason, entitlementBenefitIds, consumers, newOfferEndTime, … (docs/firestore.md)',
      ).optional(),
      erasedAt: nullableInstant.optional(),
      awaiting: z
        .object({ decision: z.enum(['entitlement', 'planChange']), since: instant })
        .nullable()
        .optional()
        .meta({
          description:
            "What waits for an admin's decision and since when (the hourly decision check reads it); absent on documents last written before 2026-12-03",
        }),
      pendingNoticeFor: nullableInstant.optional().meta({
        description:
          'The end of access whose expiring notice is still due (cleared once sent); absent before the notices backfill ran',
      }),
    })
    .meta({ description: '`entitlements/{id}` as stored (docs/firestore.md)' }),
);
export const EntitlementPage = component('EntitlementPage', page(Entitlement));

const Snapshot = z
  .object({
    status: z.enum(STATUSES),
    active: z.boolean(),
    product: z.string(),
    plan: z.string().nullable(),
    validFrom: nullableInstant,
    validUntil: nullableInstant,
  })
  .meta({ description: 'The entitlement as it was' });

export const HistoryEntry = component(
  'HistoryEntry',
  z.object({
    id: z.string(),
    eventKey: z.string(),
    eventType: z.string(),
    source: z.enum(SOURCES).optional(),
    actor: z.object({ type: z.enum(['provider', 'admin', 'system']), id: z.string() }),
    at: instant,
    sourceTime: instant.optional(),
    before: Snapshot.nullable().optional(),
    after: Snapshot,
    subjectMoved: z.boolean().optional(),
  }),
);

const OrderLink = z.object({ userId: z.string(), subjectKey: z.string(), linkedAt: instant, linkedBy: z.string() });

export const Account = component(
  'Account',
  z
    .object({
      accountId: z.string(),
      provider: z.string().optional(),
      state: z.string(),
      signup: z.object({
        state: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'STATE_UNSPECIFIED', 'NONE']),
        updateTime: nullableInstant,
      }),
      sourceUpdatedAt: instant.optional(),
      createdAt: instant.optional(),
      updatedAt: instant.optional(),
      version: z.int().optional(),
      linkedUserId: z.string().nullable().optional(),
      linkedSubjectKey: z.string().nullable().optional(),
      orderLinks: z.record(z.string(), OrderLink).nullable().optional().meta({
        description: 'Orders linked to a user of their own: orderId → {userId, subjectKey, linkedAt, linkedBy}',
      }),
      google: open(
        'What the verified sign-up token said (user_identity, roles, orders); only when one account is read, never in lists',
      )
        .nullable()
        .optional(),
    })
    .meta({ description: '`accounts/{id}`: the Marketplace account mirror' }),
);
export const AccountPage = component('AccountPage', page(Account));

export const EventCounts = component(
  'EventCounts',
  z.object({
    since: instant,
    until: instant,
    hours: z.int(),
    total: count,
    counts: z
      .array(z.object({ source: z.enum(SOURCES), outcome: z.enum(OUTCOMES), count }))
      .meta({ description: 'Every source and outcome, zeros included' }),
  }),
);

export const Run = component(
  'Run',
  z
    .object({
      runId: z.string(),
      job: z.enum(RECORDED_JOBS),
      startedAt: instant,
      finishedAt: instant,
      ok: z.boolean().meta({ description: 'false: the run could not proceed (its trigger answered 503)' }),
      error: z.string().nullable(),
      figures: z.record(z.string(), z.number()).meta({
        description:
          "The report's counts, flattened: `expired`, `outcomes.applied`, `drift`, `errors`, `publish.published`, …",
      }),
      report: open('The report, lists cut at 50 items').nullable(),
    })
    .meta({ description: '`runs/{runId}`: one lifecycle run (docs/lifecycle.md)' }),
);
export const RunPage = component('RunPage', page(Run));

export const EntitlementDetail = component(
  'EntitlementDetail',
  z.object({
    entitlement: Entitlement,
    history: z.array(HistoryEntry).meta({ description: 'Newest first' }),
    account: Account.nullable(),
  }),
);

export const AccountDetail = component(
  'AccountDetail',
  z.object({ account: Account, entitlementIds: z.array(z.string()) }),
);

const actor = z.object({ kind: principalKind, id: z.string() });

export const Resolution = component(
  'Resolution',
  z
    .object({
      actor,
      reason: z.string(),
      at: instant,
      validUntil: nullableInstant.meta({ description: 'null: explicitly open-ended' }),
      validFrom: nullableInstant,
    })
    .meta({ description: "An approver's resolution of a refused event (POST /admin/v1/events/{eventId}/resolve)" }),
);

const RefusalSample = z.object({
  at: instant,
  bytes: count,
  sha256: z.string().nullable(),
  head: z.string().meta({ description: 'At most 256 bytes and half of the body; e-mails replaced' }),
  contentType: z.string().nullable(),
  url: z.string().meta({ description: 'Redacted: query values and token-like segments replaced' }),
  signed: z.boolean().nullable(),
});

export const Event = component(
  'Event',
  z
    .object({
      id: z.string().meta({ description: 'Document id: `{source}:{eventKey}` (hashed when unsafe)' }),
      source: z.enum(SOURCES),
      eventKey: z.string(),
      eventType: z.string(),
      outcome: z.enum(OUTCOMES),
      reason: z.string().nullable(),
      entitlementId: z.string().nullable(),
      transport: z.object({
        kind: z.enum(['pubsub-pull', 'pubsub-push', 'webhook', 'admin', 'scheduler', 'signup']),
        id: z.string().optional(),
      }),
      attempts: z.int(),
      receivedAt: instant,
      updatedAt: instant,
      rawTruncated: z.boolean(),
      refusedFields: z.array(z.string()).nullable().meta({
        description: 'The fields a refusal named (docs/input-rules.md); null when not refused for its fields',
      }),
      resolution: Resolution.nullable(),
      raw: z.string().nullable().optional().meta({ description: 'Only when one event is read' }),
      refusals: z
        .object({
          count,
          throttled: count.meta({ description: 'Of count, answered 429 (over the rate limit)' }),
          firstAt: instant,
          lastAt: instant,
          samples: z.array(RefusalSample).optional().meta({ description: 'Only when one event is read' }),
        })
        .optional()
        .meta({
          description:
            'Only on `REFUSED` records (one per source, reason and UTC hour): requests refused before anyone was authenticated, counted, not stored; `samples` (one event read) are cut and redacted',
        }),
    })
    .meta({ description: '`events/{id}`: one inbound event (`raw` only when one event is read)' }),
);
export const EventPage = component('EventPage', page(Event));

const nullableString = z.string().nullable();

export const ProcurementEntitlementState = component(
  'ProcurementEntitlementState',
  z
    .object({
      name: nullableString,
      state: nullableString,
      product: nullableString,
      plan: nullableString,
      newPendingPlan: nullableString,
      newOfferStartTime: nullableString.meta({ description: 'Set once approved (also by Google itself)' }),
      account: nullableString,
      updateTime: nullableString,
    })
    .nullable()
    .meta({ description: 'The entitlement as the Procurement API returned it just before the call' }),
);

export const ProcurementAccountState = component(
  'ProcurementAccountState',
  z.object({
    name: nullableString,
    state: nullableString,
    signup: z.object({ state: z.string(), reason: nullableString, updateTime: nullableString }),
    updateTime: nullableString,
  }),
);

export const LedgerOutcome = component(
  'LedgerOutcome',
  z.object({
    outcome: z
      .string()
      .meta({ description: 'applied | duplicate | stale | ignored | invalid | failed, or retry: not recorded yet' }),
    reason: z.string().optional(),
    entitlementId: z.string().optional(),
    waiting: anyObject('The `decision.waiting` event written when the change left a decision to a person').optional(),
  }),
);

const procurementCall = z.object({ call: z.string(), ok: z.literal(true) });
const auditId = z.string().nullable().meta({ description: 'The audit entry; null when it could not be written' });

export const EntitlementActionResult = component(
  'EntitlementActionResult',
  z.object({
    entitlementId: z.string(),
    action: z.enum(['approve', 'reject', 'approvePlanChange', 'rejectPlanChange']),
    before: ProcurementEntitlementState,
    procurement: procurementCall,
    ledger: LedgerOutcome,
    auditId,
  }),
);

export const AccountActionResult = component(
  'AccountActionResult',
  z.object({
    accountId: z.string(),
    action: z.enum(['approve', 'reject', 'reset']),
    before: ProcurementAccountState,
    procurement: procurementCall,
    approvedNow: z.boolean().optional().meta({ description: 'approve: false when Google had approved it already' }),
    entitlementsApproved: count
      .optional()
      .meta({ description: 'approve: parked entitlements the policy approved with the account' }),
    testAccount: z.enum(['config', 'request']).optional().meta({
      description: 'reset: what marked the account as a test account (marketplace.testAccounts, or the request)',
    }),
    entitlementsMirrored: count.optional().meta({
      description: "reset: the account's entitlements written as Google has them after the reset (cancelled)",
    }),
    ledger: LedgerOutcome.optional(),
    auditId,
  }),
);

export const ErasureResult = component(
  'ErasureResult',
  z.object({
    subjectKey: z.string().meta({ description: 'The erased subject (for an e-mail, its keyed `emailh:` key)' }),
    entitlements: z.array(z.object({ id: z.string(), outcome: z.enum(OUTCOMES) })),
    buyerReferencesRemoved: count,
    eventsScrubbed: count,
    accessDeleted: z.boolean(),
    auditId,
  }),
);

const eventState = z.object({ outcome: z.enum(OUTCOMES), reason: z.string().nullable(), attempts: z.int() });

export const ReplayResult = component(
  'ReplayResult',
  z.object({
    eventId: z.string(),
    before: eventState,
    result: LedgerOutcome,
    after: eventState.nullable(),
    auditId,
  }),
);

const resolvedState = z
  .object({
    outcome: z.enum(OUTCOMES),
    reason: z.string().nullable(),
    refusedFields: z.array(z.string()).nullable(),
    resolution: Resolution.nullable(),
    attempts: z.int(),
  })
  .meta({ description: 'The event record: outcome, reason, refusedFields, resolution, attempts' });

export const ResolveResult = component(
  'ResolveResult',
  z.object({
    eventId: z.string(),
    before: resolvedState,
    window: z.object({
      validUntil: nullableInstant.meta({ description: 'null: explicitly open-ended' }),
      validFrom: nullableInstant,
      overridden: z.array(z.string()).meta({ description: 'Provider fields the window stood in for' }),
    }),
    result: anyObject('The ledger: `outcome` (applied, stale, ignored) and, for webhooks, `results` per entitlement'),
    after: resolvedState.nullable(),
    auditId,
  }),
);

export const AuditEntry = component(
  'AuditEntry',
  z.object({
    id: z.string(),
    at: instant,
    actor,
    role,
    action: z.enum([
      'entitlement.approve',
      'entitlement.reject',
      'planChange.approve',
      'planChange.reject',
      'account.approve',
      'account.reject',
      'account.reset',
      'event.replay',
      'event.resolve',
      'subject.erase',
    ]),
    target: z.object({
      type: z.enum(['entitlement', 'account', 'event', 'subject']),
      id: z.string(),
      plan: z.string().optional(),
    }),
    reason: z.string().nullable(),
    outcome: z.enum(['done', 'refused', 'failed']),
    answer: open("The Procurement API's answer (or the refusal), and what the ledger made of it"),
  }),
);
export const AuditPage = component('AuditPage', page(AuditEntry));

export const Caller = component(
  'Caller',
  z.object({ kind: principalKind, id: z.string().meta({ description: 'E-mail or API key name' }), role }),
);

export const OpenApiDocumentBody = component(
  'OpenApiDocument',
  z
    .object({
      openapi: z.literal('3.1.0'),
      info: open(),
      servers: z.array(open()),
      security: z.array(open()),
      tags: z.array(open()),
      paths: open(),
      components: open(),
    })
    .meta({ description: 'This document' }),
);
