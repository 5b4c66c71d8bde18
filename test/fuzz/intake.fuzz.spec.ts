/**
 * Fuzz and property tests of the intake's bounds (issue 17): fields of any length never make an id,
 * key or map key Firestore would refuse; the URL redactor never lets a token or an address through;
 * a flood of refusals keeps bounded samples and never throttles a verified request. FUZZ_RUNS and
 * FUZZ_SEED as in verifiers.fuzz.spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { AppError } from '../../src/common/errors/app-error.js';
import { redactUrl, redactUrlsInText } from '../../src/common/logging/redact-url.js';
import type { CatalogResult } from '../../src/entitlements/catalog.js';
import { entitlementId, type EntitlementChange } from '../../src/entitlements/entitlement.js';
import { accessKey } from '../../src/entitlements/ledger-plan.js';
import { SubjectKeys } from '../../src/entitlements/subject.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { RefusalRecorder } from '../../src/webhooks/common/refusal-recorder.js';
import { RefusalStore } from '../../src/webhooks/common/refusal-store.js';
import { RefusalTally, SAMPLE_BYTES, type RefusalBatch } from '../../src/webhooks/common/refusal-tally.js';
import { memoryLogger, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';
import { mapEasyCart } from '../../src/webhooks/easycart/easycart.mapper.js';
import { mapGetCourse } from '../../src/webhooks/getcourse/getcourse.mapper.js';
import { mapPurchaselyEvent } from '../../src/webhooks/purchasely/purchasely.mapper.js';
import { purchaselyEventSchema } from '../../src/webhooks/purchasely/purchasely.schema.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };
/** Heavier properties (bodies of kilobytes): a tenth of the runs. */
const heavy = { ...params, numRuns: Math.max(100, Math.floor(RUNS / 10)) };

/** Firestore's limit on document ids, and on a field name (an access map key). */
const FIRESTORE_ID_BYTES = 1_500;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const subjects = new SubjectKeys('fuzz-subject-key-secret-0123456789');
const resolveAny = (_s: string, product: string, plan: string | null): CatalogResult => ({
  ok: true,
  ref: { product: 'demo', plan, providerProduct: product, providerPlan: plan },
});

/** Strings from empty to longer than any bound, of any characters (astral ones included). */
const anyLength = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 90, maxLength: 400 }),
  fc.nat({ max: 3_000 }).map((n) => 'x'.repeat(n)),
  fc.nat({ max: 800 }).map((n) => `${'é'.repeat(n)}@example.com`),
);

/** What the store derives from a change: the entitlement's document id, its access map key, the subject's key. */
function assertStorable(change: EntitlementChange): void {
  const id = entitlementId(change.source, change.externalId);
  expect(bytes(accessKey(id))).toBeLessThanOrEqual(FIRESTORE_ID_BYTES);
  expect(bytes(change.eventKey)).toBeLessThanOrEqual(FIRESTORE_ID_BYTES);
  expect(bytes(change.subject.key)).toBeLessThanOrEqual(FIRESTORE_ID_BYTES);
  // An e-mail subject's key and, for EasyCart, the id's person part are its keyed digest, never the address.
  if (change.subject.email) {
    expect(change.subject.key).toBe(subjects.emailKey(change.subject.email));
    if (change.source === 'easycart') expect(id.split(':').at(-1)).toBe(subjects.emailDigest(change.subject.email));
  }
}

function mapsOrRefuses(map: () => { mapped: { kind: string; changes?: EntitlementChange[] } }): void {
  let result;
  try {
    result = map();
  } catch (error) {
    if (error instanceof AppError && error.status === 400) return;
    throw error;
  }
  if (result.mapped.kind === 'changes') for (const c of result.mapped.changes!) assertStorable(c);
}

describe('fuzz: fields of any length', () => {
  it('should map EasyCart fields of any length to storable ids, or refuse them with a 400', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/easycart/product_assigned.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const ctx = { resolve: resolveAny, receivedAt: new Date('2026-11-21T00:00:00Z'), subjects };
    const fields = [
      'order_uuid',
      'order_id',
      'product_id',
      'product_name',
      'price_description',
      'subscription_plan_name',
    ];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...fields), anyLength), fc.option(anyLength), (patch, email) => {
        const body = { ...fixture, ...patch, ...(email !== null ? { assignee: { email } } : {}) };
        mapsOrRefuses(() => mapEasyCart(body, ctx));
      }),
      heavy,
    );
  });

  it('should map GetCourse fields of any length to storable ids, or refuse them with a 400', () => {
    const ctx = {
      resolve: resolveAny,
      receivedAt: new Date('2026-11-21T00:00:00Z'),
      timeZone: 'Europe/Moscow',
      subjects,
    };
    fc.assert(
      fc.property(
        fc.record({
          purchase_id: anyLength,
          email: anyLength,
          product: anyLength,
          products: anyLength,
          user_id: anyLength,
        }),
        (fields) => mapsOrRefuses(() => mapGetCourse({ event: 'purchase_active', ...fields }, ctx)),
      ),
      heavy,
    );
  });

  it('should accept only Purchasely ids that make storable entitlements', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/purchasely/activate.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const ctx = {
      resolve: (p: string, plan: string | null) => resolveAny('purchasely', p, plan),
      sandbox: 'apply' as const,
    };
    const ids = ['purchasely_subscription_id', 'user_id', 'anonymous_user_id', 'event_id', 'product', 'plan'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...ids), anyLength), (patch) => {
        const parsed = purchaselyEventSchema.safeParse({ ...fixture, ...patch });
        if (!parsed.success) return;
        const mapped = mapPurchaselyEvent(parsed.data, parsed.data.event_id ?? 'k', ctx);
        if (mapped.kind === 'changes') for (const c of mapped.changes) assertStorable(c);
      }),
      heavy,
    );
  });
});

describe('fuzz: URL redaction', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9._~-]{24,64}$/);
  const email = fc.emailAddress();
  const word = fc.stringMatching(/^[a-z]{1,10}$/);

  it('should never let a path token or a query value through, whatever surrounds them', () => {
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 4 }),
        token,
        email,
        fc.array(fc.tuple(word, fc.string({ minLength: 1, maxLength: 40 })), { maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom('', '/', '#frag', '/x'),
        (before, secret, address, query, absolute, tail) => {
          const qs = [
            ...query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
            `email=${encodeURIComponent(address)}`,
          ];
          const path = `/${[...before, secret].join('/')}${tail}?${qs.join('&')}`;
          const url = absolute ? `https://svc.example.run.app${path}` : path;
          for (const out of [redactUrl(url), redactUrlsInText(`Cannot POST ${url}`)]) {
            expect(out).not.toContain(secret);
            expect(out).not.toContain(address);
            expect(out).not.toContain(encodeURIComponent(address));
            for (const [, v] of query) if (v.length > 3) expect(out).not.toContain(encodeURIComponent(v));
            expect(out.length).toBeLessThanOrEqual(600);
          }
        },
      ),
      params,
    );
  });

  it('should never throw, on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        redactUrl(text);
        redactUrlsInText(text);
      }),
      params,
    );
  });
});

describe('fuzz: floods of refused requests', () => {
  it('should keep at most N cut samples per source and minute, never a whole body and never an e-mail', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.array(
          fc.record({
            source: fc.constantFrom('easycart', 'getcourse', 'purchasely' as const),
            reason: fc.constantFrom('bad_signature', 'missing_token', 'unparsed_body'),
            atMs: fc.nat({ max: 5 * 60_000 }),
            body: fc.tuple(fc.string({ maxLength: 600 }), fc.emailAddress(), fc.string({ maxLength: 600 })),
          }),
          { maxLength: 120 },
        ),
        (perMinute, requests) => {
          const tally = new RefusalTally(perMinute);
          const sorted = [...requests].sort((a, b) => a.atMs - b.atMs);
          for (const r of sorted) {
            tally.count(r.source, r.reason, new Date(r.atMs), { raw: r.body.join(' '), url: '/webhooks/x' });
          }
          const batches = tally.drain();
          expect(batches.reduce((n, b) => n + b.count, 0)).toBe(requests.length);
          const perSourceMinute = new Map<string, number>();
          for (const b of batches) {
            for (const s of b.samples) {
              const key = `${b.source}:${Math.floor(s.at.getTime() / 60_000)}`;
              perSourceMinute.set(key, (perSourceMinute.get(key) ?? 0) + 1);
              expect(bytes(s.head)).toBeLessThanOrEqual(SAMPLE_BYTES);
              if (s.bytes > 0) expect(bytes(s.head)).toBeLessThan(s.bytes);
              expect(s.head).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/);
            }
          }
          for (const n of perSourceMinute.values()) expect(n).toBeLessThanOrEqual(perMinute);
        },
      ),
      heavy,
    );
  });

  it('should bound the 401s a flood gets, answer the rest 429 with Retry-After, and count every one', async () => {
    const written: RefusalBatch[] = [];
    const store = new (class extends RefusalStore {
      async recordRefusals(batches: RefusalBatch[]): Promise<void> {
        written.push(...batches);
      }
    })();
    const clock = new TestClock(new Date('2026-11-21T00:00:00Z'));
    const env = {
      REFUSAL_SAMPLES_PER_MINUTE: 5,
      WEBHOOK_REFUSALS_PER_MINUTE: 10,
      WEBHOOK_REFUSALS_PER_CLIENT_PER_MINUTE: 3,
      REFUSAL_FLUSH_SECONDS: 60,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ client: fc.nat({ max: 5 }), dtMs: fc.nat({ max: 2_000 }) }), { maxLength: 200 }),
        async (flood) => {
          written.length = 0;
          const recorder = new RefusalRecorder(store, clock, memoryLogger('error').logger, {
            env,
          } as unknown as AppConfig);
          const start = clock.now().getTime();
          let unauthorized = 0;
          for (const r of flood) {
            clock.advance(r.dtMs);
            const answer = recorder.refuseUnverified(
              'easycart',
              'bad_signature',
              `198.51.100.${r.client}`,
              { url: '/webhooks/easycart' },
              new AppError('unauthenticated', 'no'),
            );
            if (answer.code === 'unauthenticated') unauthorized++;
            else {
              expect(answer.code).toBe('rate_limited');
              expect(answer.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            }
          }
          const minutes = (clock.now().getTime() - start) / 60_000;
          expect(unauthorized).toBeLessThanOrEqual(10 + Math.ceil(minutes * 10));
          await recorder.flush();
          expect(written.reduce((n, b) => n + b.count, 0)).toBe(flood.length);
        },
      ),
      heavy,
    );
  });
});

describe('fuzz: slow bodies over a real socket', () => {
  const REQUEST_MS = 1_500;
  let running: RunningApp;
  let port: number;

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({ HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS), HTTP_HEADERS_TIMEOUT_MS: '1000' }),
    });
    port = Number(new URL(running.url).port);
  });
  afterAll(() => running.close());

  /** Sends `text` cut at `cuts`, pausing `pauseMs` between pieces; resolves with the status line and when it closed. */
  const send = (text: string, cuts: number[], pauseMs: number) =>
    new Promise<{ status: string; ms: number }>((resolve) => {
      const started = Date.now();
      let answer = '';
      const trickle = async () => {
        let from = 0;
        for (const at of [...cuts, text.length]) {
          if (socket.destroyed) break;
          socket.write(text.slice(from, at));
          from = at;
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      };
      const socket = connect(port, '127.0.0.1', () => void trickle());
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (answer += c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ status: answer.split('\r\n')[0] ?? '', ms: Date.now() - started }));
    });
  const request = (body: string) =>
    `POST /webhooks/purchasely HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const cutsOf = (length: number) =>
    fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: 12 }).map((c) => c.sort((a, b) => a - b));

  it('should answer a request that arrives in time, however it is cut', async () => {
    const text = request(JSON.stringify({ event_name: 'ACTIVATE', pad: 'p'.repeat(100) }));
    await fc.assert(
      fc.asyncProperty(cutsOf(text.length), fc.integer({ min: 0, max: 40 }), async (cuts, pause) => {
        const { status } = await send(text, cuts, pause);
        // Purchasely is not configured here: 503 is its answer, reached only if the body arrived whole.
        expect(status).toBe('HTTP/1.1 503 Service Unavailable');
      }),
      { ...params, numRuns: 10 },
    );
  });

  it('should close a request that trickles past the request timeout, however it is cut', async () => {
    const text = request(JSON.stringify({ pad: 'p'.repeat(400) }));
    await fc.assert(
      fc.asyncProperty(
        cutsOf(text.length).filter((c) => c.length >= 8),
        async (cuts) => {
          const { status, ms } = await send(text, cuts, 400);
          expect(status).toBe('HTTP/1.1 408 Request Timeout');
          expect(ms).toBeLessThan(REQUEST_MS + 1_500);
        },
      ),
      { ...params, numRuns: 2 },
    );
  });
});
