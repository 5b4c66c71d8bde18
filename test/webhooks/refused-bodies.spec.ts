import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import { refusalRecords, startApp, testConfig, type RunningApp } from '../support/app.js';

describe('webhook bodies the parser refuses', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({ EASYCART_SIGNING_KEYS: 'easycart-signing-key-0001', MAX_BODY_BYTES: '2048' }),
    });
  });
  afterAll(() => running.close());

  it('should answer malformed JSON with 400 and count it, with a cut sample, writing nothing per request', async () => {
    const body = '{"event": "product_assigned", oops';
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'validation_failed', errorId: expect.any(String) });
    const key = `easycart:unparsed:${createHash('sha256').update(body).digest('hex')}`;
    expect((await running.app.get(Firestore).collection('events').doc(key).get()).exists).toBe(false);
    const [record] = await refusalRecords(running.app, 'easycart', 'unparsed_body');
    expect(record).toMatchObject({ outcome: 'invalid', refusals: { count: 1 } });
    const sample = record!.refusals.samples[0];
    expect(sample).toMatchObject({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(sample.head).toBe(body.slice(0, Math.floor(body.length / 2)));
  });

  it('should answer an oversized body with 413 payload_too_large', async () => {
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(5000) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'payload_too_large' });
  });

  it('should answer a body of a media type it does not parse with 415, before routing, and record it', async () => {
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: '{"event": "product_assigned"}',
    });
    expect(response.status).toBe(415);
    const body = (await response.json()) as { code: string; message: string };
    expect(body).toMatchObject({ code: 'validation_failed' });
    expect(body.message).toMatch(/Content-Type application\/octet-stream; expected application\/json/);
    const [record] = await refusalRecords(running.app, 'easycart', 'unsupported_media_type');
    expect(record?.refusals.samples[0]).toMatchObject({ contentType: 'application/octet-stream' });
  });

  it('should answer an unknown route with the same error shape', async () => {
    const response = await fetch(`${running.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_found', errorId: expect.any(String) });
  });
});

/**
 * The unauthenticated routes accept text/plain (a provider that mislabels its JSON) and forms
 * (GetCourse, EasyCart): every parser holds MAX_BODY_BYTES, and the limit is enforced before any
 * signature or token is looked at (an unsigned oversized body is 413, not 401/403).
 */
describe('oversized text and form bodies on the unauthenticated routes', () => {
  const GETCOURSE_TOKEN = 'getcourse-path-token-0123456789';
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({
        EASYCART_SIGNING_KEYS: 'easycart-signing-key-0001',
        PURCHASELY_SECRETS: 'purchasely-secret-0123456789',
        GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
        MAX_BODY_BYTES: '2048',
      }),
    });
  });
  afterAll(() => running.close());

  const routes = ['/webhooks/purchasely', '/webhooks/easycart', `/webhooks/getcourse/${GETCOURSE_TOKEN}`];
  const bodies = {
    'text/plain': (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - 10) }),
    'application/x-www-form-urlencoded': (bytes: number) => `pad=${'x'.repeat(bytes - 4)}`,
  };
  it.each(routes.flatMap((route) => Object.keys(bodies).map((type) => [route, type])))(
    'should answer an unsigned %s body as %s one byte over the limit with 413, and take one at the limit on to verification',
    async (route, type) => {
      const body = bodies[type as keyof typeof bodies];
      const post = (bytes: number) =>
        fetch(`${running.url}${route}`, { method: 'POST', headers: { 'content-type': type }, body: body(bytes) });
      const over = await post(2049);
      expect(over.status).toBe(413);
      expect(await over.json()).toMatchObject({ code: 'payload_too_large' });
      const atLimit = await post(2048);
      expect(atLimit.status).not.toBe(413);
      expect(atLimit.status).toBeGreaterThanOrEqual(400);
      expect(atLimit.status).toBeLessThan(500);
    },
  );
});
