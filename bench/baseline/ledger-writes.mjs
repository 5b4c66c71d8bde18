// The writes of the service's ledger transaction for one applied event, as the two bare baselines
// (webhook-server.mjs, marketplace-consumer.mjs) make them: the same five documents, field for
// field, as the service writes (docs/firestore.md). Baseline code only: it never imports the service.
const RETENTION_MS = 90 * 86_400_000; // the service's EVENT_RETENTION_DAYS default

/**
 * @param tx        the Firestore transaction
 * @param refs      { event, entitlement, access } document references (outbox and history are derived)
 * @param read      { entitlement, access } snapshots the transaction read
 * @param w         the event and the entitlement's new state: source, eventKey, eventType, transport, raw,
 *                  entitlementId, externalId, subject, status, active, plan, providerProduct,
 *                  providerState, validUntil, sourceTime, actorId, details, now
 */
export function writeApplied(tx, refs, read, w) {
  const { source, now } = w;
  const docId = refs.event.id;
  tx.create(refs.event, {
    source,
    eventKey: w.eventKey,
    eventType: w.eventType,
    transport: w.transport,
    outcome: 'applied',
    reason: null,
    entitlementId: w.entitlementId,
    raw: w.raw,
    rawTruncated: false,
    updatedAt: now,
    expireAt: new Date(now.getTime() + RETENTION_MS),
    receivedAt: now,
    attempts: 1,
  });
  const existing = read.entitlement.exists ? read.entitlement.data() : null;
  const version = (existing?.version ?? 0) + 1;
  const after = {
    status: w.status,
    active: w.active,
    product: 'demo',
    plan: w.plan,
    validFrom: null,
    validUntil: w.validUntil,
  };
  const before = existing
    ? {
        status: existing.status,
        active: existing.active,
        product: existing.product,
        plan: existing.plan,
        validFrom: existing.validFrom ?? null,
        validUntil: existing.validUntil ?? null,
      }
    : null;
  tx.set(refs.entitlement.collection('history').doc(docId), {
    eventKey: w.eventKey,
    eventType: w.eventType,
    source,
    actor: { type: 'provider', id: w.actorId },
    at: now,
    sourceTime: w.sourceTime,
    before,
    after,
    subjectMoved: false,
  });
  const subjectKey = w.subject.key;
  tx.create(refs.entitlement.firestore.collection('outbox').doc(docId), {
    event: {
      schemaVersion: 1,
      type: 'entitlement.changed',
      id: docId,
      entitlementId: w.entitlementId,
      source,
      entitlementVersion: version,
      state: { ...after, subjectKey },
      previous: before ? { ...before, subjectKey } : null,
      sourceEvent: { source, key: w.eventKey, type: w.eventType },
      occurredAt: now,
    },
    orderingKey: w.entitlementId,
    createdAt: now,
    publishedAt: null,
    attempts: 0,
  });
  tx.set(refs.entitlement, {
    id: w.entitlementId,
    source,
    externalId: w.externalId,
    subject: w.subject,
    product: 'demo',
    plan: w.plan,
    providerProduct: w.providerProduct,
    providerPlan: w.plan,
    pendingPlan: null,
    status: w.status,
    active: w.active,
    providerState: w.providerState,
    validFrom: null,
    validUntil: w.validUntil,
    periodEnd: null,
    sourceUpdatedAt: w.sourceTime,
    version,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    lastEvent: { key: w.eventKey, type: w.eventType, at: now },
    details: w.details,
    erasedAt: null,
  });
  const entries = read.access.exists ? { ...read.access.get('entitlements') } : {};
  if (w.active) {
    entries[w.entitlementId] = {
      source,
      product: 'demo',
      plan: w.plan,
      status: w.status,
      validFrom: null,
      validUntil: w.validUntil,
    };
  } else delete entries[w.entitlementId];
  tx.set(refs.access, {
    subjectKey,
    entitlements: entries,
    products: [...new Set(Object.values(entries).map((x) => x.product))].sort(),
    version: (read.access.exists ? read.access.get('version') : 0) + 1,
    updatedAt: now,
  });
}
