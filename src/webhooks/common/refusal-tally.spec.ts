import { describe, expect, it } from '@jest/globals';
import { RefusalTally, SAMPLE_BYTES, sampleOf } from './refusal-tally.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 2, 12, 0, s));
const request = (raw?: string) => ({ raw, url: '/webhooks/easycart', contentType: 'application/json' });

describe('RefusalTally', () => {
  it('should count per source and reason, and drain to empty', () => {
    const tally = new RefusalTally(2);
    tally.count('easycart', 'bad_signature', at(0), request('{}'));
    tally.count('easycart', 'bad_signature', at(1), request('{}'), true);
    tally.count('getcourse', 'bad_token', at(2), request());
    const batches = tally.drain();
    expect(batches.map((b) => [b.source, b.reason, b.count, b.throttled])).toEqual([
      ['easycart', 'bad_signature', 2, 1],
      ['getcourse', 'bad_token', 1, 0],
    ]);
    expect(batches[0]).toMatchObject({ firstAt: at(0), lastAt: at(1) });
    expect(tally.pending).toBe(false);
    expect(tally.drain()).toEqual([]);
  });

  it('should keep at most N samples per source per minute, whatever the reason', () => {
    const tally = new RefusalTally(3);
    for (let i = 0; i < 10; i++) tally.count('purchasely', i % 2 ? 'a' : 'b', at(i), request('{"x":1}'));
    expect(tally.drain().flatMap((b) => b.samples)).toHaveLength(3);
    tally.count('purchasely', 'a', new Date(at(0).getTime() + 60_000), request('{}'));
    expect(tally.drain()[0]!.samples).toHaveLength(1);
    const none = new RefusalTally(0);
    none.count('purchasely', 'a', at(0), request('{}'));
    expect(none.drain()[0]!.samples).toEqual([]);
  });

  it('should merge restored batches with what came since', () => {
    const tally = new RefusalTally(5);
    tally.count('easycart', 'x', at(5), request('{}'));
    const failed = tally.drain();
    tally.count('easycart', 'x', at(9), request('{}'));
    tally.restore(failed);
    expect(tally.drain()).toMatchObject([{ count: 2, firstAt: at(5), lastAt: at(9) }]);
  });
});

describe('sampleOf', () => {
  it('should keep at most SAMPLE_BYTES and never more than half the body', () => {
    const small = sampleOf(request('{"event":"x"}'), at(0));
    expect(small).toMatchObject({ bytes: 13, head: '{"even', contentType: 'application/json' });
    const big = sampleOf(request(`{"pad":"${'x'.repeat(5000)}"}`), at(0));
    expect(Buffer.byteLength(big.head)).toBe(SAMPLE_BYTES);
    expect(sampleOf(request(''), at(0)).head).toBe('');
    expect(sampleOf(request(), at(0))).toMatchObject({ bytes: 0, sha256: null, head: '' });
  });

  it('should replace e-mail addresses, also one the cut went through, and redact the URL', () => {
    const body = `{"a":"jane@example.com","b":"olga.petrova@exa${'m'.repeat(600)}ple.ru"}`;
    const cut = body.slice(0, 60);
    const sample = sampleOf(
      { raw: body.slice(0, 120), url: '/webhooks/getcourse/0123456789abcdef0123456789?email=a@b.c' },
      at(0),
    );
    expect(sample.head).not.toContain('jane@');
    expect(sample.head).not.toMatch(/olga\.petrova@/);
    expect(sample.head).toContain('[email]');
    expect(cut).toContain('olga');
    expect(sample.url).toBe('/webhooks/getcourse/…?email=…');
  });
});
