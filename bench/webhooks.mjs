// npm run bench:webhooks [-- --concurrency 16 --requests 4000 --warmup 3000 --rounds 5 --emulator-warmup 10000 --log-level info]
//
// Purchasely webhook throughput and latency: signed ACTIVATE requests (unique event ids, each for a
// new subscription of a new user) sent by a closed-loop keep-alive load generator on node:http at a
// fixed concurrency. Contenders, each in its own process and Firestore project on the emulator:
//   service   the built service as the container runs it (`node <Dockerfile CMD flags> dist/service.cjs`,
//             code cache written) with PURCHASELY_SECRETS set; also without the flags (context)
//   baseline  bench/baseline/webhook-server.mjs (node:http, the same verification and a transaction)
// Target (issue 9): service requests/s ≥ 0.8 × baseline requests/s, in steady state: each server
// first serves `warmup` requests (V8 has optimized its hot code by then; a fresh service process is
// still compiling NestJS, gRPC and Firestore code during its first ~2,000), reported on their own as
// the fresh-process figures. Before any of this the Firestore emulator's JVM is warmed with at least
// `emulator-warmup` untimed requests, until its CPU per request has settled (warmEmulators).
import {
  fmt,
  load,
  log,
  median,
  options,
  privateBuild,
  provenance,
  run,
  serviceCommand,
  emulators,
  table,
  verdict,
  writeSection,
} from './lib/common.mjs';
import { cpuMs, emulatorCpuMs, startHttpContender, warmEmulators } from './lib/contenders.mjs';
import { activateRequest } from './lib/purchasely.mjs';

const TARGET = 0.8;

run(async () => {
  const o = options({
    concurrency: 16,
    requests: 4000,
    warmup: 3000,
    rounds: 5,
    emulatorWarmup: 10_000,
    logLevel: 'info',
  });
  const build = await privateBuild();
  const { firestoreHost, pids } = await emulators();
  const emulatorCpu = () => emulatorCpuMs(pids);

  // The emulator is a JVM: warm it up, untimed, until its JIT has settled (see warmEmulators).
  let jvmWarmup;
  {
    const warmer = await startHttpContender('baseline', { build, firestoreHost });
    let window = 0;
    jvmWarmup = await warmEmulators({
      pids,
      min: o.emulatorWarmup,
      max: 3 * o.emulatorWarmup,
      step: async () => {
        const w = window++;
        const r = await load({
          url: warmer.url,
          concurrency: o.concurrency,
          total: 1000,
          next: (i) => activateRequest(`jvm-warmup${w}`, i),
        });
        return r.requests;
      },
    });
    await warmer.child.stop();
  }

  // 'unflagged': context, the service without the container's heap flags (what they cost in CPU).
  const results = { service: [], baseline: [], unflagged: [] };
  const fresh = { service: [], baseline: [], unflagged: [] };
  for (let round = 1; round <= o.rounds; round++) {
    const order = round % 2 ? ['baseline', 'service', 'unflagged'] : ['unflagged', 'service', 'baseline'];
    for (const name of order) {
      const contender = await startHttpContender(name === 'unflagged' ? 'service' : name, {
        build: name === 'unflagged' ? { ...build, flags: [] } : build,
        firestoreHost,
        env: name === 'baseline' ? {} : { LOG_LEVEL: o.logLevel },
      });
      const tag = `${name}${round}`;
      const warmCpu0 = cpuMs(contender.child.pid);
      const warmEmu0 = emulatorCpu();
      const warm = await load({
        url: contender.url,
        concurrency: o.concurrency,
        total: o.warmup,
        next: (i) => activateRequest(`${tag}w`, i),
      });
      if (warm.ok !== o.warmup)
        throw new Error(
          `${name}: warm-up failed: ${JSON.stringify(warm.statuses)} ${JSON.stringify(warm.errors)}\n${contender.child.output()}`,
        );
      const cpu0 = cpuMs(contender.child.pid);
      const emu0 = emulatorCpu();
      warm.cpuMsPerRequest = (cpu0 - warmCpu0) / warm.requests;
      warm.emulatorCpuMsPerRequest = (emu0 - warmEmu0) / warm.requests;
      fresh[name].push(warm);
      const r = await load({
        url: contender.url,
        concurrency: o.concurrency,
        total: o.requests,
        next: (i) => activateRequest(tag, i),
      });
      r.cpuMsPerRequest = (cpuMs(contender.child.pid) - cpu0) / r.requests;
      r.emulatorCpuMsPerRequest = (emulatorCpu() - emu0) / r.requests;
      await contender.child.stop();
      if (r.ok !== r.requests)
        throw new Error(
          `${name}: ${r.requests - r.ok} requests failed: ${JSON.stringify(r.statuses)} ${JSON.stringify(r.errors)}`,
        );
      log(
        `round ${round} ${name}: ${fmt.n(r.rps, 1)} req/s, p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}, CPU ${fmt.ms(r.cpuMsPerRequest)}/request, emulator CPU ${fmt.ms(r.emulatorCpuMsPerRequest)}/request`,
      );
      results[name].push(r);
    }
  }

  const pick = (name, from = results) => {
    const rs = from[name];
    const rps = median(rs.map((r) => r.rps));
    return rs.find((r) => r.rps === rps);
  };
  const service = pick('service');
  const baseline = pick('baseline');
  const ratio = service.rps / baseline.rps;
  const roundRatios = results.service.map((r, i) => r.rps / results.baseline[i].rps);
  log(
    `ratio within each round: ${roundRatios.map(fmt.ratio).join(', ')} (median ${fmt.ratioVs(median(roundRatios), TARGET)})`,
  );
  log(
    `service ${fmt.n(service.rps, 1)} req/s, baseline ${fmt.n(baseline.rps, 1)} req/s, ratio ${fmt.ratio(ratio)} (target ≥ ${TARGET})`,
  );

  const row = (label, r) => [
    label,
    fmt.n(r.rps, 1),
    fmt.ms(r.p50),
    fmt.ms(r.p90),
    fmt.ms(r.p99),
    fmt.ms(r.max),
    fmt.ms(r.cpuMsPerRequest),
    r.emulatorCpuMsPerRequest === undefined ? '–' : fmt.ms(r.emulatorCpuMsPerRequest),
    `${r.ok}/${r.requests}`,
  ];
  const unflagged = pick('unflagged');
  log(
    `context: the service without the container's heap flags ${fmt.n(unflagged.rps, 1)} req/s, ratio ${fmt.ratio(unflagged.rps / baseline.rps)}`,
  );
  const freshService = pick('service', fresh);
  const freshBaseline = pick('baseline', fresh);
  const freshRatio = freshService.rps / freshBaseline.rps;
  log(`fresh processes (their first ${o.warmup} requests): ratio ${fmt.ratio(freshRatio)}`);
  const serviceLabel = `service (\`${serviceCommand(build)}\`, as the container runs it)`;
  const baselineLabel = 'baseline (bare `node:http` + same verification + the same ledger transaction)';
  await report(
    o,
    { ratio, roundRatios, unflaggedRatio: unflagged.rps / baseline.rps, freshRatio, jvmWarmup },
    build.flags,
    [
      row(serviceLabel, service),
      row(baselineLabel, baseline),
      row("context: the service without the container's heap flags", unflagged),
    ],
    [row(serviceLabel, freshService), row(baselineLabel, freshBaseline)],
  );
});

function report(o, { ratio, roundRatios, unflaggedRatio, freshRatio, jvmWarmup }, flags, rows, freshRows) {
  return writeSection(
    'webhooks',
    `## Webhooks (Purchasely)

${provenance('bench:webhooks')}

\`POST /webhooks/purchasely\` with valid signatures (hex HMAC-SHA256 of timestamp + raw body), each a PRODUCTION ACTIVATE
with a unique \`event_id\` for a new subscription of a new user, so every request commits a ledger transaction.
Closed loop, ${o.concurrency} keep-alive connections. Each server process is started fresh, serves ${o.warmup} requests (its
warm-up, reported below on its own), then ${o.requests} timed requests: the steady state, once V8 has compiled and optimized
the hot code${o.rounds > 1 ? `; the round with the median requests/s of ${o.rounds} rounds (alternating which server goes first)` : ''}.
Latency is from writing the request to the end of the response, at the load generator.

Before the rounds, ${fmt.n(jvmWarmup.items, 0)} untimed requests warm the Firestore emulator's JVM until its CPU per request has settled
(${fmt.ms(jvmWarmup.emulatorCpuMsPerItem)} in the last window of 1,000; its first ledger transactions cost it about 10 ms each). Earlier
versions of this benchmark warmed it with 1,000 requests only, so the emulator was still getting faster during the
rounds and whichever server ran first paid for it. "Emulator CPU" is the Firestore emulator's CPU per timed request.

${table(['Endpoint', 'Requests/s', 'p50', 'p90', 'p99', 'max', 'Server CPU per request', 'Emulator CPU per request', '200s'], rows)}

Ratio service / baseline: **${fmt.ratioVs(ratio, TARGET)}** (target ≥ ${TARGET}: ${verdict(ratio >= TARGET)}). Within each round (the two servers a
few minutes apart on the same machine): ${roundRatios.map(fmt.ratio).join(', ')}, median ${fmt.ratioVs(median(roundRatios), TARGET)}. Without the container's heap flags
(${flags.map((f) => `\`${f}\``).join(' ')}) the service reaches ${fmt.ratio(unflaggedRatio)} (a difference beyond the rounds' spread is what the heap flags cost in garbage collection; "Memory" has the heap settings).

A fresh process, over its first ${o.warmup} requests (the warm-up of the same rounds; server CPU includes what V8 spends
compiling and optimizing): ratio ${fmt.ratio(freshRatio)}. This is what a new Cloud Run instance gives while it warms up:
the service has far more code to compile and optimize (NestJS, Fastify, zod, the Google clients) than the bare handler.

${table(['Endpoint, first requests of a fresh process', 'Requests/s', 'p50', 'p90', 'p99', 'max', 'Server CPU per request', 'Emulator CPU per request', '200s'], freshRows)}

Both run the same ledger transaction (read the event, entitlement and access documents; write the event record, the
entitlement, its history entry, the access summary and the outbox entry), as the issue asks. On top of it the service
runs NestJS on Fastify (routing, body parsing with the raw body kept, the error filter), schema validation (zod), the
product catalog and the ledger planner, and logs one line per event; its log level here is
\`${o.logLevel}\` (production default: \`info\`). Both servers, the Firestore emulator (a JVM) and the load generator share
the machine's two cores, so the service's extra CPU per request (and the emulator work of its extra writes) turns
directly into fewer requests per second; absolute figures against production Firestore on Cloud Run will differ.`,
  );
}
