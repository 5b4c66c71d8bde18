// Baseline for `npm run bench:webhooks` and `bench:memory`: a bare node:http handler doing the
// Purchasely endpoint's essential work with no framework: read the raw body, verify
// x-purchasely-request-signature = hex HMAC-SHA256(secret, x-purchasely-timestamp + body) in
// constant time within a 300 s window, parse the JSON, then the same Firestore transaction as the
// service's ledger: read the event, entitlement and access documents, create the event record, set
// the entitlement, write its history entry, set the access summary and create the outbox entry,
// each with the same fields and values as the service writes for a PRODUCTION ACTIVATE of PREMIUM
// (mapped to product `demo`, as config/products.yaml does). Until the fourth session it wrote
// cut-down documents (about half the fields), i.e. less Firestore work than the service.
// 200 with the outcome, 401 on a bad signature, 400 on a bad body.
//
// Env: PORT, PURCHASELY_SECRET, GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST.
import { Firestore } from '@google-cloud/firestore';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { writeApplied } from './ledger-writes.mjs';

const secret = process.env.PURCHASELY_SECRET;
const db = new Firestore({ projectId: process.env.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
const LIMIT = 262_144;
const TOLERANCE_S = 300;

function verify(req, raw) {
  const timestamp = req.headers['x-purchasely-timestamp'];
  const signature = req.headers['x-purchasely-request-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,16}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const expected = createHmac('sha256', secret).update(timestamp).update(raw).digest();
  if (!/^[0-9a-f]{64}$/i.test(signature)) return false;
  return timingSafeEqual(Buffer.from(signature, 'hex'), expected);
}

/** A Purchasely timestamp in ms (a number) as a Date, or null. */
const at = (ms) => (typeof ms === 'number' ? new Date(ms) : null);

async function apply(event, raw) {
  const id = `purchasely:${event.purchasely_subscription_id}`;
  const subjectKey = `user:${event.user_id}`;
  const docId = `purchasely:${event.event_id}`;
  const eventRef = db.collection('events').doc(docId);
  const entitlementRef = db.collection('entitlements').doc(id);
  const accessRef = db.collection('access').doc(subjectKey);
  const now = new Date();
  const validUntil = at(event.effective_next_renewal_at_ms ?? event.next_renewal_at_ms);
  const sourceTime = new Date(event.event_created_at_ms);
  return db.runTransaction(async (tx) => {
    const [prior, entitlement, access] = await tx.getAll(eventRef, entitlementRef, accessRef);
    if (prior.exists) return 'duplicate';
    if (entitlement.exists && entitlement.get('sourceUpdatedAt').toDate() > sourceTime) return 'stale';
    writeApplied(
      tx,
      { event: eventRef, entitlement: entitlementRef, access: accessRef },
      { entitlement, access },
      {
        source: 'purchasely',
        eventKey: event.event_id,
        eventType: event.event_name,
        transport: { kind: 'webhook', id: event.event_id },
        raw,
        entitlementId: id,
        externalId: event.purchasely_subscription_id,
        subject: { key: subjectKey, userId: event.user_id },
        status: 'active',
        active: true,
        plan: event.plan ?? null,
        providerProduct: event.product,
        providerState: event.subscription_status,
        validUntil,
        sourceTime,
        actorId: 'purchasely',
        details: {
          store: event.store,
          environment: event.environment,
          purchaseType: event.purchase_type,
          subscriptionStatus: event.subscription_status,
          storeOriginalTransactionId: event.store_original_transaction_id,
          purchasedAt: at(event.purchased_at_ms),
          originalPurchasedAt: at(event.original_purchased_at_ms),
        },
        now,
      },
    );
    return 'applied';
  });
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health/live') return reply(res, 200, { status: 'ok' });
  if (req.method !== 'POST' || req.url !== '/webhooks/purchasely') return reply(res, 404, { error: 'not found' });
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > LIMIT) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    if (!verify(req, raw)) return reply(res, 401, { error: 'bad signature' });
    let event;
    try {
      event = JSON.parse(raw.toString('utf8'));
    } catch {
      return reply(res, 400, { error: 'not JSON' });
    }
    if (
      typeof event?.event_id !== 'string' ||
      typeof event.purchasely_subscription_id !== 'string' ||
      typeof event.user_id !== 'string'
    ) {
      return reply(res, 400, { error: 'missing fields' });
    }
    apply(event, raw.toString('utf8')).then(
      (outcome) => reply(res, 200, { outcome, eventKey: event.event_id }),
      (error) => reply(res, 503, { error: error.message }),
    );
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => void db.terminate().finally(() => process.exit(0))));
