import { describe, expect, it } from '@jest/globals';
import { Timestamp } from '@google-cloud/firestore';
import { emailDigest } from '../../../entitlements/subject.js';
import { hasLegacyIds, rewriteDocument, rewriteLegacyIds } from './legacy-ids.js';

const SECRET = 'subject-key-secret-0123456789abcdef';
const d = (email: string) => emailDigest(SECRET, email);

describe('legacy ids', () => {
  it('should rewrite legacy e-mail keys, decoding them first', () => {
    expect(rewriteLegacyIds('email:jan@kowalski.pl', SECRET)).toBe(`emailh:${d('jan@kowalski.pl')}`);
    expect(rewriteLegacyIds('email:a%2Fb@x.io', SECRET)).toBe(`emailh:${d('a/b@x.io')}`);
  });

  it('should rewrite EasyCart ids wherever they appear, and leave everything else', () => {
    const id = 'easycart:0000-1:demo-course:jan@kowalski.pl';
    const next = `easycart:0000-1:demo-course:${d('jan@kowalski.pl')}`;
    expect(rewriteLegacyIds(id, SECRET)).toBe(next);
    expect(rewriteLegacyIds(`easycart:expire:${id}:1700000000000`, SECRET)).toBe(
      `easycart:expire:${next}:1700000000000`,
    );
    expect(rewriteLegacyIds(`expiring:${id}:1`, SECRET)).toBe(`expiring:${next}:1`);
    for (const untouched of [
      'user:jan@kowalski.pl',
      'getcourse:123:demo-course',
      'Invalid payload: assignee.email: required',
      'customer_email:jan@kowalski.pl',
      `emailh:${d('x@y.z')}`,
    ]) {
      expect(rewriteLegacyIds(untouched, SECRET)).toBe(untouched);
      expect(hasLegacyIds(untouched, SECRET)).toBe(false);
    }
  });

  it('should rewrite a document deeply, map keys included, except the paths that keep an address', () => {
    const at = Timestamp.fromMillis(0);
    const doc = {
      id: 'easycart:o:p:jan@kowalski.pl',
      subject: { key: 'email:jan@kowalski.pl', email: 'jan@kowalski.pl' },
      map: { 'email:jan@kowalski.pl': [1, 'email:jan@kowalski.pl'] },
      at,
    };
    const out = rewriteDocument(doc, SECRET, new Set(['subject.email'])) as typeof doc;
    expect(out).toEqual({
      id: `easycart:o:p:${d('jan@kowalski.pl')}`,
      subject: { key: `emailh:${d('jan@kowalski.pl')}`, email: 'jan@kowalski.pl' },
      map: { [`emailh:${d('jan@kowalski.pl')}`]: [1, `emailh:${d('jan@kowalski.pl')}`] },
      at,
    });
    expect(out.at).toBe(at);
  });
});
