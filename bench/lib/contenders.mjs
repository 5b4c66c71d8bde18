// The HTTP contenders of the webhook and memory benchmarks: the built service with Purchasely on,
// and the bare node:http baseline, each on its own port and its own Firestore project.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { ROOT, freePort, log, projectId, startNode, waitForStatus } from './common.mjs';
import { SECRET } from './purchasely.mjs';

/** Starts `service` or `baseline`; resolves once /health/live answers 200. */
export async function startHttpContender(name, { build, firestoreHost, env = {} }) {
  const port = await freePort();
  const project = projectId(`bench-${name}`);
  const common = { PORT: String(port), GOOGLE_CLOUD_PROJECT: project, FIRESTORE_EMULATOR_HOST: firestoreHost, ...env };
  const child =
    name === 'service'
      ? startNode('service', [...build.flags, build.main], {
          ...build.env,
          ...common,
          NODE_ENV: 'production',
          CONFIG_DIR: join(ROOT, 'config'),
          PURCHASELY_SECRETS: SECRET,
        })
      : startNode('baseline', [join(ROOT, 'bench', 'baseline', 'webhook-server.mjs')], {
          ...common,
          PURCHASELY_SECRET: SECRET,
        });
  const url = `http://127.0.0.1:${port}`;
  await waitForStatus(`${url}/health/live`, { child, timeoutMs: 60_000 });
  return { name, child, url, project };
}

/** User + system CPU time of a process, in ms (Linux /proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * User + system CPU time, in ms, of every live process in a process group (an emulator: its
 * wrapper script and JVM). Threads are included; exited children are not.
 */
export function groupCpuMs(pgid) {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) total += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return total;
}

/** CPU time (ms) of the emulators, whose process groups are `pids` (scripts/emulators.mjs). */
export function emulatorCpuMs(pids) {
  return pids.reduce((total, pid) => total + groupCpuMs(pid), 0);
}

/**
 * Warms the emulators' JVMs until their JIT has settled: the Firestore emulator spends ~10 ms of CPU
 * on each of its first ledger transactions and under 1.5 ms after ~10,000 of them, so a contender
 * that ran on a colder emulator than the other would be measured on a different machine. `step()`
 * runs one window of work (untimed) and resolves with the number of items it did; warming stops
 * once two consecutive windows cost the emulators within `tolerance` of each other per item and the
 * last is within `tolerance` of the cheapest window so far (a slow decline is not settled), after at
 * least `min` items; or after `max` items.
 */
export async function warmEmulators({ pids, step, min, max, tolerance = 0.15 }) {
  const perItem = [];
  let items = 0;
  while (items < max) {
    const cpu0 = emulatorCpuMs(pids);
    const done = await step();
    items += done;
    perItem.push((emulatorCpuMs(pids) - cpu0) / done);
    const [a, b] = perItem.slice(-2);
    const settled = Math.abs(a - b) / Math.max(a, b) < tolerance && b <= Math.min(...perItem) * (1 + tolerance);
    if (items >= min && perItem.length >= 2 && settled) break;
  }
  log(
    `emulators warmed with ${items} untimed items; their CPU per item, window by window: ${perItem.map((v) => v.toFixed(2)).join(', ')} ms`,
  );
  return { items, emulatorCpuMsPerItem: perItem.at(-1) };
}

/**
 * A project with the Marketplace topic and pull subscription on the Pub/Sub emulator, and the
 * service environment that pulls from it (no messages are published: the stream stays open and
 * idle; the Procurement API address is a closed port, never called without messages).
 */
export async function idlePullSetup(prefix, pubsubHost) {
  const project = projectId(prefix);
  const pubsub = new PubSub({ projectId: project });
  const [topic] = await pubsub.createTopic('marketplace');
  await topic.createSubscription('marketplace-sub');
  await pubsub.close();
  return {
    project,
    env: {
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      MARKETPLACE_PROVIDER_ID: 'demo-provider',
      MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
      PROCUREMENT_ROOT_URL: 'http://127.0.0.1:9',
      PROCUREMENT_STATIC_TOKEN: 'bench',
    },
  };
}
