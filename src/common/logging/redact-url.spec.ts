import { describe, expect, it } from '@jest/globals';
import { redactUrl, redactUrlsInText } from './redact-url.js';

const TOKEN = 'a3f9c0d17e5b42a8b6c1d0e9f8a7b6c5';

describe('redactUrl', () => {
  it('should drop every query value and keep the names', () => {
    expect(redactUrl('/webhooks/getcourse/x?event=purchase_active&email=jane@example.com&flag&empty=')).toBe(
      '/webhooks/getcourse/x?event=…&email=…&flag&empty=',
    );
  });

  it('should replace path segments that could be tokens or personal data, and keep route words', () => {
    expect(redactUrl(`/webhooks/getcourse/${TOKEN}/`)).toBe('/webhooks/getcourse/…/');
    expect(redactUrl('/webhooks/easycart/jane%40example.com')).toBe('/webhooks/easycart/…');
    expect(redactUrl('/users/jane@x.io/plans')).toBe('/users/…/plans');
    expect(redactUrl('/call/79161234567')).toBe('/call/…');
    expect(redactUrl('/admin/v1/events/__name__')).toBe('/admin/v1/events/__name__');
    expect(redactUrl('/admin/v1/entitlements/gcp:5d6c2f4e-1b7a-4c1e-9e55-0d2f6c7b8a9e/approve')).toBe(
      '/admin/v1/entitlements/…/approve',
    );
  });

  it('should drop user info and fragments of absolute URLs, and keep scheme and host', () => {
    expect(redactUrl(`https://user:pa55word@svc.example.run.app/webhooks/getcourse/${TOKEN}?email=a@b.c#frag`)).toBe(
      'https://svc.example.run.app/webhooks/getcourse/…?email=…',
    );
  });

  it('should judge a query name like a segment, and bound the length', () => {
    expect(redactUrl(`/x?${TOKEN}=1`)).toBe('/x?…=…');
    const long = redactUrl(`/${'ab/'.repeat(1000)}`);
    expect(long.length).toBeLessThanOrEqual(513);
  });

  it('should not throw on malformed escapes', () => {
    expect(redactUrl('/a/%E0%A4%A/b?c=%')).toBe('/a/%E0%A4%A/b?c=…');
  });
});

describe('redactUrlsInText', () => {
  it("should redact the path in Nest's and Fastify's messages", () => {
    expect(redactUrlsInText(`Cannot GET /webhooks/getcourse/${TOKEN}/?email=jane@example.com`)).toBe(
      'Cannot GET /webhooks/getcourse/…/?email=…',
    );
    expect(redactUrlsInText(`'/webhooks/getcourse/${TOKEN}' is exceeding the max param length`)).toBe(
      "'/webhooks/getcourse/…' is exceeding the max param length",
    );
  });

  it('should leave media types and text without a path alone', () => {
    const text = 'Unsupported media type: Content-Type application/octet-stream; expected application/json';
    expect(redactUrlsInText(text)).toBe(text);
    expect(redactUrlsInText('Invalid payload: assignee.email: required')).toBe(
      'Invalid payload: assignee.email: required',
    );
  });
});
