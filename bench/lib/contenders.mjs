// The HTTP contenders of the webhook and memory benchmarks: the built service with Purchasely on,
// and the bare node:http baseline, each on its own port and its own Firestore project.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { ROOT, freePort, projectId, startNode, waitForStatus } from './common.mjs';
import { SECRET } from './purchasely.mjs';

/** Starts `service` or `baseline`; resolves once /healthz answers 200. */
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
  await waitForStatus(`${url}/healthz`, { child, timeoutMs: 60_000 });
  return { name, child, url, project };
}

/** User + system CPU time of a process, in ms (Linux /proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
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
