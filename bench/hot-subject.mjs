// npm run bench:hot-subject [-- --changes 1000 --processes 1,2]
//
// A hot subject (issue 22): `changes` new entitlements for one subject (one e-mail with many purchases) arrive in
// one burst, split over P service processes (Cloud Run instances), every change through the ledger at once. Each
// change rewrites the subject's access/ document in a transaction: within a process the transactions on it are
// queued (TransactionRunner's KeyedMutex), across processes they contend on the emulator's locks. Figures: time to
// converge (first change sent → the last applied), transaction attempts per transaction (bench/lib/
// transaction-counter.mjs), changes re-sent after a failure (a timed-out transaction), and the access document at
// the end: every entitlement in it (no lost update) and its size.
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
  const o = options({ changes: 1000, processes: '1,2' });
  const build = await privateBuild();
  await emulators();
  const rows = [];
  for (const p of o.processes.split(',').map(Number)) {
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
          BENCH_DIST_DIR: build.dist,
          BENCH_FROM: String(Math.floor((i * o.changes) / p)),
          BENCH_TO: String(Math.floor(((i + 1) * o.changes) / p)),
          BENCH_COUNTS_FILE: file,
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
    const seconds = (performance.now() - t0) / 1000;
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
    await db.terminate();
    const outcomes = {};
    for (const r of results) for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
    const row = {
      p,
      seconds,
      transactions,
      attempts,
      resent: results.reduce((n, r) => n + r.resent, 0),
      entries,
      bytes,
      outcomes,
    };
    log(`${p} process(es): ${o.changes} changes converged in ${seconds.toFixed(1)} s; ${JSON.stringify(row)}`);
    rows.push(row);
  }
  await writeSection(
    'hot-subject',
    `## Hot subject: ${fmt.n(o.changes)} changes for one access document

${provenance('bench:hot-subject')}

${fmt.n(o.changes)} new entitlements of one subject sent at once through the ledger, split over P service processes.

${table(
  [
    'Processes',
    'Time to converge',
    'Changes/s',
    'Transaction attempts per transaction',
    'Re-sent after a failure',
    'Entitlements in access/ at the end',
    'Access document size',
    'Outcomes',
  ],
  rows.map((r) => [
    String(r.p),
    `${r.seconds.toFixed(1)} s`,
    fmt.n(o.changes / r.seconds, 1),
    fmt.ratio(r.attempts / r.transactions),
    String(r.resent),
    `${fmt.n(r.entries)} of ${fmt.n(o.changes)}${r.entries === o.changes ? ' (no lost update)' : ' (**lost updates**)'}`,
    fmt.mb(r.bytes),
    Object.entries(r.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]),
)}`,
  );
});
