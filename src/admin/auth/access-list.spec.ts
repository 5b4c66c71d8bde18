import { describe, expect, it } from '@jest/globals';
import { AccessList, sha256Hex } from './access-list.js';

const KEY_A = 'ek_first-key-0123456789abcdefghijklmnopqrstuv';
const KEY_B = 'ek_second-key-0123456789abcdefghijklmnopqrstu';

describe('AccessList', () => {
  const access = new AccessList({
    approvers: ['lead@example.com', '@ops.example'],
    viewers: ['analyst@example.com', '@example.org', 'lead@example.com'],
    apiKeys: [
      { name: 'ci', role: 'viewer', sha256: sha256Hex(KEY_A) },
      { name: 'reconciler', role: 'approver', sha256: sha256Hex(KEY_B) },
    ],
  });

  it('should give the highest listed role to an e-mail, case-insensitively', () => {
    expect(access.roleOfUser('Lead@Example.com', undefined)).toBe('approver');
    expect(access.roleOfUser('analyst@example.com', undefined)).toBe('viewer');
    expect(access.roleOfUser('someone@example.com', undefined)).toBeNull();
  });

  it('should accept a domain entry only for a Workspace account of that domain (hd)', () => {
    expect(access.roleOfUser('anyone@ops.example', 'ops.example')).toBe('approver');
    expect(access.roleOfUser('anyone@example.org', 'EXAMPLE.ORG')).toBe('viewer');
    expect(access.roleOfUser('anyone@ops.example', undefined)).toBeNull();
    expect(access.roleOfUser('anyone@ops.example', 'other.example')).toBeNull();
    expect(access.roleOfUser('anyone@sub.ops.example', 'sub.ops.example')).toBeNull();
  });

  it('should find a named key by its hash and nothing else', () => {
    expect(access.keyFor(KEY_A)).toEqual({ name: 'ci', role: 'viewer' });
    expect(access.keyFor(KEY_B)).toEqual({ name: 'reconciler', role: 'approver' });
    expect(access.keyFor(sha256Hex(KEY_A))).toBeNull();
    expect(access.keyFor(`${KEY_A} `)).toBeNull();
    expect(access.keyFor('')).toBeNull();
  });

  it('should match the hash a shell computes (docs/admin-api.md: printf %s "$KEY" | sha256sum)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('should give the first of two names configured with the same key hash', () => {
    const twice = new AccessList({
      approvers: [],
      viewers: [],
      apiKeys: [
        { name: 'first', role: 'viewer', sha256: sha256Hex(KEY_A) },
        { name: 'second', role: 'approver', sha256: sha256Hex(KEY_A) },
      ],
    });
    expect(twice.keyFor(KEY_A)).toEqual({ name: 'first', role: 'viewer' });
  });

  it('should accept people only when some approver or viewer is listed', () => {
    const list = (approvers: string[], viewers: string[]) => new AccessList({ approvers, viewers, apiKeys: [] });
    expect(list([], []).acceptsUsers).toBe(false);
    expect(list(['a@example.com'], []).acceptsUsers).toBe(true);
    expect(list([], ['v@example.com']).acceptsUsers).toBe(true);
    expect(list(['a@example.com'], ['v@example.com', 'w@example.com']).acceptsUsers).toBe(true);
  });
});
