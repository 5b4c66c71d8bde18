import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import { hmacSha256Hex } from '../../src/common/security/hmac.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { memoryLogger, startApp, testConfig, TestClock, type RunningApp } from './app.js';

/**
 * One service with all three webhook providers and the admin API configured, and senders that
 * speak each provider's real wire format: GetCourse's Call URL with the query exactly as GetCourse
 * sends it (braces of an unfilled `{object.…}` variable unencoded), EasyCart's signed JSON,
 * Purchasely's timestamped signature.
 */
export const GETCOURSE_TOKEN = 'getcourse-path-token-abcdefghijklmnop';
export const EASYCART_KEY = 'easycart-signing-key-0123456789';
export const PURCHASELY_SECRET = 'purchasely-secret-0123456789abcdef';
export const APPROVER_KEY = `ek_${'k'.repeat(43)}`;
export const APPROVER_NAME = 'ops-bot';

export interface Reply {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

export interface WebhookStack {
  app: RunningApp;
  clock: TestClock;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/** `config/` plus a second GetCourse product (`club`), for offers of several products. */
function withClub(config: AppConfig): AppConfig {
  const sources = config.products.sources;
  return {
    ...config,
    products: { sources: { ...sources, getcourse: { ...sources.getcourse, club: { product: 'club' } } } },
  };
}

export async function startWebhookStack(now: Date): Promise<WebhookStack> {
  const clock = new TestClock(now);
  const logs = memoryLogger('info');
  const config = withClub(
    testConfig({
      GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
      EASYCART_SIGNING_KEYS: EASYCART_KEY,
      PURCHASELY_SECRETS: PURCHASELY_SECRET,
      ADMIN_API_KEYS: `${APPROVER_NAME}:approver:${sha256Hex(APPROVER_KEY)}`,
    }),
  );
  const app = await startApp({ config, clock, logger: logs.logger });
  return { app, clock, logLines: logs.lines, close: () => app.close() };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A GetCourse Call URL query, values as GetCourse substitutes them (unencoded, as typed in the template). */
export type CallUrlFields = [key: string, value: string][];

/** The GET GetCourse makes: the query string written as is, so literal braces reach the service unencoded. */
export function getCourseCall(app: RunningApp, fields: CallUrlFields): Promise<Reply> {
  // GetCourse writes the template's literal text around what it substitutes: braces stay as typed.
  const query = fields
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%7B/g, '{').replace(/%7D/g, '}')}`)
    .join('&');
  const { port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'GET', path: `/webhooks/getcourse/${GETCOURSE_TOKEN}?${query}` },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Reply['body'] }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The ledger key of a refused GetCourse callback: `malformed:` + SHA-256 of its fields as JSON. */
export function getCourseRefusedKey(fields: CallUrlFields): string {
  return `malformed:${sha256(JSON.stringify(Object.fromEntries(fields)))}`;
}

/** Step 1 of docs/integrations/getcourse.md, filled in for one purchase, with `finish_at` as given. */
export function purchaseActive(purchaseId: string, email: string, over: Record<string, string> = {}): CallUrlFields {
  const fields: Record<string, string> = {
    event: 'purchase_active',
    purchase_id: purchaseId,
    user_id: '190442871',
    email,
    product: 'demo-course',
    start_at: '2026-11-02 10:00:00',
    finish_at: '2026-12-02 10:00:00',
    status: 'active',
    ...over,
  };
  return Object.entries(fields);
}

export async function easyCartDelivery(app: RunningApp, payload: Record<string, unknown>): Promise<Reply> {
  const body = JSON.stringify(payload);
  const res = await fetch(`${app.url}/webhooks/easycart`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-signature': hmacSha256Hex(EASYCART_KEY, body) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

export const easyCartRefusedKey = (payload: Record<string, unknown>) => `malformed:${sha256(JSON.stringify(payload))}`;

const easyCartFixture = JSON.parse(
  readFileSync(new URL('../fixtures/easycart/product_assigned.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** EasyCart's recorded product_assigned, for `demo-course`, to one assignee of a fresh order. */
export function productAssigned(email: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...easyCartFixture,
    order_uuid: randomUUID(),
    product_name: 'demo-course',
    subscription_plan_name: null,
    price_description: null,
    assignee: { email, name: 'Jan Kowalski' },
    ...over,
  };
}

export async function purchaselyDelivery(
  app: RunningApp,
  clock: TestClock,
  payload: Record<string, unknown>,
): Promise<Reply> {
  const raw = JSON.stringify(payload);
  const timestamp = String(Math.floor(clock.now().getTime() / 1000));
  const res = await fetch(`${app.url}/webhooks/purchasely`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-purchasely-timestamp': timestamp,
      'x-purchasely-request-signature': hmacSha256Hex(PURCHASELY_SECRET, timestamp + raw),
    },
    body: raw,
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

const purchaselyFixture = JSON.parse(
  readFileSync(new URL('../fixtures/purchasely/activate.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Purchasely's recorded ACTIVATE for PREMIUM (config/products.yaml), created a second ago, renewing in 30 days. */
export function activate(
  now: Date,
  subscriptionId: string,
  userId: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  const created = now.getTime() - 1_000;
  const renewal = now.getTime() + 30 * 86_400_000;
  return {
    ...purchaselyFixture,
    event_id: randomUUID(),
    product: 'PREMIUM',
    environment: 'PRODUCTION',
    purchasely_subscription_id: subscriptionId,
    user_id: userId,
    event_created_at_ms: created,
    event_created_at: new Date(created).toISOString(),
    effective_next_renewal_at_ms: renewal,
    effective_next_renewal_at: new Date(renewal).toISOString(),
    next_renewal_at_ms: renewal,
    next_renewal_at: new Date(renewal).toISOString(),
    ...over,
  };
}

/** An admin API call as the approver API key. */
export async function adminCall(app: RunningApp, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: {
      'x-api-key': APPROVER_KEY,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}
