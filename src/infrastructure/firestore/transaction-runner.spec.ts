import { describe, expect, it } from '@jest/globals';
import type { Firestore, Transaction } from '@google-cloud/firestore';
import { TransientError } from '../../common/errors/app-error.js';
import { TransactionRunner, type BatchSpec } from './transaction-runner.js';

/**
 * The group commit's queueing (Batcher) on a stand-in for Firestore's runTransaction, which runs the body once
 * per transaction; the emulator specs (test/ledger-group-commit.spec.ts) run it against Firestore.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runnerWith(runTransaction: (body: (tx: Transaction) => Promise<unknown>) => Promise<unknown>) {
  return new TransactionRunner({ runTransaction } as unknown as Firestore);
}

interface Item {
  id: string;
  key?: string;
  fail?: 'alone' | 'transient';
}

function spec(transactions: string[][], overrides: Partial<BatchSpec<Item, string>> = {}): BatchSpec<Item, string> {
  return {
    what: (items) => items.map((i) => i.id).join(','),
    maxItems: 3,
    fits: (batch, item) => !item.key || !batch.some((b) => b.key === item.key),
    body: async (_tx, items) => {
      transactions.push(items.map((i) => i.id));
      if (items.some((i) => i.fail === 'transient')) throw new TransientError('contention');
      if (items.some((i) => i.fail === 'alone')) throw new Error(`bad ${items.map((i) => i.id).join(',')}`);
      await sleep(20);
      return items.map((i) => `done ${i.id}`);
    },
    splitOnFailure: (error) => !(error instanceof TransientError),
    ...overrides,
  };
}

describe('TransactionRunner batcher (group commit)', () => {
  it('should put the items queued together in one transaction, in arrival order, up to maxItems', async () => {
    const transactions: string[][] = [];
    const batcher = runnerWith((body) => body({} as Transaction)).batcher(spec(transactions));
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => batcher.submit('g', { id }, ['k'])));
    expect(results).toEqual(['done a', 'done b', 'done c', 'done d', 'done e']);
    expect(transactions).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    expect(batcher.waiting('g')).toBe(0);
  });

  it('should take what arrived while a transaction ran into the next one, and keep groups apart', async () => {
    const transactions: string[][] = [];
    const batcher = runnerWith((body) => body({} as Transaction)).batcher(spec(transactions, { maxItems: 10 }));
    const first = batcher.submit('g', { id: 'a' }, ['k']);
    await sleep(1);
    const more = ['b', 'c'].map((id) => batcher.submit('g', { id }, ['k']));
    const other = batcher.submit('h', { id: 'x' }, ['other']);
    await Promise.all([first, ...more, other]);
    expect(transactions).toEqual([['a'], ['x'], ['b', 'c']]);
  });

  it('should leave an item that does not fit to the next transaction', async () => {
    const transactions: string[][] = [];
    const batcher = runnerWith((body) => body({} as Transaction)).batcher(spec(transactions));
    await Promise.all(
      [
        { id: 'a', key: 'same' },
        { id: 'b', key: 'same' },
        { id: 'c', key: 'other' },
      ].map((item) => batcher.submit('g', item, ['k'])),
    );
    expect(transactions).toEqual([['a', 'c'], ['b']]);
  });

  it('should let an item give up after its queue bound without running it, the others unaffected', async () => {
    const transactions: string[][] = [];
    const runner = runnerWith((body) => body({} as Transaction));
    const batcher = runner.batcher(spec(transactions));
    // Something else holds the documents for 150 ms.
    const held = runner.run('hold', ['k'], () => sleep(150));
    const patient = batcher.submit('g', { id: 'patient' }, ['k'], 5_000);
    const hasty = batcher.submit('g', { id: 'hasty' }, ['k'], 50);
    await expect(hasty).rejects.toThrow(new TransientError('gave up while queued (hasty)'));
    await expect(patient).resolves.toBe('done patient');
    await held;
    expect(transactions).toEqual([['patient']]);
  });

  it('should run the items of a batch alone when it failed for a reason one item may cause', async () => {
    const transactions: string[][] = [];
    const batcher = runnerWith((body) => body({} as Transaction)).batcher(spec(transactions));
    const results = await Promise.allSettled(
      [{ id: 'a' }, { id: 'b', fail: 'alone' as const }, { id: 'c' }].map((item) => batcher.submit('g', item, ['k'])),
    );
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'done a',
      'bad b',
      'done c',
    ]);
    expect(transactions).toEqual([['a', 'b', 'c'], ['a'], ['b'], ['c']]);
  });

  it('should fail every item of a batch on a transient failure (each caller retries), without running them alone', async () => {
    const transactions: string[][] = [];
    const batcher = runnerWith((body) => body({} as Transaction)).batcher(spec(transactions));
    const results = await Promise.allSettled(
      [{ id: 'a' }, { id: 'b', fail: 'transient' as const }].map((item) => batcher.submit('g', item, ['k'])),
    );
    expect(results.map((r) => r.status === 'rejected' && r.reason instanceof TransientError)).toEqual([true, true]);
    expect(transactions).toEqual([['a', 'b']]);
  });
});
