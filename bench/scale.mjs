// npm run bench:scale [-- --sizes 1000,10000,100000 --due-percent 1 --budget-ms 0 --jobs expire,expiring,publish,reconcile]
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
// process), Procurement API calls (counted by the fake), peak RSS and heap. Seeding goes straight into the
// emulator with batched writes. Writes a PNG plot (SVG rendered by Debian's Chromium) to docs/performance-scale.png.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { writeFileSync } from 'node:fs';
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
let OPTIONS;
const buildFlags = () => BUILD.flags;

run(async () => {
  const o = options({
    sizes: '1000,10000,100000',
    duePercent: 1,
    budgetMs: -1,
    jobs: 'expire,expiring,publish,reconcile',
  });
  const sizes = o.sizes.split(',').map(Number);
  const jobs = o.jobs.split(',');
  OPTIONS = o;
  const build = (BUILD = await privateBuild());
  await emulators();
  const { startFakeProcurement } = await import(join(build.tools, 'fake-procurement', 'server.js'));
  const rows = [];
  const seeding = [];
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
          rows.push({ ...base, ...r });
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
        });
        r.procurementCalls = fake.calls.length;
        r.procurementGets = fake.countCalls('entitlements.get');
        rows.push({ ...base, ...r });
        log(line(base, r));
        await fake.close();
      }
    }
  }

  const png = await plot(rows, jobs);
  const budgetNote =
    o.budgetMs >= 0
      ? `every run with a time budget of ${o.budgetMs} ms (one page per run at 0)`
      : "every run with the job's own time budget (LIFECYCLE_DEFAULTS.budgetMs)";
  await writeSection(
    'scale',
    `## Lifecycle jobs at ${sizes.map((n) => fmt.n(n)).join(', ')} entitlements

${provenance('bench:scale', budgetNote)}

Each job over N entitlements of which ${o.duePercent} % are due, and its **baseline**: the same due work with nothing
else in the database. Wall time and documents are per job, across all its runs until the report said \`more: false\`
(runs > 1: it resumed from its stored cursor). Reads and writes are Firestore documents as billed (a query that
returns nothing counts one read), counted in the job's own process; "per due" divides by the due items.
Procurement calls are counted by the fake. Memory: peak RSS and heap of the job's process (the booted service).

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
    'Reads per due',
    'Procurement calls',
    'Peak RSS',
    'Peak heap',
  ],
  rows.map((r) => [
    r.job,
    fmt.n(r.n),
    fmt.n(r.due),
    r.variant === 'full' ? `all ${fmt.n(r.n)}` : 'due only (baseline)',
    r.failedRuns.length
      ? `${r.runs} (+${r.failedRuns.length} failed: ${[...new Set(r.failedRuns)].join('; ')})`
      : String(r.runs),
    `${r.seconds.toFixed(2)} s`,
    fmt.n(r.reads),
    fmt.n(r.writes),
    fmt.n(r.reads / r.due, 1),
    r.procurementCalls === undefined ? '–' : `${fmt.n(r.procurementCalls)} (get ${fmt.n(r.procurementGets)})`,
    fmt.mb(r.peakRss),
    fmt.mb(r.peakHeap),
  ]),
)}

![Wall time and Firestore reads of each job against N, with its baseline](${png})

Seeding (batched writes of ${BATCH}, ${SEED_CONCURRENCY} batches at once, straight into the emulator): ${seeding
      .map((s) => `${s.what}: ${fmt.n(s.docs)} documents in ${s.seconds.toFixed(1)} s`)
      .join('; ')}.`,
  );
});

function line(base, r) {
  return `${r.job} N=${base.n} ${base.variant}: ${r.runs} run(s), ${r.seconds.toFixed(2)} s, reads ${r.reads}, writes ${r.writes}${r.procurementCalls === undefined ? '' : `, Procurement calls ${r.procurementCalls}`}, peak RSS ${fmt.mb(r.peakRss)}, heap ${fmt.mb(r.peakHeap)}; ${JSON.stringify(r.reports.at(-1))}`;
}

async function runJob(job, { project, env }) {
  const child = startNode(`job-${job}`, [...buildFlags(), join(ROOT, 'bench', 'lib', 'scale-job.mjs')], {
    ...BUILD.env,
    NODE_ENV: 'production',
    CONFIG_DIR: join(ROOT, 'config'),
    GOOGLE_CLOUD_PROJECT: project,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
    LOG_LEVEL: 'warn',
    BENCH_DIST_DIR: BUILD.dist,
    BENCH_JOB: job,
    ...(OPTIONS.budgetMs >= 0 ? { BENCH_BUDGET_MS: String(OPTIONS.budgetMs) } : {}),
    ...env,
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const out = child
    .output()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"job"'));
  if (code !== 0 || !out) throw new Error(`${job} failed (${code}):\n${child.output()}`);
  return JSON.parse(out);
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
    ...extra,
  };
}

/**
 * `total` EasyCart entitlements: the first `due` past validUntil, the next `due` ending in a day (the notices'
 * window), the rest in 30 days; and `total` outbox entries, the first `due` unpublished.
 */
async function seedSweeps(project, total, due) {
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

const COLORS = { expire: '#d62728', expiring: '#1f77b4', publish: '#2ca02c', reconcile: '#9467bd' };

/**
 * Two log-log panels (wall time and Firestore reads against N), one line per job over all its data and a dashed
 * one for its baseline (the same due work alone), drawn as SVG and rendered to PNG by Debian's Chromium.
 */
async function plot(rows, jobs) {
  const W = 460;
  const H = 320;
  const M = { l: 64, r: 40, t: 34, b: 44 };
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const panel = (x0, title, value, unit) => {
    const values = rows.map(value).filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(Math.max(...values)));
    const nLo = Math.log10(ns[0]);
    const nHi = Math.log10(ns.at(-1));
    const px = (n) => x0 + M.l + ((Math.log10(n) - nLo) / Math.max(1e-9, nHi - nLo)) * (W - M.l - M.r);
    const py = (v) => M.t + (1 - (Math.log10(v) - lo) / Math.max(1, hi - lo)) * (H - M.t - M.b);
    const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`];
    for (let e = lo; e <= hi; e++) {
      parts.push(
        `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${py(10 ** e)}" y2="${py(10 ** e)}" stroke="#ddd"/>`,
        `<text x="${x0 + M.l - 6}" y="${py(10 ** e) + 4}" text-anchor="end">${fmt.n(10 ** e, e < 0 ? -e : 0)}${unit}</text>`,
      );
    }
    for (const n of ns) {
      parts.push(`<text x="${px(n)}" y="${H - M.b + 18}" text-anchor="middle">N=${fmt.n(n)}</text>`);
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
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 40}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'Wall time per job (all runs)', (r) => r.seconds, ' s')}
${panel(W, 'Firestore documents read per job', (r) => r.reads, '')}
${legend}<text x="${80 + jobs.length * 110}" y="${H + 16}">solid: N entitlements; dashed: baseline (the due work alone; on the reads panel it lies under the solid line where equal)</text>
</svg>`;
  const { launchChromium } = await import('../scripts/chromium.mjs');
  const browser = await launchChromium({ viewport: { width: 2 * W, height: H + 40 } });
  try {
    const page = await browser.context.newPage();
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
    const file = 'performance-scale.png';
    writeFileSync(
      join(ROOT, 'docs', file),
      await page.screenshot({ clip: { x: 0, y: 0, width: 2 * W, height: H + 40 } }),
    );
    log(`wrote docs/${file}`);
    return file;
  } finally {
    await browser.close();
  }
}
