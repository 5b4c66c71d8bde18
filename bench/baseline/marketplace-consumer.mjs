// Baseline for `npm run bench:pipeline`: the least code that does the same work per Marketplace
// message as the service, with no framework. A bare @google-cloud/pubsub subscriber (same flow
// control as src/marketplace/pubsub/pull-consumer.ts), the same Procurement GET on the fake with
// plain fetch, and the same Firestore transaction as the service's ledger: read the event,
// entitlement, account and access documents, then create the event record, set the entitlement,
// write its history entry, set the access summary and create the outbox entry, each with the same
// fields and values as the service writes for an ENTITLEMENT_ACTIVE (until the fourth session it
// wrote cut-down documents, about half the fields). Ack after commit.
//
// Env: GOOGLE_CLOUD_PROJECT, MARKETPLACE_SUBSCRIPTION, MARKETPLACE_PROVIDER_ID, PROCUREMENT_ROOT_URL,
// PROCUREMENT_STATIC_TOKEN, FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST. Prints "ready" once pulling.
// BASELINE_MODE=ack-only: ack every message at once and do nothing else (the emulator's own ceiling);
// prints "acked <n>" as it goes.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { writeApplied } from './ledger-writes.mjs';

const env = process.env;
const project = env.GOOGLE_CLOUD_PROJECT;
const provider = env.MARKETPLACE_PROVIDER_ID;
const root = env.PROCUREMENT_ROOT_URL.replace(/\/$/, '');
const auth = `Bearer ${env.PROCUREMENT_STATIC_TOKEN}`;

const STATUS = {
  ENTITLEMENT_ACTIVATION_REQUESTED: 'pending_approval',
  ENTITLEMENT_ACTIVE: 'active',
  ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL: 'pending_plan_change',
  ENTITLEMENT_PENDING_PLAN_CHANGE: 'pending_plan_change',
  ENTITLEMENT_PENDING_CANCELLATION: 'pending_cancellation',
  ENTITLEMENT_CANCELLED: 'cancelled',
  ENTITLEMENT_SUSPENDED: 'suspended',
};
const GRANTS = new Set(['active', 'pending_plan_change', 'pending_cancellation']);

const db = new Firestore({ projectId: project, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId: project });
const subscription = pubsub.subscription(env.MARKETPLACE_SUBSCRIPTION, {
  flowControl: { maxMessages: 32, allowExcessMessages: false },
  streamingOptions: { maxStreams: 1 },
});

async function handle(message) {
  const data = JSON.parse(message.data.toString('utf8'));
  const id = data.entitlement?.id;
  const res = await fetch(`${root}/v1/providers/${provider}/entitlements/${encodeURIComponent(id)}`, {
    headers: { authorization: auth },
  });
  if (!res.ok) throw new Error(`GET entitlement ${id}: ${res.status}`);
  const e = await res.json();
  const accountId = e.account.slice(e.account.lastIndexOf('/') + 1);
  const status = STATUS[e.state] ?? 'unknown';
  const subjectKey = `gcp-account:${accountId}`;
  const now = new Date();
  const eventRef = db.collection('events').doc(`gcp:${data.eventId}`);
  const entitlementRef = db.collection('entitlements').doc(`gcp:${id}`);
  const accessRef = db.collection('access').doc(subjectKey);
  const accountRef = db.collection('accounts').doc(accountId);
  const entitlementId = `gcp:${id}`;
  const date = (v) => (v ? new Date(v) : null);
  await db.runTransaction(async (tx) => {
    const [event, entitlement, , access] = await tx.getAll(eventRef, entitlementRef, accountRef, accessRef);
    if (event.exists) return;
    const updateTime = new Date(e.updateTime);
    if (entitlement.exists && entitlement.get('sourceUpdatedAt').toDate() > updateTime) return;
    writeApplied(
      tx,
      { event: eventRef, entitlement: entitlementRef, access: accessRef },
      { entitlement, access },
      {
        source: 'gcp',
        eventKey: data.eventId,
        eventType: data.eventType,
        transport: { kind: 'pubsub-pull', id: message.id },
        raw: message.data.toString('utf8'),
        entitlementId,
        externalId: id,
        subject: { key: subjectKey, accountId },
        status,
        active: GRANTS.has(status),
        plan: e.plan ?? null,
        providerProduct: e.productExternalName || e.product,
        providerState: e.state,
        validUntil: null,
        sourceTime: updateTime,
        actorId: 'gcp-marketplace',
        details: {
          marketplace: {
            accountId,
            orderId: e.orderId ?? null,
            offer: e.offer ?? null,
            offerEndTime: date(e.offerEndTime),
            subscriptionEndTime: date(e.subscriptionEndTime),
            newOfferStartTime: date(e.newOfferStartTime),
            usageReportingId: e.usageReportingId ?? null,
            quoteExternalName: e.quoteExternalName ?? null,
            cancellationReason: e.cancellationReason ?? null,
            approval: null,
            planChangeApproval: null,
            updateTime: e.updateTime ?? null,
          },
        },
        now,
      },
    );
  });
}

const ackOnly = env.BASELINE_MODE === 'ack-only';
let acked = 0;

subscription.on('message', (message) => {
  if (ackOnly) {
    message.ack();
    if (++acked % 50 === 0) process.stdout.write(`acked ${acked}\n`);
    return;
  }
  handle(message).then(
    () => message.ack(),
    (error) => {
      process.stderr.write(`nack: ${error.message}\n`);
      message.nack();
    },
  );
});
subscription.on('error', (error) => process.stderr.write(`subscription error: ${error.message}\n`));

process.once('SIGTERM', () => {
  void subscription
    .close()
    .then(() => db.terminate())
    .finally(() => process.exit(0));
});
process.stdout.write('ready\n');
