// Signed Purchasely ACTIVATE requests for the webhook and memory benchmarks.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './common.mjs';

export const SECRET = 'bench-purchasely-secret-0123456789';
const recorded = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'purchasely', 'activate.json'), 'utf8'));
const DAY = 86_400_000;

/**
 * Request number `i` of a run: a fresh PRODUCTION ACTIVATE of PREMIUM (mapped to `demo` in
 * config/products.yaml) with a unique event id, subscription and user, signed as Purchasely does:
 * hex HMAC-SHA256(secret, timestamp + raw body).
 */
export function activateRequest(run, i) {
  const now = Date.now();
  const body = JSON.stringify({
    ...recorded,
    event_id: randomUUID(),
    product: 'PREMIUM',
    environment: 'PRODUCTION',
    purchasely_subscription_id: `subs_${run}_${i}`,
    user_id: `user-${run}-${i}`,
    event_created_at_ms: now - 1_000,
    event_created_at: new Date(now - 1_000).toISOString(),
    effective_next_renewal_at_ms: now + 30 * DAY,
    effective_next_renewal_at: new Date(now + 30 * DAY).toISOString(),
    next_renewal_at_ms: now + 30 * DAY,
    next_renewal_at: new Date(now + 30 * DAY).toISOString(),
  });
  const timestamp = String(Math.floor(now / 1000));
  const signature = createHmac('sha256', SECRET)
    .update(timestamp + body)
    .digest('hex');
  return {
    method: 'POST',
    path: '/webhooks/purchasely',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-purchasely-timestamp': timestamp,
      'x-purchasely-request-signature': signature,
    },
    body,
  };
}
