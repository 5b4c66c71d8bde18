import { createHash } from 'node:crypto';
import type { CatalogResult } from '../../entitlements/catalog.js';
import type { EntitlementChange, ProductRef, Source } from '../../entitlements/entitlement.js';
import type { Bounds, WindowOverride } from '../../entitlements/input-rules.js';
import type { SubjectKeys } from '../../entitlements/subject.js';
import type { Mapped } from '../common/webhook-intake.js';
import { fieldProblems, invalidPayload, parseBody, type FieldProblem } from '../common/zod-body.js';
import {
  getCourseEnvelopeSchema,
  getCoursePurchaseSchema,
  PLACEHOLDER,
  PURCHASE_TAGS,
  type GetCoursePurchase,
} from './getcourse.schema.js';
import { toInstant } from './getcourse.time.js';

/** Tags we know but do not act on. */
const IGNORED_TAGS: Readonly<Record<string, string>> = {
  order_paid: 'audit only: access comes from the purchase process callbacks',
};

export interface GetCourseContext {
  resolve: (source: Source, providerProduct: string, providerPlan: string | null) => CatalogResult;
  /** When the callback arrived: orders a finished purchase after everything sent before it. */
  receivedAt: Date;
  /** The school's IANA time zone: GetCourse sends local times without one. */
  timeZone: string;
  /** E-mails become keyed subject keys (docs/firestore.md, "Subject keys"). */
  subjects: SubjectKeys;
}

export interface MappedGetCourse {
  eventKey: string;
  eventType: string;
  mapped: Mapped;
}

/**
 * A verified GetCourse callback (query and body fields merged) → what the ledger should do.
 * Throws a 400 `AppError` naming each field the template must send that is missing, unfilled or malformed.
 */
export function mapGetCourse(fields: Record<string, unknown>, ctx: GetCourseContext): MappedGetCourse {
  const { event } = parseBody(getCourseEnvelopeSchema, fields);
  if (!(PURCHASE_TAGS as readonly string[]).includes(event)) {
    const reason = Object.hasOwn(IGNORED_TAGS, event) ? IGNORED_TAGS[event]! : `unknown GetCourse event tag "${event}"`;
    return {
      eventKey: fieldsKey(fields),
      eventType: event,
      mapped: { kind: 'ignored', reason },
    };
  }
  const purchase = readPurchase(event, fields);
  const eventKey = getCourseEventKey(purchase, ctx.subjects);

  const refs: ProductRef[] = [];
  const unknown: string[] = [];
  for (const code of purchase.products) {
    const resolved = ctx.resolve('getcourse', code, null);
    if (resolved.ok) refs.push(resolved.ref);
    else unknown.push(resolved.reason);
  }
  if (unknown.length)
    return {
      eventKey,
      eventType: event,
      mapped: { kind: 'invalid', reason: unknown.join('; ') },
    };

  const window = purchaseWindow(purchase, ctx);
  const changes = refs.map((product): EntitlementChange => ({
    source: 'getcourse',
    eventKey,
    eventType: purchase.tag,
    externalId: getCourseExternalId(purchase.purchaseId, product.providerProduct),
    subject: ctx.subjects.email(purchase.email),
    product,
    providerState: purchase.status ?? purchase.tag,
    actor: { type: 'provider', id: 'getcourse' },
    details: {
      getcourse: {
        purchaseId: purchase.purchaseId,
        userId: purchase.userId,
        products: purchase.products,
      },
    },
    ...window,
  }));
  return { eventKey, eventType: event, mapped: { kind: 'changes', changes } };
}

/** The purchase fields that bound access (docs/input-rules.md). */
export const GETCOURSE_BOUNDS: Bounds = { finish_at: 'end', start_at: 'start' };

/** The fields that say whose access to which product: required on every purchase callback. */
const IDENTITY_FIELDS = ['purchase_id', 'email', 'product', 'products'];
/** Every field the mapper reads from a purchase callback. */
const PURCHASE_FIELDS = [...IDENTITY_FIELDS, 'user_id', 'start_at', 'finish_at', 'status'];

/**
 * Validates a purchase callback. A literal `{object.…}` in a field it reads is a template fault
 * (the variable does not exist where the process runs), never a missing value: refused, naming the
 * field and the fix. `purchase_active` must carry `finish_at`; its empty value is how GetCourse
 * sends a purchase without an end date. One 400 names every problem.
 *
 * A callback that ends access (finished, cancelled) is refused only for its identity fields: an
 * unfilled `finish_at`, `start_at`, `status` or `user_id` there is read as absent, which ends access
 * on arrival, the narrowest reading. Refusing it would keep access the school meant to end.
 */
function readPurchase(tag: string, fields: Record<string, unknown>): GetCoursePurchase {
  const checked = tag === 'purchase_active' ? PURCHASE_FIELDS : IDENTITY_FIELDS;
  const problems = checked.flatMap((field) => unfilled(field, fields[field]));
  if (tag === 'purchase_active' && !Object.hasOwn(fields, 'finish_at')) {
    problems.push({
      field: 'finish_at',
      problem:
        'required for purchase_active: keep finish_at={object.finish_at} in the Call URL (GetCourse sends it empty for a purchase without an end date)',
    });
  }
  const named = new Set(problems.map((p) => p.field));
  // `product` and `products` are one requirement: an unfilled one is not reported "required" again.
  if (named.has('products')) named.add('product');
  const rest = Object.fromEntries(Object.entries(fields).filter(([key]) => !named.has(key)));
  const parsed = getCoursePurchaseSchema.safeParse(rest);
  if (parsed.success && !problems.length) return parsed.data;
  const others = parsed.success ? [] : fieldProblems(parsed.error).filter((p) => !named.has(p.field));
  throw invalidPayload([...problems, ...others]);
}

function unfilled(field: string, value: unknown): FieldProblem[] {
  const texts = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  const found = texts.map((t) => PLACEHOLDER.exec(t)?.[0]).find(Boolean);
  if (!found) return [];
  // Only the variable's own name is echoed: braces, letters, digits, dots; never the rest of the value.
  const variable = found.length <= 80 ? found.replace(/\s+/g, '') : '{object.…}';
  const noEnd = field === 'finish_at' ? '; a purchase without an end date arrives with finish_at empty' : '';
  return [
    {
      field,
      problem: `GetCourse sent ${variable} unfilled (the variable does not exist where this process runs): fix the «Вызвать URL» template of the process${noEnd}`,
    },
  ];
}

/**
 * The callback's fields with an approver's window in place of the refused bounding fields, for the
 * admin API's resolution: the override stands in for what GetCourse should have sent (an ISO time
 * with a zone, or an empty `finish_at` for open-ended).
 */
export function withGetCourseWindow(
  fields: Record<string, unknown>,
  refused: readonly string[],
  override: WindowOverride,
): Record<string, unknown> {
  const patched = { ...fields };
  for (const field of refused) {
    const bound = GETCOURSE_BOUNDS[field];
    if (bound === 'end') patched[field] = override.validUntil?.toISOString() ?? '';
    if (bound === 'start' && override.validFrom) patched[field] = override.validFrom.toISOString();
  }
  return patched;
}

type Window = Pick<EntitlementChange, 'status' | 'sourceTime' | 'validFrom' | 'validUntil'>;

/**
 * Status, validity and event time of a purchase callback. GetCourse sends no event time, so the
 * stale guard orders callbacks by what they report:
 * - active or renewed: its `finish_at`. A renewal moves `finish_at` later, so it always wins over
 *   the report it extends, and an older report arriving late is stale. (No end date: `start_at`.)
 * - finished or cancelled: the later of `finish_at` and the arrival time, plus 1 ms, so it wins
 *   over the active report of the same period; only a renewal past it re-opens access.
 */
export function purchaseWindow(p: GetCoursePurchase, ctx: Pick<GetCourseContext, 'receivedAt' | 'timeZone'>): Window {
  const startAt = p.startAt ? toInstant(p.startAt.time, ctx.timeZone) : null;
  const finishAt = p.finishAt ? toInstant(p.finishAt.time, ctx.timeZone) : null;
  const received = ctx.receivedAt.getTime();
  if (p.tag === 'purchase_active') {
    return {
      status: 'active',
      sourceTime: finishAt ?? startAt ?? ctx.receivedAt,
      validFrom: startAt ?? undefined,
      validUntil: finishAt,
    };
  }
  const ended = finishAt && finishAt.getTime() <= received ? finishAt : ctx.receivedAt;
  return {
    status: p.tag === 'purchase_cancelled' ? 'cancelled' : 'expired',
    sourceTime: new Date(Math.max(finishAt?.getTime() ?? received, received) + 1),
    validUntil: ended,
  };
}

/**
 * Entitlement id within GetCourse: `<purchase id>:<product code>` (one per product, so an offer
 * of several products gives several entitlements, and a renewal keeps the same one). A product
 * code with characters unsafe in a document id becomes `h-<sha256/16>`.
 */
export function getCourseExternalId(purchaseId: string, productCode: string): string {
  const safe = /^[A-Za-z0-9._@+=-]{1,100}$/.test(productCode) ? productCode : `h-${sha256(productCode).slice(0, 16)}`;
  return `${purchaseId}:${safe}`;
}

/**
 * GetCourse sends no event id. The key is the SHA-256 (hex) of
 * `["getcourse", tag, purchase id, sorted products, e-mail digest, finish_at, start_at, status]` as
 * sent: a repeated callback is a duplicate; a renewal (new `finish_at`) is a new event.
 */
export function getCourseEventKey(p: GetCoursePurchase, subjects: SubjectKeys): string {
  return sha256(
    JSON.stringify([
      'getcourse',
      p.tag,
      p.purchaseId,
      [...p.products].sort(),
      subjects.emailDigest(p.email),
      p.finishAt?.text ?? null,
      p.startAt?.text ?? null,
      p.status,
    ]),
  );
}

function fieldsKey(fields: Record<string, unknown>): string {
  return sha256(JSON.stringify(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
