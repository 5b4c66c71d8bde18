import type { RefusalBatch } from './refusal-tally.js';

/**
 * Where aggregated refusals go: a few records per flush, never one per request. The Firestore
 * adapter keeps them in the event ledger (`events/{source}:refused:{reason}:{hour}`, outcome
 * `invalid`), so the admin API's event list and the log-based alerts show them as before.
 */
export abstract class RefusalStore {
  abstract recordRefusals(batches: RefusalBatch[], now: Date): Promise<void>;
}
