import { Firestore, type Transaction } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { TransientError } from '../../common/errors/app-error.js';
import { KeyedMutex } from '../../common/keyed-mutex.js';
import { ALREADY_EXISTS, isTransientFirestoreError } from './firestore-values.js';

/**
 * How long one transaction may take, from its start, before its callers are told to retry. The time a
 * transaction waited in this instance's queue does not count (it has a bound of its own, `queueMs`):
 * a change that waited behind others is not thrown away just as its turn came.
 */
export const TRANSACTION_DEADLINE_MS = 8_000;
/** How long a transaction may wait in this instance's queue before it starts, unless its caller says. */
export const DEFAULT_QUEUE_MS = 8_000;
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

/** Every Firestore operation still running (also those a caller stopped waiting for). */
const inFlight = new Set<Promise<unknown>>();

function track<T>(operation: Promise<T>): Promise<T> {
  inFlight.add(operation);
  const forget = () => inFlight.delete(operation);
  void operation.then(forget, forget);
  return operation;
}

export interface RunOptions {
  /** How long the caller waits for the transaction to start (default `DEFAULT_QUEUE_MS`). */
  queueMs?: number;
}

/**
 * A group commit: work items of one group (e.g. the changes of one subject) that are queued in this
 * instance at the same time run together in one transaction, so a hot document is read and written
 * once per group instead of once per item.
 */
export interface BatchSpec<I, R> {
  /** For error messages: `what` of the transaction. */
  what: (items: readonly I[]) => string;
  /** Items per transaction at most (Firestore: 500 writes per commit). */
  maxItems: number;
  /** Whether `item` may join `batch` (never asked for an empty batch: every item fits alone). */
  fits: (batch: readonly I[], item: I) => boolean;
  /** The transaction body: one result per item, in the items' order. May run more than once (retries). */
  body: (tx: Transaction, items: readonly I[]) => Promise<R[]>;
  /**
   * Whether a failed batch of several items is retried one item at a time (each gets its own outcome) instead
   * of failing every item with the batch's error; transient failures always fail them all (each caller retries).
   */
  splitOnFailure: (error: unknown) => boolean;
}

/** One caller waiting for its share of a transaction: queued, then started, then settled once. */
class Waiter<I, R> {
  state: 'queued' | 'started' | 'settled' = 'queued';
  readonly promise: Promise<R>;
  private settleOk!: (result: R) => void;
  private settleError!: (error: unknown) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly item: I,
    readonly lockKeys: readonly string[],
    queueMs: number,
    what: string,
    onGiveUp: (waiter: Waiter<I, R>) => void,
  ) {
    this.promise = new Promise<R>((resolve, reject) => {
      this.settleOk = resolve;
      this.settleError = reject;
    });
    // The caller stops waiting for a transaction that has not started: starting it later would only pile more
    // transactions onto documents that are busy (e.g. locked by a killed instance) for a caller who is gone.
    this.timer = setTimeout(() => {
      if (this.state !== 'queued') return;
      this.fail(new TransientError(`gave up while queued (${what})`));
      onGiveUp(this);
    }, queueMs);
  }

  /** Its transaction starts now; false when the caller already gave up. */
  start(): boolean {
    if (this.state !== 'queued') return false;
    this.state = 'started';
    clearTimeout(this.timer);
    return true;
  }

  succeed(result: R): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    clearTimeout(this.timer);
    this.settleOk(result);
  }

  fail(error: unknown): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    clearTimeout(this.timer);
    this.settleError(error);
  }
}

/**
 * Runs every ledger transaction: queued per document key inside this instance (a bounded wait), bounded
 * by a deadline once started, transient failures surfaced as `TransientError`, and tracked so shutdown
 * can let running transactions settle before the client closes.
 */
@Injectable()
export class TransactionRunner {
  private readonly queue = new KeyedMutex();

  constructor(private readonly db: Firestore) {}

  run<T>(
    what: string,
    lockKeys: string[],
    body: (tx: Transaction) => Promise<T>,
    options: RunOptions = {},
  ): Promise<T> {
    const waiter = new Waiter<undefined, T>(undefined, lockKeys, options.queueMs ?? DEFAULT_QUEUE_MS, what, () => {});
    void track(
      this.queue.run(lockKeys, async () => {
        if (!waiter.start()) return;
        await this.transact(what, [waiter], async (tx) => [await body(tx)]);
      }),
    ).catch(() => undefined);
    return waiter.promise;
  }

  /** A group commit (`BatchSpec`); `submit` queues one item of a group. */
  batcher<I, R>(spec: BatchSpec<I, R>): Batcher<I, R> {
    return new Batcher(spec, this.queue, (what, waiters, body, split) => this.transact(what, waiters, body, split));
  }

  /** Waits (bounded) for running transactions to settle; called before the client is closed. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!inFlight.size) return;
    await withDeadline(Promise.allSettled([...inFlight]), timeoutMs, 'drain').catch(() => undefined);
  }

  /**
   * One transaction for the started `waiters`: each gets its result, or the (mapped) error; after
   * `TRANSACTION_DEADLINE_MS` they are told to retry while the transaction settles in the background (its
   * documents stay queued until it does, so nothing in this instance piles onto its locks).
   */
  private async transact<R>(
    what: string,
    waiters: readonly Waiter<unknown, R>[],
    body: (tx: Transaction) => Promise<R[]>,
    split?: (error: unknown) => boolean,
  ): Promise<boolean> {
    const timer = setTimeout(() => {
      for (const w of waiters) w.fail(new TransientError(`Firestore transaction timed out (${what})`));
    }, TRANSACTION_DEADLINE_MS);
    try {
      const results = await track(this.db.runTransaction(body, { maxAttempts: TRANSACTION_ATTEMPTS }));
      waiters.forEach((w, i) => w.succeed(results[i]!));
      return false;
    } catch (error) {
      const mapped = mapError(error, what);
      // A batch failed for a reason one of its items may cause: the caller runs them one by one.
      if (waiters.length > 1 && split?.(mapped)) return true;
      for (const w of waiters) w.fail(mapped);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

type Transact = <R>(
  what: string,
  waiters: readonly Waiter<unknown, R>[],
  body: (tx: Transaction) => Promise<R[]>,
  split?: (error: unknown) => boolean,
) => Promise<boolean>;

/**
 * Queues items per group. While a group's transaction waits for its documents or runs, newly queued items of
 * the group wait; the next transaction takes all of them that fit (`maxItems`, `fits`), in arrival order. An
 * item alone is one transaction, as with `run`.
 */
export class Batcher<I, R> {
  /** Items waiting, per group; a group is present exactly while its drain loop runs. */
  private readonly groups = new Map<string, Waiter<I, R>[]>();

  constructor(
    private readonly spec: BatchSpec<I, R>,
    private readonly queue: KeyedMutex,
    private readonly transact: Transact,
  ) {}

  submit(group: string, item: I, lockKeys: readonly string[], queueMs = DEFAULT_QUEUE_MS): Promise<R> {
    let pending = this.groups.get(group);
    const waiter = new Waiter<I, R>(item, lockKeys, queueMs, this.spec.what([item]), (w) => {
      const list = this.groups.get(group);
      const at = list?.indexOf(w) ?? -1;
      if (at >= 0) list!.splice(at, 1);
    });
    if (pending) pending.push(waiter);
    else {
      pending = [waiter];
      this.groups.set(group, pending);
      void track(this.drain(group, pending)).catch(() => undefined);
    }
    return waiter.promise;
  }

  /** Items of `group` waiting now (queued, not yet in a transaction). */
  waiting(group: string): number {
    return this.groups.get(group)?.length ?? 0;
  }

  private async drain(group: string, pending: Waiter<I, R>[]): Promise<void> {
    // Items queued in the same turn of the event loop (a burst) join the first transaction.
    await Promise.resolve();
    while (pending.length) {
      const batch: Waiter<I, R>[] = [];
      const items: I[] = [];
      for (let i = 0; i < pending.length && batch.length < this.spec.maxItems;) {
        const w = pending[i]!;
        if (batch.length && !this.spec.fits(items, w.item)) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        batch.push(w);
        items.push(w.item);
      }
      const keys = [...new Set(batch.flatMap((w) => w.lockKeys))];
      await this.queue
        .run(keys, async () => {
          const live = batch.filter((w) => w.start());
          if (live.length) await this.commit(live);
        })
        .catch(() => undefined);
    }
    this.groups.delete(group);
  }

  private async commit(live: Waiter<I, R>[]): Promise<void> {
    const items = live.map((w) => w.item);
    // Run as one; when that fails for a reason one item may cause, run each alone so only that item fails.
    const split = await this.transact(
      this.spec.what(items),
      live,
      (tx) => this.spec.body(tx, items),
      (error) => this.spec.splitOnFailure(error),
    );
    if (!split) return;
    for (const w of live) {
      if (w.state === 'started')
        await this.transact(this.spec.what([w.item]), [w], (tx) => this.spec.body(tx, [w.item]));
    }
  }
}

function mapError(error: unknown, what: string): unknown {
  if ((error as { code?: number }).code === ALREADY_EXISTS) return new AlreadyExists(what);
  if (error instanceof TransientError) return error;
  if (isTransientFirestoreError(error)) return new TransientError(`Firestore unavailable (${what})`, error);
  return error;
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
