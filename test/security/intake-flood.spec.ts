/* eslint-disable @typescript-eslint/no-explicit-any -- Firestore documents and JSON under test */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore } from '@google-cloud/firestore';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import { RefusalRecorder } from '../../src/webhooks/common/refusal-recorder.js';
import { memoryLogger, startApp, testConfig, TestClock, type RunningApp } from '../support/app.js';

/**
 * A flood of unauthenticated requests (the red-team run: unsigned Purchasely bodies with event ids
 * of the sender's choosing, EasyCart bodies with a wrong signature, bodies that only claim a huge
 * Content-Length, GetCourse calls without the token) costs no Firestore write per request: it is
 * counted in memory and written as one aggregate per source and reason. Correctly signed traffic
 * passes throughout. Figures: docs/operations.md, "Security".
 */
const PURCHASELY_SECRET = 'purchasely-secret-0123456789abcdef';
const EASYCART_KEY = 'easycart-signing-key-0001';
const GETCOURSE_TOKEN = 'getcourse-path-token-0123456789abcdef';
const VIEWER_KEY = `ek_${'v'.repeat(43)}`;
const NOW = new Date('2026-11-02T12:00:00.000Z');
const PER_SOURCE = 50;
const PER_CLIENT = 20;
const SAMPLES = 5;

const activate = JSON.parse(readFileSync('test/fixtures/purchasely/activate.json', 'utf8')) as Record<string, unknown>;

describe('a flood of unauthenticated webhook requests', () => {
  const clock = new TestClock(NOW);
  const logs = memoryLogger('info');
  let running: RunningApp;
  let db: Firestore;
  let port: number;

  beforeAll(async () => {
    running = await startApp({
      clock,
      logger: logs.logger,
      config: testConfig({
        LOG_LEVEL: 'info',
        PURCHASELY_SECRETS: PURCHASELY_SECRET,
        EASYCART_SIGNING_KEYS: EASYCART_KEY,
        GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
        MAX_BODY_BYTES: '4096',
        WEBHOOK_REFUSALS_PER_MINUTE: String(PER_SOURCE),
        WEBHOOK_REFUSALS_PER_CLIENT_PER_MINUTE: String(PER_CLIENT),
        REFUSAL_SAMPLES_PER_MINUTE: String(SAMPLES),
        REFUSAL_FLUSH_SECONDS: '3600',
        ADMIN_API_KEYS: `dashboard:viewer:${sha256Hex(VIEWER_KEY)}`,
      }),
    });
    db = running.app.get(Firestore);
    port = Number(new URL(running.url).port);
  });
  afterAll(() => running.close());

  const eventDocs = async () => (await db.collection('events').get()).docs;

  const purchasely = (body: Record<string, unknown>, ip: string, secret?: string) => {
    const raw = JSON.stringify(body);
    const timestamp = String(Math.floor(NOW.getTime() / 1000));
    return fetch(`${running.url}/webhooks/purchasely`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': ip,
        'x-purchasely-timestamp': timestamp,
        ...(secret ? { 'x-purchasely-request-signature': hmacSha256Hex(secret, timestamp + raw) } : {}),
      },
      body: raw,
    });
  };
  const forgedActivate = (i: number) => ({
    ...activate,
    event_id: `attacker-chosen-${i}`,
    user_id: `victim-${i}`,
    purchasely_subscription_id: `subs_forged_${i}`,
    note: `contact victim.${i}@example.com ${'x'.repeat(2000)}`,
  });
  /** A request that only claims a huge body (sent on a raw socket: fetch sets Content-Length itself). */
  const hugeClaim = () =>
    new Promise<string>((resolve) => {
      let answer = '';
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          'POST /webhooks/easycart HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n{',
        ),
      );
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (answer += c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(answer.split(' ')[1] ?? ''));
    });

  it('should write nothing per request, answer 429 past the limits, and never throttle signed traffic', async () => {
    const before = (await eventDocs()).length;
    const statuses: Record<string, number[]> = { purchasely: [], easycart: [], huge: [], getcourse: [] };
    let applied: Record<string, unknown> | undefined;
    for (let i = 0; i < 100; i++) {
      // Unsigned Purchasely bodies from ten addresses: the per-source limit applies across them.
      statuses.purchasely!.push((await purchasely(forgedActivate(i), `198.51.100.${i % 10}`)).status);
      // A wrong EasyCart signature, all from one address: the per-client limit.
      const body = JSON.stringify({
        event: 'product_assigned',
        order_uuid: randomUUID(),
        assignee: { email: `g${i}@example.com` },
      });
      const easy = await fetch(`${running.url}/webhooks/easycart`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': '203.0.113.5',
          'x-webhook-signature': 'ab'.repeat(32),
        },
        body,
      });
      statuses.easycart!.push(easy.status);
      if (i % 2 === 0) statuses.huge!.push(Number(await hugeClaim()));
      else {
        const token = i % 4 === 1 ? '' : `/${GETCOURSE_TOKEN.slice(0, -1)}x`;
        const gc = await fetch(
          `${running.url}/webhooks/getcourse${token}?event=purchase_active&email=s${i}@example.ru`,
          {
            headers: { 'x-forwarded-for': `192.0.2.${i}` },
          },
        );
        statuses.getcourse!.push(gc.status);
      }
      if (i === 90) {
        // From an address that has been refusing all along, after the source's bucket ran dry.
        const genuine = {
          ...activate,
          event_id: randomUUID(),
          product: 'PREMIUM',
          environment: 'PRODUCTION',
          user_id: 'genuine-user',
          purchasely_subscription_id: 'subs_genuine',
          event_created_at_ms: NOW.getTime() - 1000,
        };
        const reply = await purchasely(genuine, '198.51.100.0', PURCHASELY_SECRET);
        applied = { status: reply.status, ...((await reply.json()) as Record<string, unknown>) };
      }
    }
    const tried = Object.values(statuses).reduce((n, s) => n + s.length, 0);
    expect(tried).toBe(300);
    expect(applied).toMatchObject({ status: 200, outcome: 'applied' });

    // Per source: the first PER_SOURCE refusals are 401, then 429 (the test clock stands still: no refill).
    expect(statuses.purchasely!.slice(0, PER_SOURCE)).toEqual(Array(PER_SOURCE).fill(401));
    expect(new Set(statuses.purchasely!.slice(PER_SOURCE))).toEqual(new Set([429]));
    // Per client: one address gets PER_CLIENT answers of 401, then 429 with Retry-After.
    expect(statuses.easycart!.slice(0, PER_CLIENT)).toEqual(Array(PER_CLIENT).fill(401));
    expect(new Set(statuses.easycart!.slice(PER_CLIENT))).toEqual(new Set([429]));
    expect(new Set(statuses.huge)).toEqual(new Set([413]));
    expect(new Set(statuses.getcourse)).toEqual(new Set([401]));

    // Nothing written for any of the 300: only the one signed event.
    const during = await eventDocs();
    expect(during.length - before).toBe(1);

    await running.app.get(RefusalRecorder).flush();
    const after = await eventDocs();
    const refused = after.filter((d) => d.get('eventType') === 'REFUSED');
    const summary = Object.fromEntries(
      refused.map((d) => [`${d.get('source')} ${d.get('reason')}`, d.get('refusals.count')]),
    );
    expect(summary).toEqual({
      'purchasely refused: missing_signature': 100,
      'easycart refused: bad_signature': 100,
      'easycart refused: body_too_large': 50,
      'getcourse refused: missing_token': 25,
      'getcourse refused: bad_token': 25,
    });
    // Five records for 300 requests, and they are the same five for the rest of the hour.
    expect(after.length - during.length).toBe(5);
    const throttled = Object.fromEntries(refused.map((d) => [d.get('reason'), d.get('refusals.throttled')]));
    expect(throttled).toMatchObject({ 'refused: missing_signature': 50, 'refused: bad_signature': 80 });

    // Samples: at most SAMPLES per source and minute, cut, redacted; never a whole body.
    const samples = refused.map((d) => ({
      source: d.get('source') as string,
      list: d.get('refusals.samples') as any[],
    }));
    for (const source of ['purchasely', 'easycart', 'getcourse']) {
      const taken = samples.filter((s) => s.source === source).flatMap((s) => s.list);
      expect(taken.length).toBe(SAMPLES);
      for (const sample of taken) {
        expect(sample.head.length).toBeLessThanOrEqual(256);
        if (sample.bytes > 0) expect(Buffer.byteLength(sample.head)).toBeLessThan(sample.bytes);
        expect(JSON.stringify(sample)).not.toMatch(/@example\.|getcourse-path-token|victim\.\d/);
      }
    }

    // One log line per source and reason, with the count: the "Invalid events" alert still fires.
    const lines = logs.lines().filter((l) => l.message === 'webhook requests refused');
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.outcome === 'invalid' && typeof l.count === 'number')).toBe(true);
    expect(logs.lines().filter((l) => l.message === 'inbound event recorded' && l.outcome === 'invalid')).toHaveLength(
      0,
    );
  });

  it('should show the aggregates in the admin event list, with samples on the one event', async () => {
    const headers = { 'x-api-key': VIEWER_KEY };
    const list = await fetch(`${running.url}/admin/v1/events?outcome=invalid&source=easycart`, { headers });
    const page = (await list.json()) as { items: Record<string, any>[] };
    const item = page.items.find((i) => i.reason === 'refused: bad_signature');
    expect(item).toMatchObject({ eventType: 'REFUSED', refusals: { count: 100, throttled: 80 } });
    expect(item!.refusals.samples).toBeUndefined();
    const one = await fetch(`${running.url}/admin/v1/events/${encodeURIComponent(item!.id)}`, { headers });
    const event = (await one.json()) as Record<string, any>;
    expect(event.refusals.samples.length).toBeGreaterThan(0);
    expect(event.refusals.samples[0]).toMatchObject({ url: '/webhooks/easycart', signed: true });
  });

  it('should add a second wave in the same hour to the same records: no new document', async () => {
    const before = (await eventDocs()).length;
    for (let i = 0; i < 20; i++) await purchasely(forgedActivate(1000 + i), '198.51.100.77');
    await running.app.get(RefusalRecorder).flush();
    expect((await eventDocs()).length).toBe(before);
    const record = (await eventDocs()).find((d) => d.get('reason') === 'refused: missing_signature');
    expect(record?.get('refusals.count')).toBe(120);
    expect((record?.get('refusals.samples') as unknown[]).length).toBeLessThanOrEqual(20);
  });

  it('should write what it counted when the service shuts down (SIGTERM on Cloud Run)', async () => {
    const config = testConfig({ GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN, REFUSAL_FLUSH_SECONDS: '3600' });
    const other = await startApp({ config, clock });
    for (let i = 0; i < 3; i++) await fetch(`${other.url}/webhooks/getcourse?event=x`);
    await other.close();
    const reader = new Firestore({ projectId: config.env.GOOGLE_CLOUD_PROJECT });
    const snap = await reader.collection('events').where('eventType', '==', 'REFUSED').get();
    await reader.terminate();
    expect(snap.docs.map((d) => [d.get('reason'), d.get('refusals.count')])).toEqual([['refused: missing_token', 3]]);
  });
});
