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
