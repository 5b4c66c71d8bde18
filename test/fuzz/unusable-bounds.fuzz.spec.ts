/**
 * Fuzz of the intake for issue 26 (docs/input-rules.md): a present but unusable value generated in
 * any field that bounds access (template variables, words, dates off the calendar or without a
 * zone, numbers in units the provider never sends, values of the wrong type) never produces a
 * write to entitlements/ or access/; the same event with the value filled is applied.
 *
 * - Pure, ≥ 10,000 runs per source: the mappers as the controllers run them, then the ledger's
 *   own plan (`planApply`) of what a transaction would write.
 * - Over HTTP against the Firestore emulator, `FUZZ_HTTP_RUNS` (default 25) runs per webhook
 *   source: the real bootstrap, real wire formats, and a look at the collections afterwards.
 *
 * Replay a failure with FUZZ_SEED=<seed> npm test -- test/fuzz.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Firestore } from '@google-cloud/firestore';
import { AppError } from '../../src/common/errors/app-error.js';
import type { CatalogResult } from '../../src/entitlements/catalog.js';
import { SubjectKeys } from '../../src/entitlements/subject.js';
import type { EntitlementChange } from '../../src/entitlements/entitlement.js';
import { planApply } from '../../src/entitlements/ledger-plan.js';
import { fetchedTimes } from '../../src/marketplace/entitlement-state.js';
import type { Mapped } from '../../src/webhooks/common/webhook-intake.js';
import { EASYCART_BOUNDS, mapEasyCart } from '../../src/webhooks/easycart/easycart.mapper.js';
import { GETCOURSE_BOUNDS, mapGetCourse } from '../../src/webhooks/getcourse/getcourse.mapper.js';
import {
  mapPurchaselyEvent,
  PURCHASELY_BOUNDS,
  readPurchaselyEvent,
} from '../../src/webhooks/purchasely/purchasely.mapper.js';
import {
  activate,
  easyCartDelivery,
  getCourseCall,
  productAssigned,
  purchaseActive,
  purchaselyDelivery,
  startWebhookStack,
  type WebhookStack,
} from '../support/webhook-senders.js';
import { emailKey } from '../support/app.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 25);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };
const httpParams = { numRuns: HTTP_RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

const NOW = new Date('2026-11-20T12:00:00Z');
const subjects = new SubjectKeys('fuzz-subject-key-secret-0123456789');
const resolveAny = (_s: string, product: string, plan: string | null): CatalogResult => ({
  ok: true,
  ref: { product: 'demo', plan, providerProduct: product, providerPlan: plan },
});

// ---- unusable values, by form; none of them is a value the provider sends for a date ----

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** A template variable nobody filled: GetCourse's own `{object.…}`, and other template syntaxes. */
const templateVariable = fc.oneof(
  fc.stringMatching(/^\{\s?object(\.[a-z_]{1,12}){1,3}\s?\}$/),
  fc.stringMatching(/^\{\{[a-z_]{1,16}\}\}$/),
  fc.stringMatching(/^%[a-z_]{1,16}%$/),
);
/** Text without a digit can never be a date. */
const word = fc.string({ minLength: 1, maxLength: 24 }).filter((s) => s.trim() !== '' && !/\d/.test(s));
/** A date-time with one part off the calendar or the clock. */
const offCalendar = fc
  .record({
    y: fc.integer({ min: 2000, max: 2100 }),
    mo: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
    h: fc.integer({ min: 0, max: 23 }),
    mi: fc.integer({ min: 0, max: 59 }),
    bad: fc.constantFrom('month', 'day', 'february', 'hour', 'minute'),
  })
  .map(({ y, mo, d, h, mi, bad }) => {
    if (bad === 'month') mo = 13 + (mo % 87);
    if (bad === 'day') d = 32 + (d % 68);
    if (bad === 'february') [mo, d] = [2, 30 + (d % 2)];
    if (bad === 'hour') h = 24 + (h % 76);
    if (bad === 'minute') mi = 60 + (mi % 40);
    return { date: `${y}-${pad(mo)}-${pad(d)}`, time: `${pad(h)}:${pad(mi)}:00` };
  });
/** Unix times in units nobody sends for that field: durations, microseconds, 11 digits. */
const wrongUnitSeconds = fc.oneof(
  fc.integer({ min: 1, max: 999_999_999 }),
  fc.integer({ min: 10_000_000_000, max: 99_999_999_999 }),
  fc.integer({ min: 1e15, max: 8e15 }),
);
const wrongUnitMillis = fc.oneof(
  fc.integer({ min: 0, max: 99_999_999_999 }), // seconds, or a duration
  fc.integer({ min: 1e13, max: 8e15 }), // microseconds
  fc.double({ min: 1e11, max: 1e13, noInteger: true, noNaN: true }),
);
const wrongType = fc.oneof(
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.integer()),
);

/** GetCourse values are text: variables, words, off-calendar dates, digits alone. */
const getCourseUnusable = fc.oneof(
  templateVariable,
  word,
  offCalendar.map((t) => `${t.date} ${t.time}`),
  fc.integer({ min: 0, max: 1e13 }).map(String),
);
/** RFC 3339 fields (Purchasely, Marketplace): everything but a date-time with a zone. */
const rfc3339Unusable = fc.oneof(
  word,
  templateVariable,
  offCalendar.map((t) => `${t.date}T${t.time}Z`),
  offCalendar.map((t) => t.date.replace(/-\d+-\d+$/, '-11-21')), // a date alone
  fc.constantFrom('2026-11-21T14:00:00', '2026-11-21 14:00:00Z', 'Dec 1 2026', '2026', ''),
  fc.integer({ min: 0, max: 1e13 }).map(String),
);
const easyCartUnusable = fc.oneof(
  word,
  templateVariable,
  offCalendar.map((t) => `${t.date}T${t.time}+01:00`),
  fc.constantFrom('2026-12-02T10:00:00', '2026-12-02 10:00', '', 0),
  wrongUnitSeconds,
  wrongUnitSeconds.map(String),
  wrongType,
);
const purchaselyMillisUnusable = fc.oneof(wrongUnitMillis, wrongUnitMillis.map(String), word, wrongType);
const purchaselyIsoUnusable = fc.oneof(rfc3339Unusable, fc.integer({ min: 1e11, max: 1e13 - 1 }), wrongType);

// ---- the pure intake: what the controllers run, then what the ledger would write ----

/** How many documents a ledger transaction would write (entitlement and access) for these changes. */
function plannedWrites(mapped: Mapped): number {
  if (mapped.kind !== 'changes') return 0;
  return mapped.changes.filter(
    (change: EntitlementChange) =>
      planApply({ change, priorEvent: null, existing: null, linkedSubjectKey: null, accessByKey: new Map(), now: NOW })
        .outcome === 'applied',
  ).length;
}

/** The intake's verdict: refused (400, naming these fields) or what it would write. */
function intake(run: () => Mapped): { refused: string[] } | { writes: number; mapped: Mapped } {
  try {
    const mapped = run();
    return { writes: plannedWrites(mapped), mapped };
  } catch (error) {
    if (!(error instanceof AppError) || error.status !== 400) throw error;
    return { refused: ((error.details?.fields ?? []) as { field: string }[]).map((f) => f.field) };
  }
}

function expectRefused(verdict: ReturnType<typeof intake>, field: string): boolean {
  return 'refused' in verdict && verdict.refused.includes(field);
}

function onlyChange(verdict: ReturnType<typeof intake>): EntitlementChange {
  if (!('writes' in verdict) || verdict.writes !== 1 || verdict.mapped.kind !== 'changes') {
    throw new Error(`control not applied: ${JSON.stringify(verdict)}`);
  }
  return verdict.mapped.changes[0]!;
}

const getCourse = (fields: Record<string, unknown>) => () =>
  mapGetCourse(fields, { resolve: resolveAny, receivedAt: NOW, timeZone: 'Europe/Moscow', subjects }).mapped;
const easyCart = (body: Record<string, unknown>) => () =>
  mapEasyCart(body, { resolve: resolveAny, receivedAt: NOW, subjects }).mapped;
const purchasely = (body: Record<string, unknown>) => () =>
  mapPurchaselyEvent(readPurchaselyEvent(body), 'k', {
    resolve: (product, plan) => resolveAny('purchasely', product, plan),
    sandbox: 'apply',
  });

const gcBase = Object.fromEntries(purchaseActive('48213377', 'olga@example.ru'));
const ecFixture = JSON.parse(readFileSync('test/fixtures/easycart/product_assigned.json', 'utf8')) as Record<
  string,
  unknown
>;
const ecBase = { ...ecFixture, expiration_date: 1_796_202_000 };
const plBase = activate(NOW, 'subs_fuzz', 'u-fuzz');

describe('fuzz: an unusable value in a field that bounds access is never written (pure intake)', () => {
  it('GetCourse: finish_at and start_at of an active purchase', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(GETCOURSE_BOUNDS)), getCourseUnusable, (field, value) => {
        if (!expectRefused(intake(getCourse({ ...gcBase, [field]: value })), field)) return false;
        // Control: the same callback with the value filled.
        const filled = onlyChange(intake(getCourse({ ...gcBase, [field]: '2026-11-25 10:00:00' })));
        return (
          (field === 'finish_at' ? filled.validUntil : filled.validFrom)?.toISOString() === '2026-11-25T07:00:00.000Z'
        );
      }),
      params,
    );
  });

  it('EasyCart: expiration_date and subscription_current_period_end of events that grant or extend', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(EASYCART_BOUNDS)),
        fc.constantFrom('product_assigned', 'subscription_canceled', 'subscription_renewed', 'product_access_expiring'),
        easyCartUnusable,
        (field, event, value) => {
          if (!expectRefused(intake(easyCart({ ...ecBase, event, [field]: value })), field)) return false;
          const filled = onlyChange(intake(easyCart({ ...ecBase, event, [field]: 1_796_202_000 })));
          return filled.validUntil === undefined || filled.validUntil?.getTime() === 1_796_202_000_000;
        },
      ),
      params,
    );
  });

  it('Purchasely: every expiry field of an ACTIVATE', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(
            fc.constantFrom(...Object.keys(PURCHASELY_BOUNDS).filter((f) => f.endsWith('_ms'))),
            purchaselyMillisUnusable,
          ),
          fc.tuple(
            fc.constantFrom(...Object.keys(PURCHASELY_BOUNDS).filter((f) => !f.endsWith('_ms'))),
            purchaselyIsoUnusable,
          ),
        ),
        ([field, value]) => {
          if (!expectRefused(intake(purchasely({ ...plBase, [field]: value })), field)) return false;
          const until = Date.parse('2026-12-20T12:00:00Z');
          const filledValue = field.endsWith('_ms') ? until : new Date(until).toISOString();
          const clean = Object.fromEntries(
            Object.entries(plBase).filter(([k]) => !Object.hasOwn(PURCHASELY_BOUNDS, k)),
          );
          return onlyChange(intake(purchasely({ ...clean, [field]: filledValue }))).validUntil?.getTime() === until;
        },
      ),
      params,
    );
  });

  it('Marketplace: the fetched end of a pending cancellation and start of an accepted future offer', () => {
    const cases = [
      ['subscriptionEndTime', 'pending_cancellation'],
      ['offerEndTime', 'pending_cancellation'],
      ['newOfferStartTime', 'pending_approval'],
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        rfc3339Unusable.filter((s) => s !== ''),
        ([field, status], value) => {
          const read = fetchedTimes({ [field]: value }, status);
          if (read.ok || !read.fields.includes(field)) return false;
          const filled = fetchedTimes({ [field]: '2026-12-31T23:00:00Z' }, status);
          return filled.ok && filled.times[field]?.toISOString() === '2026-12-31T23:00:00.000Z';
        },
      ),
      params,
    );
  });
});

describe('fuzz: an unusable value in a field that bounds access is never written (HTTP, Firestore emulator)', () => {
  let stack: WebhookStack;
  let db: Firestore;

  beforeAll(async () => {
    stack = await startWebhookStack(NOW);
    db = stack.app.app.get(Firestore);
  });
  afterAll(() => stack.close());

  async function written(field: string, value: string, subjectKey: string): Promise<number> {
    const [entitlements, access] = await Promise.all([
      db.collection('entitlements').where(field, '==', value).get(),
      db.collection('access').doc(subjectKey).get(),
    ]);
    return entitlements.size + (access.exists ? 1 : 0);
  }

  it('GetCourse: a Call URL with the unusable value in its query', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(GETCOURSE_BOUNDS)), getCourseUnusable, async (field, value) => {
        const purchaseId = String(randomInt(10_000_000, 99_999_999));
        const email = `fuzz-${purchaseId}@example.ru`;
        const refused = await getCourseCall(stack.app, purchaseActive(purchaseId, email, { [field]: value }));
        expect(refused.status).toBe(400);
        expect(await written('details.getcourse.purchaseId', purchaseId, emailKey(email))).toBe(0);
        const filled = await getCourseCall(stack.app, purchaseActive(purchaseId, email));
        expect(filled.body.outcome).toBe('applied');
        expect(await written('details.getcourse.purchaseId', purchaseId, emailKey(email))).toBe(2);
      }),
      httpParams,
    );
  });

  it('EasyCart: a signed product_assigned with the unusable value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(EASYCART_BOUNDS)), easyCartUnusable, async (field, value) => {
        const email = `fuzz-${randomUUID()}@example.com`;
        const payload = productAssigned(email, { [field]: value });
        expect((await easyCartDelivery(stack.app, payload)).status).toBe(400);
        const order = payload.order_uuid as string;
        expect(await written('details.easycart.orderUuid', order, emailKey(email))).toBe(0);
        const filled = await easyCartDelivery(stack.app, { ...payload, [field]: 1_796_202_000 });
        expect(filled.body.outcome).toBe('applied');
        expect(await written('details.easycart.orderUuid', order, emailKey(email))).toBe(2);
      }),
      httpParams,
    );
  });

  it('Purchasely: a signed ACTIVATE with the unusable expiry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(
            fc.constantFrom('effective_next_renewal_at_ms', 'next_renewal_at_ms', 'expires_at_ms'),
            purchaselyMillisUnusable,
          ),
          fc.tuple(
            fc.constantFrom('effective_next_renewal_at', 'next_renewal_at', 'expires_at'),
            purchaselyIsoUnusable,
          ),
        ),
        async ([field, value]) => {
          const userId = `u-${randomUUID()}`;
          const subscription = `subs_${randomUUID()}`;
          const payload = activate(NOW, subscription, userId, { [field]: value });
          expect((await purchaselyDelivery(stack.app, stack.clock, payload)).status).toBe(400);
          expect(await written('externalId', subscription, `user:${userId}`)).toBe(0);
          const filled = activate(NOW, subscription, userId);
          expect((await purchaselyDelivery(stack.app, stack.clock, filled)).body.outcome).toBe('applied');
          expect(await written('externalId', subscription, `user:${userId}`)).toBe(2);
        },
      ),
      httpParams,
    );
  });
});
