// Child process of bench/scale.mjs: boots the built service (the real bootstrap(), tsc output of the private
// build), runs one lifecycle job until its report says `more: false` (every run with the job's own time budget,
// or BENCH_BUDGET_MS), and prints one JSON line: runs, wall time, Firestore documents read and written (counted
// here, at the SDK's prototypes, for this process only), time spent waiting for queries, this process's CPU time,
// peak RSS and heap. Not part of the service.
import { Firestore, Query, Transaction, WriteBatch } from '@google-cloud/firestore';
import { join } from 'node:path';

const dist = process.env.BENCH_DIST_DIR;
const job = process.env.BENCH_JOB;
const counts = { reads: 0, queries: 0, writes: 0, queryMs: 0, queryMaxMs: 0 };

// Reads as Firestore bills them: a document per document returned, one per query that returns none.
const countDocs = (n) => {
  counts.reads += Math.max(1, n);
  counts.queries++;
};
// Query.get is also timed: on the emulator, which has no indexes and scans the collection for every query, this
// wait is its scan (it grows with N); production serves the same queries from an index (cost ∝ results).
{
  const original = Query.prototype.get;
  Query.prototype.get = function (...args) {
    const t0 = performance.now();
    return original.apply(this, args).then((snap) => {
      const ms = performance.now() - t0;
      counts.queryMs += ms;
      counts.queryMaxMs = Math.max(counts.queryMaxMs, ms);
      countDocs(snap.size);
      return snap;
    });
  };
}
wrap(Firestore.prototype, 'getAll', (snaps) => countDocs(snaps.length));
wrap(Transaction.prototype, 'get', (r) => countDocs(r?.size ?? 1));
wrap(Transaction.prototype, 'getAll', (snaps) => countDocs(snaps.length));
// Every write (also a transaction's and a single document's set/update) goes through a WriteBatch.
for (const op of ['set', 'create', 'update', 'delete']) {
  const original = WriteBatch.prototype[op];
  WriteBatch.prototype[op] = function (...args) {
    counts.writes++;
    return original.apply(this, args);
  };
}

function wrap(proto, name, after) {
  const original = proto[name];
  proto[name] = function (...args) {
    const result = original.apply(this, args);
    return result && typeof result.then === 'function' ? result.then((v) => (after(v), v)) : result;
  };
}

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
setInterval(sample, 50).unref();

const { bootstrap } = await import(join(dist, 'src', 'bootstrap.js'));
const modules = {
  expire: ['lifecycle/expiry-sweep.service.js', 'ExpirySweep'],
  expiring: ['lifecycle/expiring-notices.service.js', 'ExpiringNotices'],
  publish: ['lifecycle/outbox-publisher.service.js', 'OutboxPublisher'],
  reconcile: ['lifecycle/reconciliation/reconciliation.service.js', 'Reconciliation'],
};
const [file, name] = modules[job];
const service = (await import(join(dist, 'src', file)))[name];
const { RunBudget } = await import(join(dist, 'src', 'lifecycle', 'run-support.js'));
const app = await bootstrap();
await app.init();
const runner = app.get(service);
sample();
const before = { ...counts };
const memoryBefore = process.memoryUsage().rss;
const started = performance.now();
const cpuBefore = process.cpuUsage();
const reports = [];
const failedRuns = [];
// BENCH_MAX_RUNS: stop after this many runs even if the report says `more: true` (a pass too long for the bench).
const maxRuns = Number(process.env.BENCH_MAX_RUNS ?? 1000);
for (let run = 0; run < 1000; run++) {
  const budget = process.env.BENCH_BUDGET_MS ? new RunBudget(Number(process.env.BENCH_BUDGET_MS)) : undefined;
  let report;
  try {
    report = await runner.run(`bench-${job}-${run}`, budget);
  } catch (error) {
    // A run that could not proceed answers 503 and Cloud Scheduler calls again: so does this loop (a few times).
    failedRuns.push(String(error?.message ?? error));
    if (failedRuns.length > 5) throw error;
    continue;
  }
  reports.push(report);
  // After every run: the figures so far (the parent keeps the last one if it has to stop the job).
  process.stdout.write(`${JSON.stringify({ progress: true, ...figures() })}\n`);
  if (!report.more) break;
  if (reports.length >= maxRuns) break;
}
const final = figures();
if (process.env.BENCH_IDLE_RUN === '1' && !reports.at(-1)?.more) {
  // One more run with nothing left to do (the next Scheduler call): what a job costs when no work is due.
  const at = { ...counts };
  const t0 = performance.now();
  const report = await runner.run(`bench-${job}-idle`);
  final.idle = {
    seconds: (performance.now() - t0) / 1000,
    reads: counts.reads - at.reads,
    writes: counts.writes - at.writes,
    more: report.more,
  };
}
process.stdout.write(`${JSON.stringify(final)}\n`);

function figures() {
  const cpu = process.cpuUsage(cpuBefore);
  sample();
  const summary = (r) => ({
    more: r.more,
    expired: r.expired,
    emitted: r.emitted,
    alreadySent: r.alreadySent,
    published: r.published,
    checked: r.checked,
    backfilled: r.backfilled,
    drift: r.drift?.length,
    errors: r.errors?.length,
    phase: r.pass?.phase,
  });
  return {
    job,
    runs: reports.length,
    failedRuns,
    seconds: (performance.now() - started) / 1000,
    reads: counts.reads - before.reads,
    queries: counts.queries - before.queries,
    writes: counts.writes - before.writes,
    queryMs: counts.queryMs - before.queryMs,
    queryMaxMs: counts.queryMaxMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRss,
    peakHeap,
    rssAtStart: memoryBefore,
    reports: reports.map(summary),
  };
}
await app.close();
process.exit(0);
