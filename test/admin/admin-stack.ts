import { randomBytes, randomUUID } from 'node:crypto';
import { sha256Hex } from '../../src/admin/auth/access-list.js';
import type { Clock } from '../../src/entitlements/clock.js';
import { MarketplaceEvents } from '../../src/marketplace/marketplace-events.service.js';
import { MarketplaceSimulator } from '../../tools/simulator/simulator.js';
import { PROVIDER, startMarketplaceStack, type MarketplaceStack } from '../support/marketplace.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

export const AUDIENCE = 'https://entitlements-admin.example.run.app';
export const APPROVER = 'ops-lead@example.com';
export const VIEWER = 'analyst@example.com';
/** A Google Workspace domain whose members are viewers. */
export const VIEWER_DOMAIN = 'acme.example';

export interface AdminResponse {
  status: number;
  headers: Headers;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

export interface Caller {
  token?: string;
  apiKey?: string;
  bearerKey?: string;
}

export interface AdminStack extends MarketplaceStack {
  issuer: TestIssuer;
  events: MarketplaceEvents;
  /** Delivers every message Google would publish straight to the service, as push would. */
  deliver: MarketplaceSimulator;
  keys: { approver: string; viewer: string; limited: string };
  /** A Google ID token for the admin audience (override any claim). */
  idToken(email: string, claims?: Record<string, unknown>): Promise<string>;
  call(method: 'GET' | 'POST', path: string, caller?: Caller, body?: unknown): Promise<AdminResponse>;
}

export function newApiKey(): string {
  return `ek_${randomBytes(32).toString('base64url')}`;
}

/**
 * The Marketplace stack (emulators, fake Procurement API, real bootstrap) with the admin API
 * configured: a local Google key issuer, one approver and one viewer e-mail, a viewer domain,
 * and three named API keys (approver, viewer, and `limited`, an approver used up by rate-limit tests).
 */
export async function startAdminStack(
  options: { env?: Record<string, string>; clock?: Clock } = {},
): Promise<AdminStack> {
  const issuer = await startTestIssuer();
  const keys = { approver: newApiKey(), viewer: newApiKey(), limited: newApiKey() };
  const stack = await startMarketplaceStack({
    pull: false,
    ...(options.clock ? { clock: options.clock } : {}),
    env: {
      GOOGLE_OIDC_JWKS_URL: issuer.jwksUrl,
      ADMIN_AUDIENCE: AUDIENCE,
      ADMIN_APPROVERS: APPROVER,
      ADMIN_VIEWERS: `${VIEWER}, @${VIEWER_DOMAIN}`,
      ADMIN_API_KEYS: [
        `robot-approver:approver:${sha256Hex(keys.approver)}`,
        `robot-viewer:viewer:${sha256Hex(keys.viewer)}`,
        `robot-limited:approver:${sha256Hex(keys.limited)}`,
      ].join(','),
      ...options.env,
    },
  });
  const events = stack.app.app.get(MarketplaceEvents);
  const push = async (data: object) => {
    const messageId = randomUUID();
    await events.handle({ data: Buffer.from(JSON.stringify(data)), messageId, transport: 'pubsub-push' });
    return messageId;
  };
  const deliver = new MarketplaceSimulator({ procurementUrl: stack.fake.url, providerId: PROVIDER, publish: push });
  // What Google publishes after the service's own calls reaches the service the same way.
  stack.fake.setPublisher(push);
  const close = stack.close;
  return Object.assign(stack, {
    issuer,
    events,
    deliver,
    keys,
    idToken: (email: string, claims: Record<string, unknown> = {}) =>
      issuer.sign({
        iss: 'https://accounts.google.com',
        aud: AUDIENCE,
        sub: `sub-${email}`,
        email,
        email_verified: true,
        ...claims,
      }),
    async call(method: 'GET' | 'POST', path: string, caller: Caller = {}, body?: unknown): Promise<AdminResponse> {
      const headers: Record<string, string> = {};
      if (caller.token) headers.authorization = `Bearer ${caller.token}`;
      if (caller.bearerKey) headers.authorization = `Bearer ${caller.bearerKey}`;
      if (caller.apiKey) headers['x-api-key'] = caller.apiKey;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${stack.app.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    },
    async close() {
      await close();
      await issuer.close();
    },
  });
}
