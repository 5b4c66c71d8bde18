// Starts Google's official Firestore and Pub/Sub emulators (from the Google Cloud CLI) on free
// loopback ports and stops them again. Used by the test set-up and by `npm run local`.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

const INSTALL_HINT = `
The Google Cloud CLI emulators are required (Java 17+ too):
  gcloud components install cloud-firestore-emulator pubsub-emulator beta
  (Debian/Ubuntu packages: google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator)
or point GCLOUD_SDK_ROOT at an SDK that has them in platform/.`;

export function sdkRoot() {
  if (process.env.GCLOUD_SDK_ROOT) return process.env.GCLOUD_SDK_ROOT;
  try {
    const gcloud = execFileSync('sh', ['-c', 'readlink -f "$(command -v gcloud)"'], { encoding: 'utf8' }).trim();
    if (gcloud) return dirname(dirname(gcloud));
  } catch {
    /* fall through */
  }
  return '/usr/lib/google-cloud-sdk';
}

function binaries() {
  const root = sdkRoot();
  const firestore = join(root, 'platform/cloud-firestore-emulator/cloud_firestore_emulator');
  const pubsub = join(root, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator');
  const missing = [firestore, pubsub].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`Emulator not found: ${missing.join(', ')}${INSTALL_HINT}`);
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`Java is not on PATH.${INSTALL_HINT}`);
  }
  return { firestore, pubsub };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(name, host, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} emulator exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`http://${host}/`);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${name} emulator did not start on ${host} within ${timeoutMs / 1000}s`);
}

function launch(name, command, args, log) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines = [];
  const keep = (chunk) => {
    lines.push(chunk.toString());
    if (lines.length > 200) lines.shift();
    if (log) log(`[${name}] ${chunk.toString().trimEnd()}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = lines;
  return child;
}

/**
 * Starts both emulators; resolves with their hosts and a stop() that ends them (and their JVMs).
 * @param {{ log?: (line: string) => void, timeoutMs?: number }} [options]
 */
export async function startEmulators(options = {}) {
  const { firestore, pubsub } = binaries();
  const [firestorePort, pubsubPort] = [await freePort(), await freePort()];
  const firestoreHost = `127.0.0.1:${firestorePort}`;
  const pubsubHost = `127.0.0.1:${pubsubPort}`;
  const children = [
    launch('firestore', firestore, ['start', '--host=127.0.0.1', `--port=${firestorePort}`], options.log),
    launch('pubsub', pubsub, ['--host=127.0.0.1', `--port=${pubsubPort}`], options.log),
  ];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  try {
    const timeoutMs = options.timeoutMs ?? 60_000;
    await Promise.all([
      waitUntilUp('Firestore', firestoreHost, children[0], timeoutMs),
      waitUntilUp('Pub/Sub', pubsubHost, children[1], timeoutMs),
    ]);
  } catch (error) {
    await stop();
    const output = children
      .map((c) => c.output.join(''))
      .join('\n')
      .slice(-4000);
    throw new Error(`${error.message}\n${output}${INSTALL_HINT}`);
  }
  return { firestoreHost, pubsubHost, pids: children.map((c) => c.pid), stop };
}

/**
 * One Firestore emulator on a given (or free) port, for tests that stop and restart it.
 * @param {{ port?: number, timeoutMs?: number }} [options]
 */
export async function startFirestoreEmulator(options = {}) {
  const { firestore } = binaries();
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const child = launch('firestore', firestore, ['start', '--host=127.0.0.1', `--port=${port}`]);
  try {
    await waitUntilUp('Firestore', host, child, options.timeoutMs ?? 60_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { host, port, stop: () => stopChild(child) };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGTERM'); // the whole group: wrapper script and JVM
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

/** Kills process groups by pid (used when stop() is not reachable, e.g. Jest's teardown). */
export function killGroups(pids) {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
