import { Buffer } from 'node:buffer';
import { z } from 'zod';
import { isDocumentId } from '../common/document-id.js';
import { AppError } from '../common/errors/app-error.js';
import { OUTCOMES, SOURCES, STATUSES } from '../entitlements/entitlement.js';
import { parseRfc3339, RFC3339_EXAMPLE } from '../entitlements/input-rules.js';
import { RECORDED_JOBS } from '../lifecycle/lifecycle-store.js';
import { parseBody } from '../webhooks/common/zod-body.js';
import { ADMIN_DEFAULTS } from './admin.defaults.js';
import type { Page } from './admin-store.js';

/** Request schemas of the admin API: used to validate, and (as JSON Schema) in the OpenAPI document. */

const page = {
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .max(ADMIN_DEFAULTS.maxPageSize)
    .default(ADMIN_DEFAULTS.pageSize)
    .meta({ description: `Items per page (at most ${ADMIN_DEFAULTS.maxPageSize})` }),
  cursor: z.string().min(1).max(2048).optional().meta({ description: 'Opaque; `nextCursor` of the previous page' }),
};

export const entitlementsQuery = z.strictObject({
  status: z.enum(STATUSES).optional(),
  source: z.enum(SOURCES).optional(),
  product: z.string().min(1).max(200).optional().meta({ description: "The product's own name (config/products.yaml)" }),
  account: z.string().min(1).max(200).optional().meta({ description: 'Marketplace account id' }),
  email: z
    .string()
    .trim()
    .min(3)
    .max(320)
    .transform((v) => v.toLowerCase())
    .optional()
    .meta({ description: "The subject's e-mail (EasyCart assignee, GetCourse user), case-insensitive" }),
  user: z.string().min(1).max(200).optional().meta({ description: "The product's own user id (`subject.userId`)" }),
  ...page,
});

/** Only paging: the events of one entitlement. */
export const pageQuery = z.strictObject({ ...page });

export const accountsQuery = z.strictObject({
  signup: z
    .enum(['PENDING', 'APPROVED', 'REJECTED'])
    .optional()
    .meta({ description: "The `signup` approval's state; `PENDING`: sign-ups waiting for a decision" }),
  ...page,
});

export const eventStatsQuery = z.strictObject({
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(168)
    .default(24)
    .meta({ description: 'Window ending now, in hours (at most a week)' }),
});

export const runsQuery = z.strictObject({
  job: z.enum(RECORDED_JOBS).optional().meta({ description: 'expire, expiring, reconcile, usage or decisions' }),
  ...page,
});

export const pendingQuery = z.strictObject({
  scope: z
    .enum(['admin', 'all'])
    .default('admin')
    .meta({ description: '`admin`: only what waits for an admin (manual policy); `all`: everything pending' }),
  ...page,
});

export const eventsQuery = z.strictObject({
  outcome: z.enum(OUTCOMES).meta({ description: 'Usually invalid, failed or stale' }),
  source: z.enum(SOURCES).optional(),
  ...page,
});

export const auditQuery = z.strictObject({
  target: z.string().min(1).max(500).optional().meta({ description: 'Entitlement, account or event id' }),
  ...page,
});

/** The Procurement API documents 256 bytes for reasons and truncates longer ones silently: refuse them here. */
const reason = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((value, ctx) => {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > ADMIN_DEFAULTS.maxReasonBytes) {
      ctx.addIssue({
        code: 'custom',
        message: `is ${bytes} bytes; the Procurement API allows at most ${ADMIN_DEFAULTS.maxReasonBytes} bytes (UTF-8)`,
      });
    }
  })
  .meta({ description: `At most ${ADMIN_DEFAULTS.maxReasonBytes} bytes of UTF-8 (the Procurement API's limit)` });

const plan = z.string().min(1).max(200).meta({
  description:
    "The pending plan as the Procurement API names it (`newPendingPlan`, the entitlement's `pendingPlan.providerPlan`)",
});

export const approveBody = z.strictObject({ reason: reason.optional() });
export const rejectBody = z.strictObject({ reason });
export const planChangeApproveBody = z.strictObject({ plan, reason: reason.optional() });
export const planChangeRejectBody = z.strictObject({ plan, reason });
export const resetBody = z.strictObject({
  reason,
  testAccount: z.literal(true).optional().meta({
    description:
      "The caller states that this is one of the seller's own test accounts (needed unless config/policy.yaml lists it in marketplace.testAccounts)",
  }),
});

const instant = z
  .string()
  .refine((s) => parseRfc3339(s) !== null, `must be an RFC 3339 date-time with a zone, like ${RFC3339_EXAMPLE}`);

/** How an approver resolves an event refused for an unusable start or end of access (docs/input-rules.md). */
export const resolveBody = z
  .strictObject({
    validUntil: z.union([z.literal('open-ended'), instant]).meta({
      description: `The end of access, in place of the refused value: an RFC 3339 date-time with a zone (${RFC3339_EXAMPLE}), or \`open-ended\` (explicitly none)`,
    }),
    validFrom: instant.optional().meta({
      description: 'The start of access: required when the refused value was a start (start_at, newOfferStartTime)',
    }),
    reason: reason.meta({ description: 'Why; kept in the audit trail and on the event record' }),
  })
  .superRefine((b, ctx) => {
    const until = b.validUntil === 'open-ended' ? null : parseRfc3339(b.validUntil ?? '');
    const from = b.validFrom ? parseRfc3339(b.validFrom) : null;
    if (until && from && from.getTime() >= until.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['validFrom'], message: 'must be before validUntil' });
    }
  })
  .transform((b) => ({
    validUntil: b.validUntil === 'open-ended' ? null : parseRfc3339(b.validUntil)!,
    validFrom: b.validFrom ? parseRfc3339(b.validFrom)! : null,
    reason: b.reason,
  }));

/** An erasure request names the person by e-mail (EasyCart, GetCourse) or by any subject key (`user:42`). */
export const erasureBody = z
  .strictObject({
    email: z
      .email()
      .max(254)
      .optional()
      .meta({ description: 'The person’s e-mail; the service derives its subject key. Never stored or logged.' }),
    subjectKey: z
      .string()
      .min(1)
      .max(1500)
      .optional()
      .meta({ description: 'A subject key as in `access/{subjectKey}`, e.g. `user:42` or `emailh:…`' }),
    reason: reason.meta({ description: 'Why (a ticket id); e-mail addresses in it are replaced before it is stored' }),
  })
  .refine((b) => (b.email === undefined) !== (b.subjectKey === undefined), {
    message: 'name the person by exactly one of email or subjectKey',
    path: ['email'],
  });

/** Bodies are optional for approvals: a request without one (or with an empty one) is `{}`. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseBody(schema, value ?? {});
}

/**
 * A path parameter naming a document: what Firestore accepts as a document id (non-empty, at most 1,500
 * bytes, no `/`, not `.`, `..` or a reserved `__…__` id, which `.doc()` would refuse with an error).
 */
export function idParam(name: string, value: string): string {
  if (!isDocumentId(value)) {
    throw new AppError('validation_failed', `Invalid ${name}`, {
      fields: [{ field: name, problem: 'not a valid id' }],
    });
  }
  return value;
}

/** Cursors are opaque to callers: the last document id of the page, base64url. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isDocumentId(id) || Buffer.from(id, 'utf8').toString('base64url') !== cursor) {
    throw new AppError('validation_failed', 'Invalid cursor', {
      fields: [{ field: 'cursor', problem: 'not a cursor this API issued' }],
    });
  }
  return id;
}

export function pageBody<T>(page: Page<T>): { items: T[]; nextCursor: string | null } {
  return {
    items: page.items,
    nextCursor: page.next === null ? null : Buffer.from(page.next, 'utf8').toString('base64url'),
  };
}
