import { describe, expect, it } from '@jest/globals';
import {
  accountSubject,
  anonymousSubject,
  emailDigest,
  emailOfLegacyKey,
  emailSubjectKey,
  legacyEmailSubjectKey,
  normalizeEmail,
  SubjectKeys,
  userSubject,
} from './subject.js';

/** The vector docs/firestore.md gives the product backend (checked there with openssl). */
const SECRET = 'subject-key-secret-0123456789abcdef';

describe('subject keys', () => {
  it('should derive e-mail keys as documented: HMAC-SHA256(secret, "email:" + normalized), 32 hex digits', () => {
    // printf %s 'email:jan@kowalski.pl' | openssl dgst -sha256 -hmac "$SECRET" | cut -c1-32 (after the "= ")
    expect(emailDigest(SECRET, 'jan@kowalski.pl')).toBe('0980a1cf2df40280b01bc0cf1c7d8705');
    expect(emailSubjectKey(SECRET, 'jan@kowalski.pl')).toBe('emailh:0980a1cf2df40280b01bc0cf1c7d8705');
  });

  it('should normalize before hashing: white space around, case', () => {
    for (const variant of [' Jan@Kowalski.PL ', 'JAN@KOWALSKI.PL', '\tjan@kowalski.pl\n']) {
      expect(emailSubjectKey(SECRET, variant)).toBe(emailSubjectKey(SECRET, 'jan@kowalski.pl'));
    }
    expect(normalizeEmail(' Ölga@Example.RU ')).toBe('ölga@example.ru');
  });

  it('should give another key under another secret, and never contain the address', () => {
    const a = emailSubjectKey(SECRET, 'jan@kowalski.pl');
    const b = emailSubjectKey(`${SECRET}-rotated`, 'jan@kowalski.pl');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^emailh:[0-9a-f]{32}$/);
  });

  it('should keep the readable keys of ids the product owns, percent-encoding / and %', () => {
    expect(userSubject('tenant/42%').key).toBe('user:tenant%2F42%25');
    expect(anonymousSubject('purchasely', 'a/b').key).toBe('anon:purchasely:a%2Fb');
    expect(accountSubject('E-1').key).toBe('gcp-account:E-1');
  });

  it('should read the e-mail back out of a legacy key only', () => {
    const legacy = legacyEmailSubjectKey(' A/B@Example.com ');
    expect(legacy).toBe('email:a%2Fb@example.com');
    expect(emailOfLegacyKey(legacy)).toBe('a/b@example.com');
    expect(emailOfLegacyKey('user:a@b.c')).toBeNull();
  });

  it('should refuse to derive e-mail keys without a secret', () => {
    const none = new SubjectKeys(undefined);
    expect(none.configured).toBe(false);
    expect(() => none.email('a@b.c')).toThrow(/SUBJECT_KEY_SECRET/);
    expect(new SubjectKeys(SECRET).email(' A@B.c ')).toEqual({ key: emailSubjectKey(SECRET, 'a@b.c'), email: 'a@b.c' });
  });
});
