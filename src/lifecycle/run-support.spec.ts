import { describe, expect, it } from '@jest/globals';
import type { Page, TimeCursor } from './lifecycle-store.js';
import { decodePassCursor, encodePassCursor, pagedPass, RunBudget, type PassCursor } from './run-support.js';

/** A query over `ids` (their index as the time), `size` per page, as the Firestore store pages. */
function query(ids: string[], size: number, read: string[]) {
  return async (after: TimeCursor | null): Promise<Page<string, TimeCursor>> => {
    const from = after ? ids.indexOf(after.id) + 1 : 0;
    const items = ids.slice(from, from + size);
    read.push(...items);
    const last = items.at(-1);
    return {
      items,
      next: items.length === size && last ? { at: new Date(ids.indexOf(last)), id: last } : null,
    };
  };
}

/** A budget that allows `pages` pages per run, on a clock that moves one tick per page. */
function pagesBudget(pages: number): RunBudget {
  let tick = 0;
  return new RunBudget(pages, () => tick++);
}

describe('pagedPass', () => {
  it('should resume each run where the last stopped and read every item exactly once over the pass', async () => {
    const read: string[] = [];
    const a = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const b = ['b1', 'b2', 'b3'];
    const steps = [query(a, 2, read), query(b, 2, read)];
    let cursor: PassCursor | null = null;
    let runs = 0;
    do {
      const handled: string[] = [];
      // Stored between runs as text, as the jobs do.
      const from = decodePassCursor(encodePassCursor(cursor));
      cursor = await pagedPass(steps, from, pagesBudget(2), async (items) => void handled.push(...items));
      expect(handled.length).toBeLessThanOrEqual(4);
      runs++;
    } while (cursor && runs < 10);
    expect(cursor).toBeNull();
    expect(read).toEqual([...a, ...b]);
    expect(runs).toBe(3);
  });

  it('should read one page even with no time left, so every run makes progress', async () => {
    const read: string[] = [];
    const stopped = await pagedPass([query(['x', 'y', 'z'], 1, read)], null, new RunBudget(0), async () => {});
    expect(read).toEqual(['x']);
    expect(stopped).toEqual({ step: 0, after: { at: new Date(0), id: 'x' } });
  });

  it('should start over on a stored cursor it cannot read', () => {
    for (const text of ['{', '{"step":-1,"after":null}', '{"step":0,"after":{"at":"nope","id":"x"}}', '[]', 'null']) {
      expect(decodePassCursor(text)).toBeNull();
    }
    expect(decodePassCursor('{"step":2,"after":null}')).toEqual({ step: 2, after: null });
  });
});
