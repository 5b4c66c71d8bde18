import { describe, expect, it } from '@jest/globals';
import { documentId, isDocumentId } from './document-id.js';

describe('document ids', () => {
  it('should keep short safe keys and hash the rest', () => {
    expect(documentId('easycart:abc:demo')).toBe('easycart:abc:demo');
    for (const key of ['a/b', '__name__', '.', '..', 'x'.repeat(401), 'spaces are unsafe', '']) {
      expect(documentId(key)).toMatch(/^h:[0-9a-f]{64}$/);
    }
    expect(documentId('a/b')).toBe(documentId('a/b'));
  });

  it('should accept exactly what Firestore accepts as an id', () => {
    for (const id of ['gcp:1', 'h:00', 'ünïcødé', 'x'.repeat(1500), '_x_', '__x']) expect(isDocumentId(id)).toBe(true);
    for (const id of ['', 'a/b', '.', '..', '__name__', '__x__', 'é'.repeat(751)]) expect(isDocumentId(id)).toBe(false);
  });
});
