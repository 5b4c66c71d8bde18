/**
 * Fuzz and property tests over every signature and token verifier and every envelope or payload
 * parser: ≥ 10,000 mutated inputs each, no accepted forgery, no exception other than the documented
 * refusal. fast-check shrinks a failure and prints its seed and path; replay one with
 * FUZZ_SEED=<seed> npm test -- test/fuzz.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { readFileSync } from 'node:fs';
import { AppError } from '../../src/common/errors/app-error.js';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import { KeySource } from '../../src/common/security/jwt/key-source.js';
import { InvalidTokenError, verifyJwt } from '../../src/common/security/jwt/jwt-verifier.js';
import type { CatalogResult } from '../../src/entitlements/catalog.js';
import { SubjectKeys } from '../../src/entitlements/subject.js';
import { parseMarketplaceMessage } from '../../src/marketplace/marketplace-message.js';
import { readLinkToken, signLinkToken } from '../../src/marketplace/signup/link-token.js';
import { verifyEasyCartRequest } from '../../src/webhooks/easycart/easycart.signature.js';
import { mapEasyCart } from '../../src/webhooks/easycart/easycart.mapper.js';
import { mapGetCourse } from '../../src/webhooks/getcourse/getcourse.mapper.js';
import { verifyGetCourseToken } from '../../src/webhooks/getcourse/getcourse.token.js';
import { verifyPurchaselySignature } from '../../src/webhooks/purchasely/purchasely.signature.js';
import { purchaselyEventSchema } from '../../src/webhooks/purchasely/purchasely.schema.js';
import { mapPurchaselyEvent } from '../../src/webhooks/purchasely/purchasely.mapper.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

/** One mutation of a byte string: flip, insert, delete, or truncate; always different from the input. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(input);
  if (input.length === 0) return Buffer.from([m.kind === 'insert' ? m.byte : 0x41]);
  const at = m.at % input.length;
  switch (m.kind) {
    case 'flip':
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.from([m.byte]), input.subarray(at)]);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
    case 'truncate':
      return input.subarray(0, at);
  }
}
const mutateText = (s: string, m: Mutation) => mutate(Buffer.from(s, 'latin1'), m).toString('latin1');

const subjects = new SubjectKeys('fuzz-subject-key-secret-0123456789');

const resolveAny = (_s: string, product: string, plan: string | null): CatalogResult => ({
  ok: true,
  ref: { product: 'demo', plan, providerProduct: product, providerPlan: plan },
});

/** Parsers may refuse input only with the documented 400 AppError; anything else thrown is a bug. */
function refusesCleanly(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof AppError) || error.status !== 400) throw error;
  }
}

describe('fuzz: signature and token verifiers', () => {
  it('should accept no mutation of a valid Purchasely request (body, timestamp or signature)', () => {
    const vector = JSON.parse(readFileSync('test/fixtures/purchasely/signature-test-vector.json', 'utf8'));
    const now = new Date(Number(vector.headers['x-purchasely-timestamp']) * 1000);
    const options = {
      secrets: [vector.secret, 'second-secret-0123456789'],
      now,
      toleranceSeconds: 300,
      allowDeprecated: false,
    };
    const valid = {
      rawBody: Buffer.from(vector.rawBody),
      timestamp: vector.headers['x-purchasely-timestamp'] as string,
      signature: vector.headers['x-purchasely-request-signature'] as string,
      deprecatedSignature: undefined,
    };
    expect(verifyPurchaselySignature(valid, options).ok).toBe(true);
    fc.assert(
      fc.property(fc.constantFrom('rawBody', 'timestamp', 'signature'), mutation, (field, m) => {
        const forged =
          field === 'rawBody'
            ? { ...valid, rawBody: mutate(valid.rawBody, m) }
            : { ...valid, [field]: mutateText(valid[field], m) };
        // Hex is case-insensitive: an upper-cased signature is the same signature, not a forgery.
        const same = field === 'signature' && forged.signature.toLowerCase() === valid.signature;
        return verifyPurchaselySignature(forged, options).ok === same;
      }),
      params,
    );
  });

  it('should never accept an EasyCart body whose content differs from what was signed', () => {
    const key = 'easycart-signing-key-0001';
    const body = {
      event: 'product_assigned',
      timestamp: 1764666000,
      assignee: { email: 'a@example.com' },
      product_name: 'demo-course',
    };
    const raw = Buffer.from(JSON.stringify(body, null, 2));
    const signature = hmacSha256Hex(key, raw);
    const credentials = { signingKeys: [key], urlToken: undefined };
    fc.assert(
      fc.property(mutation, fc.boolean(), (m, mutateSignature) => {
        const forgedRaw = mutateSignature ? raw : mutate(raw, m);
        const forgedSignature = mutateSignature ? mutateText(signature, m) : signature;
        let parsed: unknown;
        try {
          parsed = JSON.parse(forgedRaw.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        const verdict = verifyEasyCartRequest(credentials, {
          signature: forgedSignature,
          pathToken: undefined,
          rawBody: forgedRaw,
          compactBody: parsed === undefined ? undefined : JSON.stringify(parsed),
        });
        // Whitespace-only changes re-serialize to the signed compact body: same content, not a forgery.
        if (verdict.ok) expect(parsed).toEqual(body);
        return true;
      }),
      params,
    );
  });

  it('should accept no GetCourse path token but the configured one', () => {
    const token = 'getcourse-path-token-0123456789abcdef';
    fc.assert(
      fc.property(mutation, (m) => verifyGetCourseToken(token, mutateText(token, m)).ok === false),
      params,
    );
    fc.assert(
      fc.property(fc.string(), (s) => verifyGetCourseToken(token, s).ok === (s === token)),
      params,
    );
  });

  it('should accept no mutated or random sign-up link token', () => {
    const secret = 'link-secret-0123456789abcdefghijklmnopqrstuvwxyz';
    const now = new Date('2026-11-21T10:00:00Z');
    const token = signLinkToken(secret, {
      accountId: 'E-1234',
      nonce: 'n'.repeat(32),
      expiresAt: new Date(now.getTime() + 900_000),
    });
    expect(readLinkToken(secret, token, now).ok).toBe(true);
    fc.assert(
      fc.property(mutation, (m) => readLinkToken(secret, mutateText(token, m), now).ok === false),
      params,
    );
    fc.assert(
      fc.property(fc.anything(), (value) => readLinkToken(secret, value, now).ok === false),
      params,
    );
  });

  it('should refuse every mutated JWT with InvalidTokenError, and accept the original', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const keys = new (class extends KeySource {
      async getKey(kid: string): Promise<CryptoKey | undefined> {
        return kid === 'k1' ? publicKey : undefined;
      }
    })();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'E-1', email: 'x@example.com' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://issuer.example')
      .setAudience('aud')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    const options = { keys, issuers: ['https://issuer.example'], audience: 'aud', requiredClaims: ['sub'] };
    await expect(verifyJwt(token, options)).resolves.toMatchObject({ sub: 'E-1' });
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const forged = mutateText(token, m);
        try {
          await verifyJwt(forged, options);
        } catch (error) {
          if (error instanceof InvalidTokenError) return true;
          throw error;
        }
        // base64url has padding-insensitive tails: a change that decodes to the same bytes is the same token.
        return Buffer.from(forged.split('.')[2] ?? '', 'base64url').equals(
          Buffer.from(token.split('.')[2]!, 'base64url'),
        );
      }),
      params,
    );
  });
});

describe('fuzz: envelope and payload parsers never crash', () => {
  const marketplaceFixture = readFileSync(
    'test/fixtures/gcp-marketplace/message-entitlement-plan-change-requested.json',
  );

  it('should parse or refuse any Marketplace message data without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutation.map((m) => mutate(marketplaceFixture, m)),
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          fc.json().map((j) => Buffer.from(j)),
        ),
        (data) => {
          const result = parseMarketplaceMessage(data, 'm');
          return result.ok ? typeof result.message.eventId === 'string' : typeof result.reason === 'string';
        },
      ),
      params,
    );
  });

  it('should map or refuse (400) any EasyCart JSON without throwing anything else', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/easycart/product_assigned.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const ctx = { resolve: resolveAny, receivedAt: new Date('2026-11-21T00:00:00Z'), subjects };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc
            .dictionary(fc.constantFrom(...Object.keys(fixture)), fc.jsonValue())
            .map((patch) => ({ ...fixture, ...patch })),
        ),
        (body) => {
          refusesCleanly(() => mapEasyCart(body, ctx));
        },
      ),
      params,
    );
  });

  it('should map or refuse (400) any GetCourse fields without throwing anything else', () => {
    const base = {
      tag: 'purchase_active',
      purchase_id: '123',
      email: 'a@example.com',
      product: 'demo-course',
      finish_at: '2026-12-01 10:00:00',
    };
    const ctx = {
      resolve: resolveAny,
      receivedAt: new Date('2026-11-21T00:00:00Z'),
      timeZone: 'Europe/Moscow',
      subjects,
    };
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(...Object.keys(base), 'start_at', 'products', 'user_id', 'x'),
          fc.oneof(fc.string(), fc.constant('{object.user.email}'), fc.jsonValue()),
        ),
        (patch) => {
          refusesCleanly(() => mapGetCourse({ ...base, ...patch }, ctx));
        },
      ),
      params,
    );
  });

  it('should validate and map any Purchasely JSON without throwing', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/purchasely/activate.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const ctx = {
      resolve: (product: string, plan: string | null) => resolveAny('purchasely', product, plan),
      sandbox: 'apply' as const,
    };
    fc.assert(
      fc.property(
        fc
          .dictionary(fc.constantFrom(...Object.keys(fixture)), fc.jsonValue())
          .map((patch) => ({ ...fixture, ...patch })),
        (body) => {
          const parsed = purchaselyEventSchema.safeParse(body);
          if (parsed.success) mapPurchaselyEvent(parsed.data, 'k', ctx);
        },
      ),
      params,
    );
  });
});
