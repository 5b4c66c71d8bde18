// npm run bench:usage [-- --entitlements 1000 --records 100000 --concurrency 8]
//
// Usage reporting in one run: `records` usage records spread evenly over `entitlements` Marketplace
// entitlements (one metric, `api_calls`), all inside the last closed hour, reported to the fake Service Control.
// Contenders, each in its own process and its own Firestore project with the same seed:
//   service   the built service as the container runs it (`node <Dockerfile CMD flags> dist/service.cjs`), its
//             in-process timer running the usage reporter (LIFECYCLE_TIMER_SECONDS=1, USAGE_REPORTING=true);
//             timed from the reporter run's `startedAt` to its `finishedAt` (its `runs/` record)
//   baseline  bench/baseline/usage-reporter.mjs: the same reads, sums, check + report and writes, without the
//             claim / lease / checkpoint transactions (not crash-safe: the floor of the work)
// Figures: records/s, Service Control calls, peak RSS of the process (VmHWM, start-up included).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFirestoreEmulator } from '../scripts/emulators.mjs';
import {
  ROOT,
  fmt,
  freePort,
  log,
  onExit,
  options,
  privateBuild,
  projectId,
  provenance,
  rss,
  run,
  serviceCommand,
  sleep,
  startNode,
  table,
  writeSection,
} from './lib/common.mjs';

const SERVICE = 'demo-product.endpoints.demo-entitlements.cloud.goog';
const HOUR = 3_600_000;

run(async () => {
  const o = options({ entitlements: 1000, records: 100_000, concurrency: 8 });
  const build = await privateBuild();
  // A fresh Firestore emulator per contender: the emulator slows down with every document it holds.
  let emulator = null;
  const freshEmulator = async () => {
    await emulator?.stop();
    emulator = await startFirestoreEmulator();
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
    log(`Firestore emulator up (${emulator.host})`);
  };
  onExit(() => emulator?.stop());
  const { Firestore, Timestamp } = await import('@google-cloud/firestore');
  const { startFakeServiceControl } = await import(
    pathToFileURL(join(build.tools, 'fake-service-control', 'server.js')).href
  );
  const fake = await startFakeServiceControl();

  const seed = async (project) => {
    const db = new Firestore({ projectId: project });
    const now = Date.now();
    const closed = Math.floor(now / HOUR) * HOUR;
    const since = Timestamp.fromMillis(closed - HOUR);
    const started = Date.now();
    const writes = [];
    for (let e = 0; e < o.entitlements; e++) {
      const id = `gcp:bench-${String(e).padStart(5, '0')}`;
      writes.push([
        db.collection('entitlements').doc(id),
        {
          id,
          source: 'gcp',
          externalId: id.slice(4),
          subject: { key: `gcp-account:acc-${e}`, accountId: `acc-${e}` },
          product: 'demo',
          plan: 'pro',
          providerProduct: SERVICE,
          providerPlan: 'pro',
          pendingPlan: null,
          status: 'active',
          active: true,
          providerState: 'ENTITLEMENT_ACTIVE',
          validFrom: Timestamp.fromMillis(now - 86_400_000),
          validUntil: null,
          periodEnd: null,
          sourceUpdatedAt: Timestamp.fromMillis(now),
          version: 1,
          createdAt: Timestamp.fromMillis(now),
          updatedAt: Timestamp.fromMillis(now),
          lastEvent: { key: 'seed', type: 'ENTITLEMENT_ACTIVE', at: Timestamp.fromMillis(now) },
          details: { marketplace: { usageReportingId: `project_number:${100000 + e}` } },
          erasedAt: null,
        },
      ]);
      writes.push([
        db.collection('usage').doc(id),
        {
          entitlementId: id,
          since,
          open: true,
          checkpoints: {},
          stopped: null,
          finalAt: null,
          lastReportedAt: null,
          createdAt: since,
          updatedAt: since,
        },
      ]);
    }
    for (let r = 0; r < o.records; r++) {
      const e = r % o.entitlements;
      const id = `gcp:bench-${String(e).padStart(5, '0')}`;
      writes.push([
        db.collection('usage').doc(id).collection('records').doc(`r-${r}`),
        {
          metric: 'api_calls',
          value: 1 + (r % 7),
          time: Timestamp.fromMillis(closed - HOUR + (r % 3_500) * 1_000),
          reported: false,
        },
      ]);
    }
    for (let i = 0; i < writes.length; i += 4 * 500) {
      await Promise.all(
        [0, 1, 2, 3].map((k) => {
          const slice = writes.slice(i + k * 500, i + (k + 1) * 500);
          if (!slice.length) return null;
          const batch = db.batch();
          for (const [ref, data] of slice) batch.set(ref, data);
          return batch.commit();
        }),
      );
    }
    log(`seeded ${project}: ${fmt.n(writes.length)} documents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return db;
  };
  const expectedSum = Array.from({ length: o.records }, (_, r) => 1 + (r % 7)).reduce((a, b) => a + b, 0);
  const reportedSum = (consumerPrefix) =>
    fake
      .reported()
      .filter((op) => String(op.consumerId).startsWith(consumerPrefix))
      .reduce((a, op) => a + Number(op.metricValueSets[0].metricValues[0].int64Value), 0);

  // Baseline first, on its own project.
  await freshEmulator();
  const baselineProject = projectId('bench-usage-base');
  const baseDb = await seed(baselineProject);
  fake.clear();
  const baseline = startNode('baseline', [join(ROOT, 'bench', 'baseline', 'usage-reporter.mjs')], {
    GOOGLE_CLOUD_PROJECT: baselineProject,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    SC_URL: fake.url,
    SERVICE,
    CONCURRENCY: String(o.concurrency),
  });
  await new Promise((r) => baseline.once('exit', r));
  const b = JSON.parse(
    baseline
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1),
  );
  const baseCalls = fake.received.length;
  const baseSum = reportedSum('project_number:');
  log(`baseline: ${fmt.n(b.records)} records in ${fmt.ms(b.ms)}, ${baseCalls} calls`);
  await baseDb.terminate();

  // The service.
  await freshEmulator();
  const serviceProject = projectId('bench-usage-svc');
  const db = await seed(serviceProject);
  fake.clear();
  const port = await freePort();
  const service = startNode('service', [...build.flags, build.main], {
    ...build.env,
    PORT: String(port),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    GOOGLE_CLOUD_PROJECT: serviceProject,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    CONFIG_DIR: join(ROOT, 'config'),
    USAGE_REPORTING: 'true',
    SERVICE_CONTROL_ROOT_URL: fake.url,
    SERVICE_CONTROL_STATIC_TOKEN: 'bench',
    LIFECYCLE_TIMER_SECONDS: '1',
  });
  const deadline = Date.now() + 3_600_000;
  let runs = [];
  while (Date.now() < deadline) {
    const snap = await db.collection('runs').where('job', '==', 'usage').get();
    runs = snap.docs.map((d) => d.data());
    const done = runs.find((r) => r.ok && (r.figures?.['windows.reported'] ?? 0) > 0);
    if (done) break;
    if (service.exitCode !== null) throw new Error(`the service exited:\n${service.output()}`);
    await sleep(250);
  }
  const first = runs.find((r) => r.ok && (r.figures?.['windows.reported'] ?? 0) > 0);
  if (!first) throw new Error(`no usage run reported within an hour:\n${service.output()}`);
  const peak = rss(service.pid).peak;
  await service.stop();
  const ms = first.finishedAt.toMillis() - first.startedAt.toMillis();
  const f = first.figures;
  const serviceCalls = fake.received.length;
  const serviceSum = reportedSum('project_number:');
  await db.terminate();
  await fake.close();

  const svcRate = (f['records.bound'] / ms) * 1000;
  const baseRate = (b.records / b.ms) * 1000;
  const section = `
## Usage reporting (\`bench:usage\`)

${provenance('bench:usage')}

${fmt.n(o.records)} usage records over ${fmt.n(o.entitlements)} Marketplace entitlements (one \`api_calls\` metric, all in
the last closed hour), reported in one run to the fake Service Control on the Firestore emulator; each contender on
its own project with the same seed. **service**: the built service as the container runs it
(\`${serviceCommand(build)}\`), its in-process timer running the reporter; timed by its \`runs/\` record (the
reporter run's \`startedAt\` → \`finishedAt\`). **baseline**: \`bench/baseline/usage-reporter.mjs\`, the same reads,
sums, one check and one report per entitlement and the same record writes, in a bare script without the claim, lease
and checkpoint transactions that make the service's reports exactly-once (the floor of the work, not crash-safe).
Peak RSS: the process's VmHWM, start-up included.

${table(
  ['Contender', 'Records', 'Time', 'Records/s', 'Service Control calls', 'Reported sum', 'Peak RSS'],
  [
    [
      'service (reporter run)',
      fmt.n(f['records.bound']),
      fmt.ms(ms),
      fmt.n(svcRate),
      fmt.n(serviceCalls),
      fmt.n(serviceSum),
      fmt.mb(peak),
    ],
    [
      'baseline (bare script)',
      fmt.n(b.records),
      fmt.ms(b.ms),
      fmt.n(baseRate),
      fmt.n(baseCalls),
      fmt.n(baseSum),
      fmt.mb(b.peak),
    ],
  ],
)}

Service / baseline records/s: **${fmt.ratio(svcRate / baseRate)}**. Both reported the seeded sum
(${fmt.n(expectedSum)}): ${serviceSum === expectedSum && baseSum === expectedSum ? 'yes' : '**no**'}. The service's
calls: ${fmt.n(f['serviceControlCalls.check'])} checks and ${fmt.n(f['serviceControlCalls.report'])} reports (one
window per entitlement and metric: ${fmt.n(f['windows.reported'])} reported), in ${fmt.n(Math.ceil(o.records / o.entitlements / 400) * o.entitlements)}
binding transactions of at most 400 records each.
`;
  process.stdout.write(section);
  await writeSection('usage', section);
});
