import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../src/config/app-config.js';
import { memoryLogger, startApp, testConfig, type RunningApp } from '../support/app.js';

/** Longer than Fastify's default parameter limit (100), as `openssl rand -hex 64` gives. */
const TOKEN = 'f'.repeat(40) + '0123456789abcdef'.repeat(6);
const EMAIL = 'olga.secret@example.ru';

describe('URLs in answers and logs; path tokens of any allowed length', () => {
  let running: RunningApp;
  const log = memoryLogger('info');

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({ GETCOURSE_PATH_TOKEN: TOKEN, EASYCART_URL_TOKEN: TOKEN, LOG_LEVEL: 'info' }),
      logger: log.logger,
    });
  });
  afterAll(() => running.close());

  const everything = async (response: Response) => `${await response.text()}\n${JSON.stringify(log.lines())}`;

  it('should not echo or log the path token or query values on a 404 (trailing slash, wrong method, browser)', async () => {
    const probes: [string, RequestInit][] = [
      [`/webhooks/getcourse/${TOKEN}/?event=purchase_active&email=${encodeURIComponent(EMAIL)}`, {}],
      [`/webhooks/easycart/${TOKEN}`, { method: 'GET' }],
      [`/webhooks/getcourse/${TOKEN}?email=${EMAIL}`, { method: 'PUT' }],
    ];
    for (const [path, init] of probes) {
      const response = await fetch(`${running.url}${path}`, init);
      expect(response.status).toBe(404);
      const seen = await everything(response);
      expect(seen).not.toContain(TOKEN);
      expect(seen).not.toContain('olga.secret');
      expect(seen).toContain('/webhooks/');
    }
    const refused = log.lines().filter((l) => l.message === 'request refused');
    expect(refused.at(-1)?.reason).toBe('Cannot PUT /webhooks/getcourse/…?email=…');
  });

  it('should answer a path segment over the router limit with 414 in the one error shape, without echoing it', async () => {
    const response = await fetch(`${running.url}/webhooks/getcourse/${'t'.repeat(5000)}?email=${EMAIL}`);
    expect(response.status).toBe(414);
    const body = (await response.clone().json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'validation_failed', errorId: expect.any(String) });
    expect(body.message).toBe('URI too long: /webhooks/getcourse/…?email=…');
    const seen = await everything(response);
    expect(seen).not.toContain('tttttttttttttttt');
    expect(seen).not.toContain('olga.secret');
  });

  it('should route path tokens longer than 100 characters to their controllers', async () => {
    const getcourse = await fetch(`${running.url}/webhooks/getcourse/${TOKEN}?event=order_paid&order_id=1`);
    expect(getcourse.status).toBe(200);
    expect(await getcourse.json()).toMatchObject({ outcome: 'ignored' });
    const easycart = await fetch(`${running.url}/webhooks/easycart/${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'customer_data_changed' }),
    });
    expect(easycart.status).toBe(200);
  });

  it('should refuse at start-up a path token the router could not carry or that needs escaping', () => {
    for (const token of ['x'.repeat(257), `${'a'.repeat(30)}/b`, `${'a'.repeat(30)}?b`, `${'a'.repeat(30)} b`]) {
      expect(() => testConfig({ GETCOURSE_PATH_TOKEN: token })).toThrow(ConfigError);
      expect(() => testConfig({ EASYCART_URL_TOKEN: token })).toThrow(/EASYCART_URL_TOKEN/);
    }
    expect(() => testConfig({ GETCOURSE_PATH_TOKEN: 'x'.repeat(256) })).not.toThrow();
  });
});
