// npm run bench:scale [-- --sizes 1000,10000,100000 --due-percent 1 --budget-ms 0 --jobs expire,expiring,publish,reconcile
//                         --read-deadline-ms 300000 --rows-file <path>]
//
// Cost of the lifecycle jobs as the data grows (issue 22). For each size N, on the Firestore emulator:
//   sweeps project   N EasyCart entitlements, of which due-percent are past validUntil (expiry sweep), as many end
//                    within the lead window (expiring notices), the rest end in 30 days; N outbox entries of which
//                    due-percent are unpublished (the publisher also gets the entries the sweep and notices write)
//   reconcile        N Marketplace entitlements in the fake Procurement API (100 per account) and in Firestore,
//                    in agreement except due-percent whose stored status was changed by hand (drift)
//   baseline         the same due work alone: N × due-percent documents of each kind and nothing else
// Each job runs in a fresh process (bench/lib/scale-job.mjs: the built service's bootstrap()) until its report
// says `more: false`, each run with the job's own time budget (--budget-ms overrides it; 0 = one page per run,
// to show resumption). Figures: wall time, runs, Firestore documents read / written (counted in the job's
// process), the time spent waiting for queries (on the emulator: its unindexed scans), the job process's CPU time,
// Procurement API calls (counted by the fake), peak RSS and heap. Seeding goes straight into the emulator with
// batched writes, in the shape the current ledger writes (`pendingNoticeFor`, the notices backfill done).
// The job processes get FIRESTORE_READ_DEADLINE_MS=--read-deadline-ms: the emulator scans every document of the
// project per query, which at 100k takes longer than the service's 5 s default (production reads an index).
// Each row is appended to --rows-file (JSON lines) as soon as it is measured, so a long run that is stopped
// leaves its figures. Writes a PNG plot (SVG rendered by Debian's Chromium) to docs/performance-scale.png.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  ROOT,
  emulators,
  fmt,
  log,
  options,
  privateBuild,
  projectId,
  provenance,
  run,
  startNode,
  table,
  writeSection,
} from './lib/common.mjs';

const PROVIDER = 'demo-provider';
const PRODUCT = 'demo-product.endpoints.demo-entitlements.cloud.goog';
const DAY = 86_400_000;
const BATCH = 500; // Firestore's limit of writes per batch
const SEED_CONCURRENCY = 4;
let BUILD;
/** `--from-rows`: the `started` lines of the rows file (when, load, command of each run it holds). */
let FROM_ROWS = null;
const COLORS = { expire: '#d62728', expiring: '#1f77b4', publish: '#2ca02c', reconcile: '#9467bd' };
let OPTIONS;
const buildFlags = () => BUILD.flags;

run(async () => {
  const o = options({
    sizes: '1000,10000,100000',
    duePercent: 1,
    budgetMs: -1,
    jobs: 'expire,expiring,publish,reconcile',
    readDeadlineMs: 300_000,
    rowsFile: '',
    backfillSizes: '1000,10000',
    maxRuns: 1000,
    fromRows: '',
  });
  const sizes = o.sizes.split(',').map(Number);
  const jobs = o.jobs.split(',');
  OPTIONS = o;
  const rows = [];
  const seeding = [];
  if (o.fromRows) {
    // Only renders the section and the plot from a --rows-file of an earlier run (its figures, its time and load).
    for (const l of readFileSync(o.fromRows, 'utf8').split('\n').filter(Boolean)) {
      const item = JSON.parse(l);
      if (item.started) (FROM_ROWS ??= []).push(item.started);
      else if (item.seeding) seeding.push(item.seeding);
      else rows.push(item);
    }
  } else await measure(o, sizes, jobs, rows, seeding);
  await report(o, sizes, jobs, rows, seeding);
});

async function measure(o, sizes, jobs, rows, seeding) {
  const build = (BUILD = await privateBuild());
  await emulators();
  const { startFakeProcurement } = await import(join(build.tools, 'fake-procurement', 'server.js'));
  const save = (item) => o.rowsFile && appendFileSync(o.rowsFile, `${JSON.stringify(item)}\n`);
  save({ started: { at: new Date().toISOString(), load: loadavg()[0], command: process.argv.slice(2).join(' ') } });
  const keep = (row) => {
    rows.push(row);
    save(row);
  };
  seeding.push = (...items) => {
    for (const item of items) save({ seeding: item });
    return Array.prototype.push.apply(seeding, items);
  };
  for (const n of sizes) {
    const due = Math.max(1, Math.round((n * o.duePercent) / 100));
    for (const variant of ['baseline', 'full']) {
      const total = variant === 'full' ? n : due;
      const base = { n, due, variant, total };
      if (jobs.some((j) => j !== 'reconcile')) {
        const project = projectId('bench-scale');
        const t0 = performance.now();
        await seedSweeps(project, total, variant === 'full' ? due : total);
        const s = (performance.now() - t0) / 1000;
        seeding.push({ what: `sweeps ${variant} N=${n}`, docs: 2 * total, seconds: s });
        log(`seeded ${2 * total} documents (sweeps, ${variant}, N=${n}) in ${s.toFixed(1)} s`);
        const pubsub = new PubSub({ projectId: project });
        await pubsub.createTopic('changes');
        for (const job of jobs.filter((j) => j !== 'reconcile')) {
          const r = await runJob(job, { project, env: { CHANGE_EVENTS_TOPIC: 'changes' } });
          keep({ ...base, ...r });
          log(line(base, r));
        }
        await pubsub.close();
      }
      if (jobs.includes('reconcile')) {
        const project = projectId('bench-scale-mkt');
        const fake = await startFakeProcurement({ providerIds: [PROVIDER] });
        const t0 = performance.now();
        await seedMarketplace(project, fake, total, variant === 'full' ? due : total);
        const s = (performance.now() - t0) / 1000;
        seeding.push({ what: `reconcile ${variant} N=${n}`, docs: total, seconds: s });
        log(`seeded ${total} Marketplace entitlements (fake and Firestore, ${variant}, N=${n}) in ${s.toFixed(1)} s`);
        fake.clearCalls();
        const r = await runJob('reconcile', {
          project,
          env: { MARKETPLACE_PROVIDER_ID: PROVIDER, PROCUREMENT_ROOT_URL: fake.url, PROCUREMENT_STATIC_TOKEN: 'bench' },
          onProgress: () => `Procurement calls ${fake.calls.length}`,
        });
        r.procurementCalls = fake.calls.length;
        r.procurementGets = fake.countCalls('entitlements.get');
        if (r.reports.at(-1)?.more) r.passDone = await reconcileProgress(project);
        keep({ ...base, ...r });
        log(line(base, r));
        await fake.close();
      }
    }
  }

  // The notices job's one-off backfill (documents stored before pendingNoticeFor existed): O(active entitlements
  // with an end), once per database. Not in the plot.
  for (const n of jobs.includes('expiring') ? o.backfillSizes.split(',').filter(Boolean).map(Number) : []) {
    const due = Math.max(1, Math.round((n * o.duePercent) / 100));
    const project = projectId('bench-scale-bf');
    const t0 = performance.now();
    await seedSweeps(project, n, due, { legacy: true });
    seeding.push({ what: `backfill N=${n}`, docs: 2 * n, seconds: (performance.now() - t0) / 1000 });
    const pubsub = new PubSub({ projectId: project });
    await pubsub.createTopic('changes');
    const r = await runJob('expiring', { project, env: { CHANGE_EVENTS_TOPIC: 'changes' } });
    const base = { n, due, variant: 'backfill', total: n };
    keep({ ...base, ...r });
    log(line(base, r));
    await pubsub.close();
  }
}

async function report(o, sizes, jobs, rows, seeding) {
  const png = await plot(rows, jobs);
  const budgetNote =
    o.budgetMs >= 0
      ? `every run with a time budget of ${o.budgetMs} ms (one page per run at 0)`
      : "every run with the job's own time budget (LIFECYCLE_DEFAULTS.budgetMs)";
  await writeSection(
    'scale',
    `## Lifecycle jobs at ${sizes.map((n) => fmt.n(n)).join(', ')} entitlements

${
  FROM_ROWS
    ? `Measured in ${FROM_ROWS.length} run(s) of the benchmark, rendered together from their rows files (\`--from-rows\`), ${budgetNote}: ${FROM_ROWS.map((r) => `\`${r.prefix ? `${r.prefix} ` : ''}npm run bench:scale -- ${r.command}\` started ${r.at}, 1-minute load average ${r.load.toFixed(2)}`).join('; ')}.`
    : provenance('bench:scale', budgetNote)
}

Each job over N entitlements of which ${o.duePercent} % are due, and its **baseline**: the same due work with nothing
else in the database. Wall time and documents are per job, across all its runs until the report said \`more: false\`
(runs > 1: it resumed from its stored cursor). Reads and writes are Firestore documents as billed (a query that
returns nothing counts one read), counted in the job's own process: what production pays; "per due" divides by the
due items, "per N" by all entitlements. "Read requests": queries, document lookups and transaction reads sent.
"Query wait" is the wall time spent waiting for query results: on the emulator, which has no indexes and scans every
document of the project for each query, this is its scan and grows with N; production answers the same queries from
the composite indexes. "Rest of wall time": the transactions, writes, lookups, publishing and Procurement calls, and
the service's own work; "Service CPU" is the job process's own CPU time (user + system). Procurement calls are
counted by the fake. Memory: peak RSS of the job's process (the booted service; its heap is in the rows file). "Next
run, nothing due": the sweeps run once more after they finished (the next Scheduler call), not counted in the other
columns. Load:
the machine's 1-minute load average when the job ended (2 cores shared with other work).

${table(
  [
    'Job',
    'N',
    'Due',
    'Data',
    'Runs',
    'Wall time',
    'Reads',
    'Writes',
    'Reads per due / per N',
    'Writes per due / per N',
    'Read requests',
    'Query wait',
    'Rest of wall time',
    'Service CPU',
    'Procurement calls',
    'Peak RSS',
    'Next run, nothing due',
    'Load',
  ],
  rows.map((r) => [
    r.job,
    fmt.n(r.n),
    fmt.n(r.due),
    r.dataLabel ??
      (r.variant === 'full'
        ? `all ${fmt.n(r.n)}`
        : r.variant === 'backfill'
          ? `all ${fmt.n(r.n)}, unmarked (one-off backfill)`
          : 'due only (baseline)'),
    [
      String(r.runs),
      r.failedRuns.length ? `(+${r.failedRuns.length} failed: ${[...new Set(r.failedRuns)].join('; ')})` : '',
      r.reports.at(-1)?.more
        ? `**stopped, pass unfinished**${r.passDone?.share != null ? ` (Google's lists done, ${(r.passDone.share * 100).toFixed(0)} % of our entitlements compared)` : ''}`
        : '',
    ]
      .filter(Boolean)
      .join(' '),
    `${r.seconds.toFixed(2)} s`,
    fmt.n(r.reads),
    fmt.n(r.writes),
    `${fmt.n(r.reads / r.due, 1)} / ${fmt.n(r.reads / r.n, 3)}`,
    `${fmt.n(r.writes / r.due, 1)} / ${fmt.n(r.writes / r.n, 3)}`,
    fmt.n(r.queries),
    `${(r.queryMs / 1000).toFixed(1)} s${r.queryMaxMs === undefined ? '' : ` (longest ${(r.queryMaxMs / 1000).toFixed(1)} s)`}`,
    `${(r.seconds - r.queryMs / 1000).toFixed(1)} s`,
    `${(r.cpuMs / 1000).toFixed(1)} s`,
    r.procurementCalls === undefined ? '–' : `${fmt.n(r.procurementCalls)} (get ${fmt.n(r.procurementGets)})`,
    fmt.mb(r.peakRss),
    r.idle ? `reads ${fmt.n(r.idle.reads)}, writes ${fmt.n(r.idle.writes)}, ${r.idle.seconds.toFixed(2)} s` : '–',
    r.load.toFixed(1),
  ]),
)}

![Wall time, Firestore reads and peak RSS of each job against N, with its baseline (passes that finished)](${png})

Seeding (batched writes of ${BATCH}, ${SEED_CONCURRENCY} batches at once, straight into the emulator): ${seeding
      .map((s) => `${s.what}: ${fmt.n(s.docs)} documents in ${s.seconds.toFixed(1)} s`)
      .join('; ')}.`,
  );
}

function line(base, r) {
  return `${r.job} N=${base.n} ${base.variant}: ${r.runs} run(s), ${r.seconds.toFixed(2)} s, query wait ${(r.queryMs / 1000).toFixed(1)} s over ${r.queries} queries, CPU ${(r.cpuMs / 1000).toFixed(1)} s, load ${r.load.toFixed(1)}, reads ${r.reads}, writes ${r.writes}${r.procurementCalls === undefined ? '' : `, Procurement calls ${r.procurementCalls}`}, peak RSS ${fmt.mb(r.peakRss)}, heap ${fmt.mb(r.peakHeap)}; ${JSON.stringify(r.reports.at(-1))}`;
}

async function runJob(job, { project, env, onProgress }) {
  const child = startNode(`job-${job}`, [...buildFlags(), join(ROOT, 'bench', 'lib', 'scale-job.mjs')], {
    ...BUILD.env,
    NODE_ENV: 'production',
    CONFIG_DIR: join(ROOT, 'config'),
    GOOGLE_CLOUD_PROJECT: project,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
    LOG_LEVEL: 'warn',
    FIRESTORE_READ_DEADLINE_MS: String(OPTIONS.readDeadlineMs),
    BENCH_DIST_DIR: BUILD.dist,
    BENCH_JOB: job,
    ...(OPTIONS.budgetMs >= 0 ? { BENCH_BUDGET_MS: String(OPTIONS.budgetMs) } : {}),
    BENCH_MAX_RUNS: String(OPTIONS.maxRuns),
    // The sweeps also run once more with nothing due (reconciliation's next pass is a full one by design).
    BENCH_IDLE_RUN: job === 'reconcile' ? '0' : '1',
    ...env,
  });
  // A progress line after every run: log it, with what the caller adds (the fake's call count).
  child.stdout.on('data', (chunk) => {
    for (const l of chunk.toString().split('\n')) {
      if (!l.startsWith('{"progress"')) continue;
      const p = JSON.parse(l);
      log(
        `  ${job} after run ${p.runs}: ${p.seconds.toFixed(0)} s, reads ${p.reads}, writes ${p.writes}, peak RSS ${fmt.mb(p.peakRss)}${onProgress ? `, ${onProgress()}` : ''}; ${JSON.stringify(p.reports.at(-1))}`,
      );
    }
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const out = child
    .output()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"job"'));
  if (code !== 0 || !out) throw new Error(`${job} failed (${code}):\n${child.output()}`);
  return { ...JSON.parse(out), load: loadavg()[0] };
}

/**
 * How far a reconciliation pass stopped by --max-runs got: the stored phase pages our entitlements by id, and the
 * fake's ids are random UUIDs, so the position of the last id read in the id space is the share of that phase done.
 */
async function reconcileProgress(project) {
  const db = new Firestore({ projectId: project });
  try {
    const cursor = JSON.parse((await db.collection('cursors').doc('reconcile').get()).get('cursor') ?? 'null');
    if (!cursor || cursor.phase !== 'stored') return { phase: cursor?.phase ?? null, share: null };
    const hex = /^gcp:([0-9a-f]{8})/.exec(cursor.storedAfter ?? '')?.[1];
    return { phase: 'stored', share: hex ? parseInt(hex, 16) / 2 ** 32 : 0 };
  } finally {
    await db.terminate();
  }
}

/** Writes `docs` ([ref, data] pairs, produced lazily) in batches of 500, a few batches at once. */
async function writeAll(db, count, docAt) {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const from = next;
      if (from >= count) return;
      next = Math.min(count, from + BATCH);
      const batch = db.batch();
      for (let i = from; i < next; i++) {
        const [ref, data] = docAt(i);
        batch.set(ref, data);
      }
      await batch.commit();
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

function record({
  legacy = false,
  id,
  source,
  externalId,
  subject,
  status = 'active',
  active = true,
  validFrom,
  validUntil,
  now,
  extra = {},
}) {
  return {
    id,
    source,
    externalId,
    subject,
    product: 'demo',
    plan: null,
    providerProduct: 'demo',
    providerPlan: null,
    pendingPlan: null,
    status,
    active,
    providerState: 'paid',
    validFrom,
    validUntil,
    periodEnd: null,
    sourceUpdatedAt: new Date(now - 30 * DAY),
    version: 1,
    createdAt: new Date(now - 30 * DAY),
    updatedAt: new Date(now - 30 * DAY),
    lastEvent: { key: `seed-${id}`, type: 'SEED', at: new Date(now - 30 * DAY) },
    details: {},
    erasedAt: null,
    // What the ledger writes: the end whose expiring notice is still due (none sent in the seed).
    ...(legacy ? {} : { pendingNoticeFor: subject && validUntil ? validUntil : null }),
    ...extra,
  };
}

/**
 * `total` EasyCart entitlements: the first `due` past validUntil, the next `due` ending in a day (the notices'
 * window), the rest in 30 days; and `total` outbox entries, the first `due` unpublished.
 */
async function seedSweeps(project, total, due, { legacy = false } = {}) {
  const db = new Firestore({ projectId: project });
  const now = Date.now();
  const kinds = (i) => (i < due ? now - 3_600_000 : i < 2 * due ? now + DAY : now + 30 * DAY);
  const sweepTotal = total === due ? 2 * due : total; // the baseline holds both kinds of due work, nothing else
  await writeAll(db, sweepTotal, (i) => {
    const id = `easycart:seed-${i}`;
    return [
      db.collection('entitlements').doc(id),
      record({
        id,
        source: 'easycart',
        externalId: `seed-${i}`,
        subject: { key: `user:seed-${i}`, userId: `seed-${i}` },
        validFrom: new Date(now - 30 * DAY),
        validUntil: new Date(kinds(i)),
        now,
        legacy,
      }),
    ];
  });
  await writeAll(db, total, (i) => {
    const id = `seed-outbox-${String(i).padStart(7, '0')}`;
    const event = {
      type: 'entitlement.changed',
      id,
      schemaVersion: 1,
      entitlementId: `easycart:seed-${i}`,
      entitlementVersion: 1,
      source: 'easycart',
    };
    const published = i >= due ? { publishedAt: new Date(now - DAY), messageId: 'seeded' } : { publishedAt: null };
    return [
      db.collection('outbox').doc(id),
      { event, orderingKey: event.entitlementId, createdAt: new Date(now - DAY + i), attempts: 0, ...published },
    ];
  });
  // Every document carries pendingNoticeFor: the notices job's one-off backfill has nothing to do. `legacy`: as
  // stored before the field existed (no field, backfill not done).
  if (!legacy) {
    await db
      .collection('cursors')
      .doc('expiring-backfill')
      .set({ job: 'expiring-backfill', cursor: 'done', savedAt: new Date(now) });
  }
  await db.terminate();
}

/** `total` ACTIVE entitlements in the fake (100 per account) and in Firestore; the first `due` drifted (ours cancelled). */
async function seedMarketplace(project, fake, total, due) {
  const ok = (result) => {
    if (!result.ok) throw new Error(`fake refused: ${JSON.stringify(result.error)}`);
    return result.value;
  };
  const db = new Firestore({ projectId: project });
  const now = Date.now();
  const accounts = [];
  const google = [];
  for (let i = 0; i < total; i++) {
    if (i % 100 === 0) {
      const account = ok(fake.state.createAccount(PROVIDER, { signupApproved: true, accountEvent: 'NONE' })).account;
      accounts.push(account.name.split('/').pop());
    }
    const accountId = accounts.at(-1);
    const created = ok(
      fake.state.createEntitlement(PROVIDER, { accountId, product: PRODUCT, plan: i % 2 ? 'basic' : 'pro' }),
    );
    const id = created.entitlement.name.split('/').pop();
    ok(fake.state.approveEntitlement(PROVIDER, id));
    const active = ok(fake.state.activateEntitlement(PROVIDER, id)).entitlement;
    google.push({ id, accountId, plan: i % 2 ? 'basic' : 'pro', updateTime: active?.updateTime ?? null });
  }
  await writeAll(db, accounts.length, (i) => [
    db.collection('accounts').doc(accounts[i]),
    { id: accounts[i], signup: { state: 'APPROVED' }, updatedAt: new Date(now) },
  ]);
  await writeAll(db, total, (i) => {
    const g = google[i];
    const id = `gcp:${g.id}`;
    return [
      db.collection('entitlements').doc(id),
      record({
        id,
        source: 'gcp',
        externalId: g.id,
        subject: { key: `gcp-account:${g.accountId}`, accountId: g.accountId },
        status: i < due ? 'cancelled' : 'active',
        active: i >= due,
        validFrom: null,
        validUntil: null,
        now,
        extra: { providerPlan: g.plan, details: { marketplace: { updateTime: g.updateTime, accountId: g.accountId } } },
      }),
    ];
  });
  await db.terminate();
}

/**
 * Three panels against N (log): wall time and Firestore reads (log), peak RSS (linear, with the 256 MB target), one
 * line per job over all its data and a dashed one for its baseline (the same due work alone), drawn as SVG and
 * rendered to PNG by Debian's Chromium.
 */
async function plot(all, jobs) {
  // Finished passes over the full data and their baselines; a pass stopped unfinished (--max-runs) is in the table only.
  const rows = all.filter((r) => ['full', 'baseline'].includes(r.variant) && !r.reports.at(-1)?.more);
  const W = 460;
  const H = 320;
  const M = { l: 64, r: 40, t: 34, b: 44 };
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  // `linear`: a linear y axis from 0 with this step (memory), else log10.
  const panel = (x0, title, value, unit, target, linear) => {
    const values = [...rows.map(value), ...(target ? [target.value] : [])].filter((v) => v > 0);
    const lo = linear ? 0 : Math.floor(Math.log10(Math.min(...values)));
    const hi = linear
      ? Math.ceil((Math.max(...values) * 1.1) / linear) * linear
      : Math.ceil(Math.log10(Math.max(...values)));
    const nLo = Math.log10(ns[0]);
    const nHi = Math.log10(ns.at(-1));
    const px = (n) => x0 + M.l + ((Math.log10(n) - nLo) / Math.max(1e-9, nHi - nLo)) * (W - M.l - M.r);
    const py = linear
      ? (v) => M.t + (1 - v / hi) * (H - M.t - M.b)
      : (v) => M.t + (1 - (Math.log10(v) - lo) / Math.max(1, hi - lo)) * (H - M.t - M.b);
    const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`];
    const ticks = linear
      ? Array.from({ length: hi / linear + 1 }, (_, i) => [i * linear, 0])
      : Array.from({ length: hi - lo + 1 }, (_, i) => [10 ** (lo + i), lo + i < 0 ? -(lo + i) : 0]);
    for (const [v, digits] of ticks) {
      parts.push(
        `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
        `<text x="${x0 + M.l - 6}" y="${py(v) + 4}" text-anchor="end">${fmt.n(v, digits)}${unit}</text>`,
      );
    }
    for (const n of ns) {
      parts.push(`<text x="${px(n)}" y="${H - M.b + 18}" text-anchor="middle">N=${fmt.n(n)}</text>`);
    }
    if (target) {
      const y = py(target.value).toFixed(1);
      parts.push(
        `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${y}" y2="${y}" stroke="#000" stroke-dasharray="2 3"/>`,
        `<text x="${x0 + W - M.r}" y="${Number(y) - 4}" text-anchor="end">${target.label}</text>`,
      );
    }
    for (const job of jobs) {
      for (const variant of ['full', 'baseline']) {
        const points = rows
          .filter((r) => r.job === job && r.variant === variant && value(r) > 0)
          .sort((a, b) => a.n - b.n)
          .map((r) => `${px(r.n).toFixed(1)},${py(value(r)).toFixed(1)}`);
        if (!points.length) continue;
        const dash = variant === 'baseline' ? ' stroke-dasharray="5 4"' : '';
        parts.push(
          `<polyline fill="none" stroke="${COLORS[job] ?? '#000'}" stroke-width="2"${dash} points="${points.join(' ')}"/>`,
        );
        for (const p of points) {
          const [x, y] = p.split(',');
          parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${COLORS[job] ?? '#000'}"/>`);
        }
      }
    }
    return parts.join('');
  };
  const legend = jobs
    .map(
      (job, i) =>
        `<line x1="${80 + i * 110}" x2="${110 + i * 110}" y1="${H + 12}" y2="${H + 12}" stroke="${COLORS[job]}" stroke-width="2"/><text x="${116 + i * 110}" y="${H + 16}">${job}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H + 40}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'Wall time per job (all runs; emulator, no indexes)', (r) => r.seconds, ' s')}
${panel(W, 'Firestore documents read per job (billed)', (r) => r.reads, '')}
${panel(2 * W, 'Peak RSS of the job process (MiB)', (r) => r.peakRss / 2 ** 20, '', { value: 256e6 / 2 ** 20, label: 'target 256 MB' }, 50)}
${legend}<text x="${80 + jobs.length * 110}" y="${H + 16}">solid: N entitlements; dashed: baseline (the due work alone; on the reads panel it lies under the solid line where equal)</text>
</svg>`;
  const { launchChromium } = await import('../scripts/chromium.mjs');
  const browser = await launchChromium({ viewport: { width: 3 * W, height: H + 40 } });
  try {
    const page = await browser.context.newPage();
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    const file = 'performance-scale.png';
    writeFileSync(
      join(ROOT, 'docs', file),
      await page.screenshot({ clip: { x: 0, y: 0, width: 3 * W, height: H + 40 } }),
    );
    log(`wrote docs/${file}`);
    return file;
  } finally {
    await browser.close();
  }
}
