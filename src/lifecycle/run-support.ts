import { randomBytes } from 'node:crypto';
import type { Page, TimeCursor } from './lifecycle-store.js';

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

/**
 * A run's time budget, so a run answers well inside Cloud Run's request timeout: a job always reads its
 * first page, then another only while time is left; where it stopped is stored and the next run resumes there.
 */
export class RunBudget {
  private readonly deadline: number;
  private started = false;

  constructor(
    readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.deadline = now() + ms;
  }

  /** Whether the run may read one more page. */
  nextPage(): boolean {
    if (!this.started) return (this.started = true);
    return this.now() < this.deadline;
  }
}

/** Where a paged pass over several queries stopped: the query (`step`) and the last document read in it. */
export interface PassCursor {
  step: number;
  after: TimeCursor | null;
}

/**
 * Pages through `steps` (queries) in order from `from`, handing each page to `onPage`, while the budget
 * allows. Returns where to resume, or `null` when the pass is complete. Only one page is in memory at a time.
 */
export async function pagedPass<T>(
  steps: readonly ((after: TimeCursor | null) => Promise<Page<T, TimeCursor>>)[],
  from: PassCursor | null,
  budget: RunBudget,
  onPage: (items: T[]) => Promise<void>,
): Promise<PassCursor | null> {
  const first = from && from.step < steps.length ? from : null;
  for (let step = first?.step ?? 0; step < steps.length; step++) {
    let after = step === first?.step ? first.after : null;
    for (;;) {
      if (!budget.nextPage()) return { step, after };
      const page = await steps[step]!(after);
      await onPage(page.items);
      if (!page.next) break;
      after = page.next;
    }
  }
  return null;
}

export function encodePassCursor(cursor: PassCursor | null): string | null {
  return (
    cursor &&
    JSON.stringify({ step: cursor.step, after: cursor.after && { ...cursor.after, at: cursor.after.at.toISOString() } })
  );
}

/** A stored cursor as written by `encodePassCursor`; anything else (a stale format, a hand edit) starts over. */
export function decodePassCursor(text: string | null): PassCursor | null {
  if (!text) return null;
  try {
    const raw = JSON.parse(text) as { step?: unknown; after?: { at?: unknown; id?: unknown } | null };
    if (!Number.isInteger(raw.step) || (raw.step as number) < 0) return null;
    if (raw.after === null) return { step: raw.step as number, after: null };
    const at = typeof raw.after?.at === 'string' ? new Date(raw.after.at) : null;
    if (!at || Number.isNaN(at.getTime()) || typeof raw.after?.id !== 'string') return null;
    return { step: raw.step as number, after: { at, id: raw.after.id } };
  } catch {
    return null;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
