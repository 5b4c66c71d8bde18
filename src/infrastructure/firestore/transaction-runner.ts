import { Firestore, type Transaction } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { TransientError } from '../../common/errors/app-error.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { ALREADY_EXISTS, isTransientFirestoreError } from './firestore-values.js';

/** How long one transaction may take before the caller is told to retry (Purchasely waits 10 s). */
const TRANSACTION_DEADLINE_MS = 8_000;
/** A single read's deadline: FIRESTORE_READ_DEADLINE_MS (env.schema.ts, default 5 s), set once at start-up. */
let readDeadlineMs = 5_000;
export function setReadDeadline(ms: number): void {
  readDeadlineMs = ms;
}
/**
 * Attempts per transaction: the SDK's default. Contention inside one instance is queued by
 * `KeyedMutex`; more attempts only keep an abandoned transaction (past its deadline) alive longer,
 * holding the queue for its documents.
 */
const TRANSACTION_ATTEMPTS = 5;

/** Two deliveries of one event raced and the other created the record first. */
export class AlreadyExists extends Error {}

/**
 * Runs every ledger transaction: queued per document key inside this instance, bounded by a
 * deadline, transient failures surfaced as `TransientError`, and tracked so shutdown can let
 * running transactions settle before the client closes.
 */
/** Every Firestore operation still running (also those a caller stopped waiting for). */
const inFlight = new Set<Promise<unknown>>();

function track<T>(operation: Promise<T>): Promise<T> {
  inFlight.add(operation);
  const forget = () => inFlight.delete(operation);
  void operation.then(forget, forget);
  return operation;
}

@Injectable()
export class TransactionRunner {
  private readonly queue = new KeyedMutex();

  constructor(private readonly db: Firestore) {}

  async run<T>(what: string, lockKeys: string[], body: (tx: Transaction) => Promise<T>): Promise<T> {
    const gaveUp = new AbortController();
    const transaction = track(
      this.queue.run(lockKeys, () => {
        // The caller stopped waiting while this sat in the queue: starting it now would only pile
        // more transactions onto documents that are locked (e.g. by a killed instance).
        if (gaveUp.signal.aborted) return Promise.reject(new TransientError(`gave up while queued (${what})`));
        return this.db.runTransaction(body, { maxAttempts: TRANSACTION_ATTEMPTS });
      }),
    );
    try {
      return await withDeadline(transaction, TRANSACTION_DEADLINE_MS, `Firestore transaction timed out (${what})`, () =>
        gaveUp.abort(),
      );
    } catch (error) {
      if ((error as { code?: number }).code === ALREADY_EXISTS) throw new AlreadyExists(what);
      if (error instanceof TransientError) throw error;
      if (isTransientFirestoreError(error)) throw new TransientError(`Firestore unavailable (${what})`, error);
      throw error;
    }
  }

  /** Waits (bounded) for running transactions to settle; called before the client is closed. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!inFlight.size) return;
    await withDeadline(Promise.allSettled([...inFlight]), timeoutMs, 'drain').catch(() => undefined);
  }
}

/** A single read, bounded like a transaction; an outage surfaces as TransientError in seconds. */
export async function readWithDeadline<T>(read: Promise<T>): Promise<T> {
  try {
    return await withDeadline(track(read), readDeadlineMs, 'Firestore read timed out');
  } catch (error) {
    if (!(error instanceof TransientError) && isTransientFirestoreError(error))
      throw new TransientError('Firestore unavailable', error);
    throw error;
  }
}

export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The abandoned work may still settle (commit or fail) after the deadline; never leave it unhandled.
  promise.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TransientError(message));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
