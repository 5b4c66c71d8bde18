import { describe, expect, it } from '@jest/globals';
import { KeyedMutex } from './keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedMutex', () => {
  it('should run work on the same key one at a time, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        mutex.run(['k'], async () => {
          log.push(`start ${n}`);
          await tick();
          log.push(`end ${n}`);
        }),
      ),
    );
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(mutex.size).toBe(0);
  });

  it('should not deadlock when callers take overlapping keys in different orders', async () => {
    const mutex = new KeyedMutex();
    let running = 0;
    let max = 0;
    const work = async () => {
      running++;
      max = Math.max(max, running);
      await tick();
      running--;
    };
    await Promise.all([mutex.run(['a', 'b'], work), mutex.run(['b', 'a'], work), mutex.run(['c'], work)]);
    expect(max).toBe(2); // a+b callers serialize; c runs beside them
  });

  it('should release the key when the work throws', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run(['k'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mutex.run(['k'], async () => 'next')).resolves.toBe('next');
  });
});
