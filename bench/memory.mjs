// npm run bench:memory [-- --events 10000 --concurrency 16 --heap-cap 128]
//
// Resident memory (RSS, from /proc/<pid>/status) of the built service after `events` Purchasely
// webhook events (each a ledger transaction), idle before, peak during, and 3 s after the last
// response; against the bare node:http baseline doing the same verification and transaction. The
// service runs twice: as the container runs it today (no heap cap, so V8 sizes its heap from the
// machine's memory and collects lazily), and with `--max-old-space-size=<heap-cap>` (MiB), which
// shows how much of the growth is garbage not yet collected rather than memory kept.
// Target (issue 9): the service's RSS after 10,000 events under 200 MB.
import {
  emulators,
  fmt,
  load,
  machine,
  log,
  options,
  privateBuild,
  provenance,
  rss,
  run,
  sleep,
  table,
  verdict,
  writeSection,
} from './lib/common.mjs';
import { startHttpContender } from './lib/contenders.mjs';
import { activateRequest } from './lib/purchasely.mjs';

const TARGET_BYTES = 200e6;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

run(async () => {
  const o = options({ events: 10_000, concurrency: 16, heapCap: 128 });
  const build = privateBuild();
  const { firestoreHost } = await emulators();

  const results = {};
  const runs = [
    { key: 'service', name: 'service', env: {} },
    { key: 'capped', name: 'service', env: { NODE_OPTIONS: `--max-old-space-size=${o.heapCap}` } },
    { key: 'baseline', name: 'baseline', env: {} },
  ];
  for (const { key, name, env } of runs) {
    const contender = await startHttpContender(name, { build, firestoreHost, env });
    await sleep(1000);
    const idle = rss(contender.child.pid).rss;
    let peakSeen = idle;
    const sampler = setInterval(() => {
      peakSeen = Math.max(peakSeen, rss(contender.child.pid).rss);
    }, 250);
    const started = Date.now();
    const r = await load({
      url: contender.url,
      concurrency: o.concurrency,
      total: o.events,
      next: (i) => activateRequest(`mem-${key}`, i),
    });
    clearInterval(sampler);
    if (r.ok !== o.events)
      throw new Error(
        `${key}: ${o.events - r.ok} events failed: ${JSON.stringify(r.statuses)} ${JSON.stringify(r.errors)}`,
      );
    await sleep(3000);
    const after = rss(contender.child.pid);
    results[key] = {
      idle,
      peak: Math.max(peakSeen, after.peak),
      after: after.rss,
      seconds: (Date.now() - started) / 1000,
    };
    await contender.child.stop();
    log(
      `${key}: idle ${mb(idle)}, peak ${mb(results[key].peak)}, after ${o.events} events ${mb(after.rss)} (${fmt.mb(after.rss)})`,
    );
  }

  const s = results.service;
  const c = results.capped;
  const b = results.baseline;
  await writeSection(
    'memory',
    `## Memory

${provenance('bench:memory')}

Resident set size (\`VmRSS\`/\`VmHWM\` in \`/proc/<pid>/status\`) of each server process: idle 1 s after start, peak while
handling ${fmt.n(o.events)} signed Purchasely ACTIVATE webhooks (${o.concurrency} connections, each a new subscription, so every one
commits a ledger transaction), and 3 s after the last response. The service runs as the container runs it today (no
heap cap: V8 sizes its heap from the machine's ${machine().memoryGiB} GiB and collects lazily), and again with
\`--max-old-space-size=${o.heapCap}\` (MiB). 1 MB = 10^6 bytes.

${table(
  ['Process', 'Idle', 'Peak', `After ${fmt.n(o.events)} events`, 'Run time'],
  [
    ['service (`dist/src/main.js`)', mb(s.idle), mb(s.peak), mb(s.after), `${s.seconds.toFixed(0)} s`],
    [
      `service, \`--max-old-space-size=${o.heapCap}\``,
      mb(c.idle),
      mb(c.peak),
      mb(c.after),
      `${c.seconds.toFixed(0)} s`,
    ],
    [
      'baseline (bare `node:http` + same verification + 1 transaction)',
      mb(b.idle),
      mb(b.peak),
      mb(b.after),
      `${b.seconds.toFixed(0)} s`,
    ],
  ],
)}

Service RSS after ${fmt.n(o.events)} events: **${mb(s.after)}** as deployed today (target under 200 MB: ${verdict(s.after < TARGET_BYTES)});
**${mb(c.after)}** with the heap capped at ${o.heapCap} MiB (${verdict(c.after < TARGET_BYTES)}).`,
  );
});
