// npm run bench:consumers [-- --entitlements 1500 --processes 1,2,4 --warmup 300]
//
// The Marketplace consumer as several Cloud Run instances would run it (issue 22): 1, 2 and 4 service processes
// pull from the same Pub/Sub emulator subscription. Each entitlement is a fresh order waiting for approval
// (ENTITLEMENT_CREATION_REQUESTED; policy approves it: one entitlements.approve call), and every message is
// published twice, as Pub/Sub's at-least-once delivery may hand one message to two instances. Timed from the
// first publish until every entitlement was approved at the fake and every event document exists.
// Figures: distinct events/s, duplicate Procurement approve calls (counted at the fake; must be 0), Firestore
// transaction attempts per transaction (retries, counted in each process by bench/lib/transaction-counter.mjs),
// nacks (the processes' "message nacked" lines and retry outcomes). Processes run the unbundled build
// (dist/src/main.js) so the counter can hook the Firestore SDK; same code as the bundle.
// What limits the scaling on one machine is measured too: the share of the machine's CPU time that was busy during
// each timed window (/proc/stat, every core), split into the service processes, the emulators and the rest (this
// benchmark, the fake Procurement API, the kernel), and the events/s that CPU would allow at that cost per event.
// The emulators are JVMs: one untimed round warms their JIT first, so the 1-process row does not pay for it.
import { Firestore } from '@google-cloud/firestore';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT,
  emulators,
  fmt,
  freePort,
  log,
  options,
  privateBuild,
  projectId,
  provenance,
  run,
  sleep,
  startNode,
  table,
  verdict,
  waitForStatus,
  writeSection,
} from './lib/common.mjs';
import { collectCounts } from './lib/counts.mjs';
import { cpuMs, emulatorCpuMs, warmEmulators } from './lib/contenders.mjs';

const PROVIDER = 'demo-provider';
const PRODUCT = 'demo-product.endpoints.demo-entitlements.cloud.goog';

run(async () => {
  const o = options({ entitlements: 1500, processes: '1,2,4', warmup: 300 });
  const build = await privateBuild();
  const { pids } = await emulators();
  const { startFakeProcurement } = await import(join(build.tools, 'fake-procurement', 'server.js'));
  const round = async (p, count) => {
    const fake = await startFakeProcurement({ providerIds: [PROVIDER] });
    try {
      return await measure(p, { build, fake, count, emulatorCpu: () => emulatorCpuMs(pids) });
    } finally {
      await fake.close();
    }
  };
  const warmup = o.warmup
    ? await warmEmulators({
        pids,
        step: async () => (await round(1, o.warmup), o.warmup),
        min: o.warmup,
        max: 5 * o.warmup,
      })
    : null;
  const results = [];
  for (const p of o.processes.split(',').map(Number)) {
    const r = await round(p, o.entitlements);
    log(
      `${p} process(es): ${fmt.n(r.eventsPerSecond, 1)} events/s, duplicate approvals ${r.duplicateApprovals}, attempts per transaction ${fmt.ratio(r.attemptsPerTransaction)}, nacks per event ${fmt.ratio(r.nacksPerEvent)}, machine CPU ${pct(r.machineBusy)} busy (steal ${pct(r.machineSteal)}), CPU ceiling ${fmt.n(r.cpuCeiling, 1)} events/s`,
    );
    results.push({ p, ...r });
  }
  const one = results.find((r) => r.p === 1);
  const four = results.find((r) => r.p === 4);
  const scaling = one && four ? four.eventsPerSecond / one.eventsPerSecond : NaN;
  const last = results.at(-1);
  await writeSection(
    'consumers',
    `## Marketplace consumer on 1, 2 and 4 processes

${provenance('bench:consumers')}

${o.entitlements} orders waiting for approval, each message published twice (at-least-once delivery handing one
message to two instances), pulled by P service processes from one subscription (each with the service's flow control).
${warmup ? `Before the rows, ${warmup.items} untimed orders on one process warmed the emulators' JIT (see warmEmulators).` : 'No warm-up round (--warmup 0).'}
Machine CPU: busy share of all ${availableParallelism()} cores during the timed window (/proc/stat), and who used it
(service processes / emulators / the rest: this benchmark, the fake Procurement API, the kernel). CPU ceiling: the
events/s the machine's cores would allow at the row's CPU per event (all of it, every process).

${table(
  [
    'Processes',
    'Events/s',
    'Wall time',
    'Duplicate approve calls (fake)',
    'Transaction attempts per transaction',
    'Nacks per event',
    'Service CPU per event',
    'Emulator CPU per event',
    'Machine CPU busy (service / emulators / rest)',
    'CPU ceiling',
  ],
  results.map((r) => [
    String(r.p),
    fmt.n(r.eventsPerSecond, 1),
    `${r.seconds.toFixed(2)} s`,
    String(r.duplicateApprovals),
    fmt.ratio(r.attemptsPerTransaction),
    fmt.ratio(r.nacksPerEvent),
    fmt.ms(r.cpuMsPerEvent),
    fmt.ms(r.emulatorCpuMsPerEvent),
    `${pct(r.machineBusy)} (${pct(r.serviceShare)} / ${pct(r.emulatorShare)} / ${pct(r.machineBusy - r.serviceShare - r.emulatorShare)})`,
    `${fmt.n(r.cpuCeiling, 1)} events/s`,
  ]),
)}

4 processes / 1 process: **${fmt.ratio(scaling)}** (target ≥ 3: ${verdict(scaling >= 3)}).
${
  last
    ? `With ${last.p} processes the machine's CPU was ${pct(last.machineBusy)} busy and the rows reached ${pct(last.eventsPerSecond / last.cpuCeiling)} of what the cores allow at their CPU per event: ${
        last.machineBusy >= 0.9
          ? 'the limit measured is the machine (service processes and emulators on the same cores), not a lock or a contended document in the service.'
          : 'the cores were not saturated, so something other than CPU (a lock, a contended document, the emulator serialising work) held the rows back.'
      }`
    : ''
}`,
  );
});

async function measure(processes, { build, fake, count, emulatorCpu }) {
  const project = projectId('bench-consumers');
  const pubsub = new PubSub({ projectId: project });
  const [topic] = await pubsub.createTopic('marketplace');
  await topic.createSubscription('marketplace-sub', { ackDeadlineSeconds: 60 });
  const db = new Firestore({ projectId: project });
  const messages = [];
  const ids = [];
  const ok = (result) => {
    if (!result.ok) throw new Error(`fake refused: ${JSON.stringify(result.error)}`);
    return result.value;
  };
  for (let i = 0; i < count; i++) {
    const account = ok(fake.state.createAccount(PROVIDER, { signupApproved: true, accountEvent: 'NONE' })).account;
    const accountId = account.name.split('/').pop();
    // Accounts exist in Firestore as after their sign-up, so the order is approved at once.
    await db
      .collection('accounts')
      .doc(accountId)
      .set({ id: accountId, signup: { state: 'APPROVED' } });
    const created = ok(
      fake.state.createEntitlement(PROVIDER, { accountId, product: PRODUCT, plan: i % 2 ? 'basic' : 'pro' }),
    );
    ids.push(created.entitlement.name.split('/').pop());
    messages.push(...created.messages);
  }
  const children = [];
  const nacks = { count: 0 };
  const countsFiles = [];
  for (let i = 0; i < processes; i++) {
    const port = await freePort();
    const countsFile = join(tmpdir(), `${project}-${i}.json`);
    countsFiles.push(countsFile);
    const child = startNode(
      `service-${i}`,
      [
        ...build.flags,
        '--import',
        join(ROOT, 'bench', 'lib', 'transaction-counter.mjs'),
        join(build.dist, 'src', 'main.js'),
      ],
      {
        ...build.env,
        NODE_ENV: 'production',
        CONFIG_DIR: join(ROOT, 'config'),
        PORT: String(port),
        GOOGLE_CLOUD_PROJECT: project,
        MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
        MARKETPLACE_PROVIDER_ID: PROVIDER,
        PROCUREMENT_ROOT_URL: fake.url,
        PROCUREMENT_STATIC_TOKEN: 'bench',
        FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
        PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
        BENCH_COUNTS_FILE: countsFile,
      },
    );
    child.stdout.on('data', (chunk) => {
      const text = chunk.toString();
      nacks.count += (text.match(/message nacked|"outcome":"retry"/g) ?? []).length;
    });
    await waitForStatus(`http://127.0.0.1:${port}/health/ready`, { child, timeoutMs: 90_000 });
    children.push(child);
  }
  await sleep(1500); // let the streaming pulls open
  const cpu0 = children.reduce((n, c) => n + cpuMs(c.pid), 0);
  const emulator0 = emulatorCpu();
  const machine0 = machineCpuMs();
  const t0 = performance.now();
  const payloads = messages.map((m) => Buffer.from(JSON.stringify(m)));
  await Promise.all([...payloads, ...payloads].map((data) => topic.publishMessage({ data })));
  const deadline = Date.now() + 600_000;
  for (;;) {
    const approvals = fake.countCalls('entitlements.approve');
    const events = (await db.collection('events').count().get()).data().count;
    if (approvals >= count && events >= count) break;
    if (Date.now() > deadline)
      throw new Error(`only ${approvals} approvals, ${events} events:\n${children[0].output()}`);
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = children.reduce((n, c) => n + cpuMs(c.pid), 0) - cpu0;
  const emulatorCpuMs = emulatorCpu() - emulator0;
  const machine1 = machineCpuMs();
  const machineTotal = machine1.total - machine0.total;
  const machineBusyMs = machine1.busy - machine0.busy;
  await sleep(2000); // late duplicates would still call
  const duplicateApprovals = ids.reduce((n, id) => n + Math.max(0, fake.countCalls('entitlements.approve', id) - 1), 0);
  await Promise.all(children.map((c) => c.stop()));
  const { transactions, attempts } = collectCounts(countsFiles);
  await db.terminate();
  await pubsub.close();
  return {
    seconds,
    eventsPerSecond: count / seconds,
    duplicateApprovals,
    attemptsPerTransaction: attempts / transactions,
    nacksPerEvent: nacks.count / count,
    cpuMsPerEvent: cpu / count,
    emulatorCpuMsPerEvent: emulatorCpuMs / count,
    machineBusy: machineBusyMs / machineTotal,
    serviceShare: cpu / machineTotal,
    emulatorShare: emulatorCpuMs / machineTotal,
    machineSteal: (machine1.steal - machine0.steal) / machineTotal,
    cpuCeiling: (availableParallelism() * 1000) / (machineBusyMs / count),
  };
}

/**
 * CPU time of the whole machine since boot, in ms summed over cores: all of it, the busy part (work done here: not idle,
 * iowait or steal) and steal (time the hypervisor gave to other guests).
 */
function machineCpuMs() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = fields;
  const tick = 10; // USER_HZ = 100 on Linux
  const busy = user + nice + system + irq + softirq;
  return { total: (busy + idle + iowait + steal) * tick, busy: busy * tick, steal: steal * tick };
}

const pct = (x) => `${Math.round(x * 100)} %`;
