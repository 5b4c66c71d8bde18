import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import { startApp, testConfig, type RunningApp } from '../support/app.js';
import { eventually } from '../support/marketplace.js';

describe('webhook bodies the parser refuses', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({ EASYCART_SIGNING_KEYS: 'easycart-signing-key-0001', MAX_BODY_BYTES: '2048' }),
    });
  });
  afterAll(() => running.close());

  it('should answer malformed JSON with 400 and record it as invalid', async () => {
    const body = '{"event": "product_assigned", oops';
    const response = await fetch(`${running.url}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'validation_failed', errorId: expect.any(String) });
    const key = `easycart:unparsed:${createHash('sha256').update(body).digest('hex')}`;
    const doc = await eventually(async () => {
      const snap = await running.app.get(Firestore).collection('events').doc(key).get();
      return snap.exists ? snap : undefined;
    });
    expect(doc.get('outcome')).toBe('invalid');
    expect(doc.get('raw')).toBe(body);
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
    const docs = await eventually(async () => {
      const snap = await running.app
        .get(Firestore)
        .collection('events')
        .where('source', '==', 'easycart')
        .where('eventType', '==', 'UNPARSED')
        .get();
      const found = snap.docs.filter((d) => String(d.get('reason')).includes('application/octet-stream'));
      return found.length ? found : undefined;
    });
    expect(docs[0]!.get('outcome')).toBe('invalid');
  });

  it('should answer an unknown route with the same error shape', async () => {
    const response = await fetch(`${running.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_found', errorId: expect.any(String) });
  });
});
