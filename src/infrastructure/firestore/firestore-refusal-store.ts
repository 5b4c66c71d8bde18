import { Firestore, Timestamp } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { RefusalStore } from '../../webhooks/common/refusal-store.js';
import type { RefusalBatch, RefusalSample } from '../../webhooks/common/refusal-tally.js';
import { COLLECTIONS, eventDocumentId } from './collections.js';
import { eventRetentionMs } from './event-records.js';
import { fromFirestore } from './firestore-values.js';
import { TransactionRunner } from './transaction-runner.js';

/** Samples one aggregate record keeps (the latest), whatever the number of instances and flushes. */
export const MAX_STORED_SAMPLES = 20;

interface StoredRefusals {
  count: number;
  throttled: number;
  firstAt: Date;
  lastAt: Date;
  samples: RefusalSample[];
}

/**
 * Aggregated refusals as event-ledger records: one per source, reason and UTC hour
 * (`events/{source}:refused:{reason}:{yyyy-mm-ddThh}`), outcome `invalid`, eventType `REFUSED`, with
 * `refusals {count, throttled, firstAt, lastAt, samples}`. A flush writes one such record per source
 * and reason it saw, in one transaction each (instances flush the same hour's record concurrently).
 */
@Injectable()
export class FirestoreRefusalStore extends RefusalStore {
  private readonly retentionMs: number;

  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = eventRetentionMs(config);
  }

  async recordRefusals(batches: RefusalBatch[], now: Date): Promise<void> {
    for (const batch of batches) await this.recordOne(batch, now);
  }

  private recordOne(batch: RefusalBatch, now: Date): Promise<void> {
    const eventKey = `refused:${batch.reason}:${batch.lastAt.toISOString().slice(0, 13)}`;
    const ref = this.db.collection(COLLECTIONS.events).doc(eventDocumentId(batch.source, eventKey));
    return this.runner.run(`refusals ${batch.source}:${eventKey}`, [`ev:${batch.source}:${eventKey}`], async (tx) => {
      const snap = await tx.get(ref);
      const stored = snap.exists ? fromFirestore<StoredRefusals | undefined>(snap.get('refusals')) : undefined;
      const refusals: StoredRefusals = {
        count: (stored?.count ?? 0) + batch.count,
        throttled: (stored?.throttled ?? 0) + batch.throttled,
        firstAt: stored?.firstAt ?? batch.firstAt,
        lastAt: batch.lastAt,
        samples: [...(stored?.samples ?? []), ...batch.samples].slice(-MAX_STORED_SAMPLES),
      };
      const data = {
        source: batch.source,
        eventKey,
        eventType: 'REFUSED',
        transport: { kind: 'webhook' },
        outcome: 'invalid',
        reason: `refused: ${batch.reason}`,
        entitlementId: null,
        raw: null,
        rawTruncated: false,
        refusals,
        updatedAt: now,
        expireAt: Timestamp.fromMillis(now.getTime() + this.retentionMs),
      };
      if (snap.exists) tx.update(ref, data);
      else tx.create(ref, { ...data, receivedAt: batch.firstAt, attempts: 1 });
    });
  }
}
