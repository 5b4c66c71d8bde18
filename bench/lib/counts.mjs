// The counts bench/lib/transaction-counter.mjs writes in each service process, read back by the benchmark.
import { readFileSync, rmSync } from 'node:fs';

/** In the benchmark: the counts the processes wrote (summed; the files are removed). */
export function collectCounts(files) {
  const sum = { transactions: 0, attempts: 0 };
  for (const file of files) {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    sum.transactions += c.transactions;
    sum.attempts += c.attempts;
    rmSync(file, { force: true });
  }
  return sum;
}
