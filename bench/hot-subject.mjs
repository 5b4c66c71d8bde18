// npm run bench:hot-subject [-- --changes 1000 --processes 1,2 --transports webhook,pubsub-pull --limit-seconds 900]
//
// A hot subject (issue 22): `changes` new entitlements for one subject (one e-mail with many purchases) arrive in
// one burst, split over P service processes (Cloud Run instances), every change through the ledger at once, as
// deliveries of the given transport (it sets how long a change may wait in the ledger's queue). Each change
// rewrites the subject's access/ document in a transaction: within a process the changes of one subject are
// queued and committed in groups (TransactionRunner), across processes the transactions contend on the
// emulator's locks. A failed delivery is sent again at once (the harshest provider). Figures: time to converge
// (the burst sent → the last change applied), deliveries and re-sent deliveries (each failure is one, what a nack
// or a 503 is), why they failed, Firestore transactions and attempts (bench/lib/transaction-counter.mjs),
// outcomes (`duplicate`: an earlier delivery's transaction committed after its caller stopped waiting), and the
// documents at the end: every entitlement in access/ (no lost update), one outbox entry per change (applied
// once), the access document's size. `--baseline <dir>`: also runs another build's unbundled output (`<dir>/src`,
// e.g. main's `tsc -p tsconfig.build.json --outDir <dir>`, with node_modules reachable) in the same run, with the
// first transport only (a build without per-transport queue bounds treats them all alike), for a before/after.
import { Firestore } from '@google-cloud/firestore';
import { tmpdir } from 'node:os';
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
  sleep,
  startNode,
  table,
  writeSection,
} from './lib/common.mjs';
import { collectCounts } from './lib/counts.mjs';

run(async () => {
  const o = options({
    changes: 1000,
    processes: '1,2',
    transports: 'webhook,pubsub-pull',
    limitSeconds: 900,
    baseline: '',
  });
  const build = await privateBuild();
  await emulators();
  const rows = [];
  const transports = o.transports.split(',');
  const counts = o.processes.split(',').map(Number);
  const runs = [
    ...(o.baseline ? counts.map((p) => ({ name: 'baseline', dist: o.baseline, transport: transports[0], p })) : []),
    ...transports.flatMap((transport) => counts.map((p) => ({ name: 'this build', dist: build.dist, transport, p }))),
  ];
  for (const { name, dist, transport, p } of runs) {
    const project = projectId('bench-hot');
    const children = [];
    const files = [];
    for (let i = 0; i < p; i++) {
      const file = join(tmpdir(), `${project}-${i}.json`);
      files.push(file);
      const child = startNode(
        `hot-${i}`,
        [
          ...build.flags,
          '--import',
          join(ROOT, 'bench', 'lib', 'transaction-counter.mjs'),
          join(ROOT, 'bench', 'lib', 'hot-subject-worker.mjs'),
        ],
        {
          ...build.env,
          NODE_ENV: 'production',
          CONFIG_DIR: join(ROOT, 'config'),
          GOOGLE_CLOUD_PROJECT: project,
          FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
          LOG_LEVEL: 'warn',
          BENCH_DIST_DIR: dist,
          BENCH_FROM: String(Math.floor((i * o.changes) / p)),
          BENCH_TO: String(Math.floor(((i + 1) * o.changes) / p)),
          BENCH_COUNTS_FILE: file,
          BENCH_TRANSPORT: transport,
          BENCH_LIMIT_MS: String(o.limitSeconds * 1000),
        },
      );
      const deadline = Date.now() + 90_000;
      while (!child.output().includes('ready')) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`worker did not start:\n${child.output()}`);
        await sleep(50);
      }
      children.push(child);
    }
    const t0 = performance.now();
    const exits = children.map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const c of children) c.kill('SIGUSR2');
    await Promise.all(exits);
    const wall = (performance.now() - t0) / 1000;
    const results = children.map((c) => {
      const line = c
        .output()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"seconds"'));
      if (!line) throw new Error(`a worker gave no result:\n${c.output()}`);
      return JSON.parse(line);
    });
    const { transactions, attempts } = collectCounts(files);
    const db = new Firestore({ projectId: project });
    const access = (await db.collection('access').where('subjectKey', '==', 'email:hot@example.com').get()).docs[0];
    const entries = Object.keys(access?.get('entitlements') ?? {}).length;
    const bytes = access ? Buffer.byteLength(JSON.stringify(access.data())) : 0;
    // Applied once each: one outbox entry (created with the change, `create` fails on a second one) per change.
    const outbox = (await db.collection('outbox').count().get()).data().count;
    const applied = (await db.collection('events').where('outcome', '==', 'applied').count().get()).data().count;
    await db.terminate();
    const outcomes = {};
    const failures = {};
    for (const r of results) {
      for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    }
    const converged = !outcomes.unfinished && entries === o.changes;
    const row = {
      name,
      transport,
      p,
      seconds: Math.max(...results.map((r) => r.seconds)),
      wall,
      converged,
      transactions,
      attempts,
      deliveries: results.reduce((n, r) => n + r.deliveries, 0),
      resent: results.reduce((n, r) => n + r.resent, 0),
      failures,
      entries,
      outbox,
      applied,
      bytes,
      outcomes,
    };
    log(
      `${name}, ${transport}, ${p} process(es): ${o.changes} changes ${converged ? 'converged' : 'NOT converged'} in ${row.seconds.toFixed(1)} s; ${JSON.stringify(row)}`,
    );
    rows.push(row);
  }
  await writeSection(
    'hot-subject',
    `## Hot subject: ${fmt.n(o.changes)} changes for one access document

${provenance('bench:hot-subject')}

${fmt.n(o.changes)} new entitlements of one subject sent at once through the ledger, split over P service processes;
a failed delivery is sent again at once; a run stops re-sending after ${fmt.n(o.limitSeconds)} s.

${table(
  [
    'Build',
    'Transport',
    'Processes',
    'Time to converge',
    'Changes/s',
    'Deliveries (re-sent)',
    'Why re-sent',
    'Transactions (attempts)',
    'Entitlements in access/ at the end',
    'Outbox entries',
    'Access document size',
    'Outcomes',
  ],
  rows.map((r) => [
    r.name,
    r.transport,
    String(r.p),
    r.converged ? `${r.seconds.toFixed(1)} s` : `not converged (${r.seconds.toFixed(1)} s)`,
    fmt.n(o.changes / r.seconds, 1),
    `${fmt.n(r.deliveries)} (${fmt.n(r.resent)})`,
    Object.entries(r.failures)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ') || 'none',
    `${fmt.n(r.transactions)} (${fmt.n(r.attempts)})`,
    `${fmt.n(r.entries)} of ${fmt.n(o.changes)}${r.entries === o.changes ? ' (no lost update)' : ' (**lost updates**)'}`,
    fmt.n(r.outbox),
    `${Math.round(r.bytes / 1024)} KiB`,
    Object.entries(r.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]),
)}`,
  );
});
