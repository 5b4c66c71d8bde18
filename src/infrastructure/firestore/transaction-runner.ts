import { Firestore, type Transaction } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { TransientError } from '../../common/errors/app-error.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { ALREADY_EXISTS, isTransientFirestoreError } from './firestore-values.js';

/** How long one transaction may take before the caller is told to retry (Purchasely waits 10 s). */
const TRANSACTION_DEADLINE_MS = 8_000;
/**
 * Attempts per transaction (SDK default 5). Contention inside one instance is queued by
 * `KeyedMutex`; what is left comes from other instances.
 */
const TRANSACTION_ATTEMPTS = 10;

/** Two deliveries of one event raced and the other created the record first. */
export class AlreadyExists extends Error {}

/**
 * Runs every ledger transaction: queued per document key inside this instance, bounded by a
 * deadline, transient failures surfaced as `TransientError`, and tracked so shutdown can let
 * running transactions settle before the client closes.
 */
@Injectable()
export class TransactionRunner {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue = new KeyedMutex();

  constructor(private readonly db: Firestore) {}

  async run<T>(what: string, lockKeys: string[], body: (tx: Transaction) => Promise<T>): Promise<T> {
    const transaction = this.queue.run(lockKeys, () => this.db.runTransaction(body, { maxAttempts: TRANSACTION_ATTEMPTS }));
    this.inFlight.add(transaction);
    const forget = () => this.inFlight.delete(transaction);
    void transaction.then(forget, forget);
    try {
      return await withDeadline(transaction, TRANSACTION_DEADLINE_MS, `Firestore transaction timed out (${what})`);
    } catch (error) {
      if ((error as { code?: number }).code === ALREADY_EXISTS) throw new AlreadyExists(what);
      if (error instanceof TransientError) throw error;
      if (isTransientFirestoreError(error)) throw new TransientError(`Firestore unavailable (${what})`, error);
      throw error;
    }
  }

  /** Waits (bounded) for running transactions to settle; called before the client is closed. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!this.inFlight.size) return;
    await withDeadline(Promise.allSettled([...this.inFlight]), timeoutMs, 'drain').catch(() => undefined);
  }
}

export async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The abandoned work may still settle (commit or fail) after the deadline; never leave it unhandled.
  promise.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
