import { z } from 'zod';
import { parseGetCourseTime, type GetCourseTime } from './getcourse.time.js';

/**
 * GetCourse callbacks carry what the school's Call URL template asks for (docs/integrations/
 * getcourse.md): every value a string, from the query, a form or a JSON body. An empty value is
 * missing. A variable GetCourse could not fill arrives as its literal `{object.…}` text: the mapper
 * refuses it in every purchase field before this schema runs (docs/input-rules.md).
 */

/** Event tags of the purchase templates; any other tag is recorded and ignored. */
export const PURCHASE_TAGS = ['purchase_active', 'purchase_finished', 'purchase_cancelled'] as const;
export type PurchaseTag = (typeof PURCHASE_TAGS)[number];

export const PLACEHOLDER = /\{\s*[A-Za-z_]+(?:\.[A-Za-z0-9_]+)+\s*\}/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Query and body merged into one flat record; body fields win (a POST may repeat the query).
 * A text body is read as JSON if it looks like an object, else as a form.
 */
export function getCourseFields(query: unknown, body: unknown): Record<string, unknown> {
  return {
    ...asRecord(query),
    ...asRecord(typeof body === 'string' ? parseText(body) : body),
  };
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)
    ? { ...(value as Record<string, unknown>) }
    : {};
}

function parseText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(trimmed));
}

/** A filled-in value, or undefined for empty and unfilled `{object.…}` placeholders. */
export function filled(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed === '' || PLACEHOLDER.test(trimmed) ? undefined : trimmed;
}

const requiredText = (max: number) =>
  z.preprocess(
    filled,
    z
      .string({
        error: (i) => (i.input === undefined ? 'required' : 'must be text'),
      })
      .max(max, `at most ${max} characters`),
  );
const optionalText = (max: number) =>
  z.preprocess(filled, z.string({ error: 'must be text' }).max(max, `at most ${max} characters`).optional());

/** `a,b` (or `a;b`, or the key repeated) → unique codes. */
const codeList = z.preprocess(
  (value) => {
    const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
    if (items.some((i) => typeof i !== 'string' && typeof i !== 'number')) return value;
    const codes = items.flatMap((i) => String(i).split(/[,;]/)).map(filled);
    return [...new Set(codes.filter((c): c is string => typeof c === 'string'))];
  },
  z
    .array(z.string().max(200, 'each code at most 200 characters'), {
      error: 'must be a comma-separated list of codes',
    })
    .max(50, 'at most 50 codes'),
);

export interface GetCourseTimeField {
  /** As sent, for the event key. */
  text: string;
  time: GetCourseTime;
}

const time = z.preprocess(
  filled,
  z
    .string({ error: 'must be text' })
    .max(64, 'at most 64 characters')
    .transform((text, ctx): GetCourseTimeField => {
      const parsed = parseGetCourseTime(text);
      if (!parsed) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a date like 2026-11-21 14:00:00',
        });
        return z.NEVER;
      }
      return { text, time: parsed };
    })
    .optional(),
);

export const getCourseEnvelopeSchema = z.looseObject({
  event: requiredText(64).transform((tag) => tag.toLowerCase()),
});

/** A purchase callback once validated. */
export interface GetCoursePurchase {
  tag: PurchaseTag;
  purchaseId: string;
  userId: string | null;
  email: string;
  /** Provider product codes (config/products.yaml); several when one offer holds several products. */
  products: string[];
  startAt: GetCourseTimeField | null;
  finishAt: GetCourseTimeField | null;
  status: string | null;
}

export const getCoursePurchaseSchema = z
  .looseObject({
    event: requiredText(64).transform((tag) => tag.toLowerCase()),
    purchase_id: requiredText(100),
    user_id: optionalText(100),
    email: requiredText(320).refine((e) => EMAIL.test(e), 'must be an e-mail address'),
    product: codeList,
    products: codeList,
    start_at: time,
    finish_at: time,
    status: optionalText(64),
  })
  .superRefine(
    (p, ctx) => {
      // Runs even when a field failed, so one 400 names every problem; hence the type guards.
      if (typeof p.event === 'string' && !(PURCHASE_TAGS as readonly string[]).includes(p.event)) {
        ctx.addIssue({
          code: 'custom',
          path: ['event'],
          message: `must be one of ${PURCHASE_TAGS.join(', ')}`,
        });
      }
      const count = (list: unknown) => (Array.isArray(list) ? list.length : 1);
      if (count(p.product) + count(p.products) === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['product'],
          message: 'required (or products)',
        });
      }
    },
    { when: () => true },
  )
  .transform((p): GetCoursePurchase => ({
    tag: p.event as PurchaseTag,
    purchaseId: p.purchase_id,
    userId: p.user_id ?? null,
    email: p.email.toLowerCase(),
    products: [...new Set([...p.product, ...p.products])],
    startAt: p.start_at ?? null,
    finishAt: p.finish_at ?? null,
    status: p.status ?? null,
  }));
