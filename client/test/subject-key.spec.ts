import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { documentId } from '../../src/common/document-id.js';
import {
  accountSubject,
  anonymousSubject,
  emailSubjectKey,
  SubjectKeys,
  userSubject,
} from '../../src/entitlements/subject.js';
import * as browser from '../src/browser.js';
import { accessDocumentId, subjectKey, SubjectKeyError } from '../src/index.js';

/**
 * The client keeps its own copy of the key rules (a published package cannot import the service's
 * src/), checked here against the service's one definition (src/entitlements/subject.ts,
 * src/common/document-id.ts) on arbitrary input: any drift fails this suite.
 */
const RUNS = 3_000;
/** Ids as hostile as they come: any Unicode, and the characters the encodings treat specially. */
const id = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 30, unit: fc.constantFrom('/', '%', '2', 'F', 'a', ':', '.', '_', ' ') }),
  fc.string({ minLength: 390, maxLength: 420, unit: fc.constantFrom('a', 'b', '-') }),
);
const secret = fc.string({ minLength: 32, maxLength: 80, unit: 'grapheme' });
const email = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((e) => `  ${e.toUpperCase()}\t`),
  fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => s.trim().length > 0),
);

describe('subject keys: the client computes what the service writes', () => {
  it('should give the documented test vector (docs/firestore.md)', () => {
    expect(subjectKey.forEmail('Jan@Kowalski.PL', { secret: 'subject-key-secret-0123456789abcdef' })).toBe(
      'emailh:0980a1cf2df40280b01bc0cf1c7d8705',
    );
  });

  it('should encode user, account and anonymous ids exactly as the service', () => {
    fc.assert(
      fc.property(id, (value) => {
        expect(subjectKey.forUser(value)).toBe(userSubject(value).key);
        expect(subjectKey.forGcpAccount(value)).toBe(accountSubject(value).key);
        expect(subjectKey.forPurchaselyAnonymous(value)).toBe(anonymousSubject('purchasely', value).key);
        expect(browser.subjectKey.forUser(value)).toBe(userSubject(value).key);
      }),
      { numRuns: RUNS },
    );
  });

  it('should hash e-mails exactly as the service, under any secret', () => {
    fc.assert(
      fc.property(email, secret, (address, key) => {
        expect(subjectKey.forEmail(address, { secret: key })).toBe(emailSubjectKey(key, address));
        expect(subjectKey.forEmail(address, { secret: key })).toBe(new SubjectKeys(key).emailKey(address));
      }),
      { numRuns: RUNS },
    );
  });

  it('should find the access document where the service writes it (the key, or h:<sha256> of it)', () => {
    fc.assert(
      fc.property(id, (value) => {
        const key = subjectKey.forUser(value);
        expect(accessDocumentId(key)).toBe(documentId(key));
        // The browser entry computes no hash: it refuses exactly the keys the service hashes.
        if (documentId(key) === key) expect(browser.accessDocumentId(key)).toBe(key);
        else expect(() => browser.accessDocumentId(key)).toThrow(SubjectKeyError);
      }),
      { numRuns: RUNS },
    );
    expect(accessDocumentId('user:tenant%2F42')).toMatch(/^h:[0-9a-f]{64}$/);
  });

  it('should refuse what cannot be a key: empty ids, an empty address, a missing or short secret', () => {
    expect(() => subjectKey.forUser('')).toThrow(SubjectKeyError);
    expect(() => subjectKey.forGcpAccount(undefined as unknown as string)).toThrow(/non-empty string/);
    expect(() => subjectKey.forEmail('  ', { secret: 'x'.repeat(32) })).toThrow(/e-mail address/);
    expect(() => subjectKey.forEmail('a@b.c', { secret: '' })).toThrow(/SUBJECT_KEY_SECRET/);
    expect(() => subjectKey.forEmail('a@b.c', undefined as unknown as { secret: string })).toThrow(
      /SUBJECT_KEY_SECRET/,
    );
    expect(() => subjectKey.forEmail('a@b.c', { secret: 'short' })).toThrow(/at least 32 characters/);
    expect('forEmail' in browser.subjectKey).toBe(false);
  });
});
