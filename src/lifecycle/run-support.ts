import { randomBytes } from 'node:crypto';

/** A run id that sorts by time and reads in logs: `<job>-20261101T120000Z-3f9a1c`. */
export function newRunId(job: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${job}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Runs `fn` over `items` with at most `limit` at once; resolves when all have settled. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * One run of a job at a time in this instance: a second caller (the timer while a trigger runs, or
 * the reverse) joins the running one and gets its report. Other instances are kept safe by the
 * ledger (dedup, stale guard) and the outbox leases, not by this.
 */
export class SingleFlight<T> {
  private running: Promise<T> | null = null;

  run(work: () => Promise<T>): Promise<T> {
    if (this.running) return this.running;
    const current = work().finally(() => {
      if (this.running === current) this.running = null;
    });
    this.running = current;
    return current;
  }

  /** The run in progress, if any (shutdown waits for it). */
  get current(): Promise<T> | null {
    return this.running;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
