import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { AppLogger } from './app-logger.js';

/** Real log output: what AppLogger writes for a line, parsed back. */
function logged(fields: Record<string, unknown>): { raw: string; line: Record<string, unknown> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  new AppLogger('info', sink).info('redaction', fields);
  const raw = chunks.join('');
  return { raw, line: JSON.parse(raw) as Record<string, unknown> };
}

/** Every secret-shaped field name, as callers and providers spell them. */
const SECRET_KEYS = [
  'secret',
  'token',
  'password',
  'authorization',
  'signature',
  'apikey',
  'api-key',
  'api_key',
  'cookie',
  'credential',
  'private',
];
const spellings = (key: string) => [
  key,
  key.toUpperCase(),
  key[0]!.toUpperCase() + key.slice(1),
  `x-${key}`,
  `client${key[0]!.toUpperCase()}${key.slice(1)}s`,
  `X_${key.toUpperCase()}_VALUE`,
];
const VALUE = 'hunter2-do-not-log-0123456789';

describe('redaction on real log output', () => {
  it.each(SECRET_KEYS.map((k) => [k]))('should write [redacted] for %s in any case, spelling and depth', (key) => {
    for (const name of spellings(key)) {
      const { raw, line } = logged({ [name]: VALUE, headers: { [name]: VALUE }, list: [{ [name]: VALUE }] });
      expect(raw).not.toContain(VALUE);
      expect(line).toMatchObject({
        [name]: '[redacted]',
        headers: { [name]: '[redacted]' },
        list: [{ [name]: '[redacted]' }],
      });
    }
  });

  it('should keep fields whose names are not secret-shaped, and absent values absent', () => {
    const { line } = logged({ entitlementId: 'gcp:e1', outcome: 'applied', token: null, nested: { plan: 'pro' } });
    expect(line).toMatchObject({ entitlementId: 'gcp:e1', outcome: 'applied', token: null, nested: { plan: 'pro' } });
  });
});
