// Starts Google's official Firestore and Pub/Sub emulators (from the Google Cloud CLI) on free
// loopback ports and stops them again. Used by the test set-up and by `npm run local`.
//
// An emulator is up when its own process has said so (Pub/Sub: "Server started, listening on
// <port>"; Firestore: "Dev App Server is now running.") and it answers a request only that emulator
// serves (Pub/Sub lists topics, Firestore lists documents). Both checks matter: a port chosen free
// can be taken before the emulator's JVM binds it (by the internal gRPC or WebSocket server of this
// or another JVM, which bind ephemeral ports; or by a parallel test run), and then the Pub/Sub
// emulator logs a BindException and hangs instead of exiting, while the probe talks to whoever holds
// the port: a gRPC-only server answers HTTP/1 with netty's "Unexpected HTTP/1.x request: GET /",
// another emulator answers "Ok". A bind failure is seen in the emulator's output at once and the
// emulator is started again on another free port (unless the caller asked for that port).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export const INSTALL_HINT = `
The Google Cloud CLI emulators are required (Java 17+ too):
  gcloud components install cloud-firestore-emulator pubsub-emulator beta
  (Debian/Ubuntu packages: google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator)
or point GCLOUD_SDK_ROOT at an SDK that has them in platform/.`;

/** Time for one emulator to come up, over all its attempts; EMULATOR_START_TIMEOUT_SECONDS overrides it. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** Attempts on fresh ports after a bind failure. */
const ATTEMPTS = 3;
const PROBE_PROJECT = 'emulator-probe';

const KINDS = {
  firestore: {
    name: 'Firestore',
    path: (root) => join(root, 'platform/cloud-firestore-emulator/cloud_firestore_emulator'),
    args: (port) => ['start', '--host=127.0.0.1', `--port=${port}`],
    ready: () => /Dev App Server is now running/,
    probe: `/v1/projects/${PROBE_PROJECT}/databases/(default)/documents/probe`,
  },
  pubsub: {
    name: 'Pub/Sub',
    path: (root) => join(root, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator'),
    args: (port) => ['--host=127.0.0.1', `--port=${port}`],
    ready: (port) => new RegExp(`Server started, listening on ${port}\\b`),
    probe: `/v1/projects/${PROBE_PROJECT}/topics`,
  },
};

const BIND_FAILURE = /BindException|Address already in use|Failed to bind/;

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

/**
 * What is missing to run the emulators (their files, Java 17+), as one message, or null. Cheap: run
 * up front by `npm run local` so a new machine hears about it before anything starts.
 */
export function emulatorProblems() {
  const root = sdkRoot();
  const missing = Object.values(KINDS)
    .map((kind) => kind.path(root))
    .filter((p) => !existsSync(p));
  if (missing.length) return `Emulator not found: ${missing.join(', ')}${INSTALL_HINT}`;
  let version;
  try {
    // `java -version` writes to stderr; 2>&1 keeps it portable across JDK builds.
    version = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' });
  } catch {
    return `Java is not on PATH.${INSTALL_HINT}`;
  }
  const major = Number(/version "(?:1\.)?(\d+)/.exec(version)?.[1]);
  if (major && major < 17) return `Java ${major} found; the emulators need Java 17 or later.${INSTALL_HINT}`;
  return null;
}

function binary(kind) {
  const problem = emulatorProblems();
  if (problem) throw new Error(problem);
  return KINDS[kind].path(sdkRoot());
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

function timeoutFromEnv() {
  const seconds = Number(process.env.EMULATOR_START_TIMEOUT_SECONDS);
  return seconds > 0 ? seconds * 1000 : DEFAULT_TIMEOUT_MS;
}

class PortInUse extends Error {}

/** Resolves when this child is the emulator serving `port`; rejects on exit, bind failure or the deadline. */
async function waitUntilUp(kind, port, child, deadline) {
  const { name, ready, probe } = KINDS[kind];
  const host = `127.0.0.1:${port}`;
  const readyLine = ready(port);
  let answered = false;
  for (;;) {
    const output = child.output.join('');
    if (BIND_FAILURE.test(output)) throw new PortInUse(`${name} emulator could not bind ${host}: the port is in use`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} emulator exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was up`);
    }
    if (readyLine.test(output)) {
      try {
        // A bounded request: a port held by a server that never answers must not stall the loop.
        const res = await fetch(`http://${host}${probe}`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.ok) return;
        answered = true;
      } catch {
        /* not serving yet */
      }
    }
    if (Date.now() >= deadline) {
      const why = readyLine.test(output)
        ? answered
          ? `said it started but ${probe} did not answer 200`
          : 'said it started but did not answer'
        : `never printed ${readyLine} (starved of CPU, or a changed emulator version?)`;
      throw new Error(`${name} emulator did not start on ${host} in time: it ${why}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

function launch(kind, command, args, log) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines = [];
  const keep = (chunk) => {
    lines.push(chunk.toString());
    if (lines.length > 200) lines.shift();
    if (log) log(`[${kind}] ${chunk.toString().trimEnd()}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (error) => lines.push(`${error.message}\n`));
  child.output = lines;
  return child;
}

/** The emulator's last lines without Java's "at …" stack frames, for error messages. */
function tail(child) {
  return child.output
    .join('')
    .split('\n')
    .filter((line) => !/^\s+(at |\.\.\. \d+ more)/.test(line))
    .slice(-25)
    .join('\n');
}

/**
 * One emulator, on `options.port` or on a free port (tried again on another one if it is taken
 * before the emulator binds it). Resolves with its host, port, pid (of its process group) and stop().
 * @param {'firestore' | 'pubsub'} kind
 * @param {{ port?: number, timeoutMs?: number, log?: (line: string) => void, pickPort?: () => Promise<number> }} [options]
 */
export async function startEmulator(kind, options = {}) {
  const command = binary(kind);
  const deadline = Date.now() + (options.timeoutMs ?? timeoutFromEnv());
  const pickPort = options.pickPort ?? freePort;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await pickPort());
    const child = launch(kind, command, KINDS[kind].args(port), options.log);
    try {
      await waitUntilUp(kind, port, child, deadline);
      return { kind, host: `127.0.0.1:${port}`, port, pid: child.pid, stop: () => stopChild(child) };
    } catch (error) {
      await stopChild(child);
      const retry = error instanceof PortInUse && options.port === undefined && attempt < ATTEMPTS;
      if (retry && Date.now() < deadline) {
        options.log?.(`[${kind}] port ${port} was taken before the emulator bound it; trying another port`);
        continue;
      }
      const advice =
        error instanceof PortInUse
          ? options.port === undefined
            ? `\n(ports were taken ${attempt} times in a row: is something on this machine grabbing ports?)`
            : `\nStop what listens on port ${port} or pick another port.`
          : '';
      throw new Error(
        `${error.message}${advice}\n--- last lines of the ${KINDS[kind].name} emulator ---\n${tail(child)}`,
      );
    }
  }
}

/**
 * Starts both emulators; resolves with their hosts and a stop() that ends them (and their JVMs).
 * @param {{ log?: (line: string) => void, timeoutMs?: number }} [options]
 */
export async function startEmulators(options = {}) {
  const started = await Promise.allSettled([startEmulator('firestore', options), startEmulator('pubsub', options)]);
  const up = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failed = started.filter((s) => s.status === 'rejected').map((s) => s.reason);
  if (failed.length) {
    await Promise.all(up.map((e) => e.stop()));
    throw new Error(failed.map((e) => e.message ?? String(e)).join('\n'));
  }
  const [firestore, pubsub] = up;
  return {
    firestoreHost: firestore.host,
    pubsubHost: pubsub.host,
    pids: up.map((e) => e.pid),
    stop: async () => {
      await Promise.all(up.map((e) => e.stop()));
    },
  };
}

/**
 * One Firestore emulator on a given (or free) port, for tests that stop and restart it.
 * @param {{ port?: number, timeoutMs?: number }} [options]
 */
export async function startFirestoreEmulator(options = {}) {
  const { host, port, stop } = await startEmulator('firestore', options);
  return { host, port, stop };
}

/**
 * Ends the emulator's whole process group and waits until every process in it is gone: the
 * Firestore emulator is a shell wrapper whose JVM outlives it for a moment, holding the port.
 */
async function stopChild(child) {
  const group = -child.pid;
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    return;
  }
  const gone = async (ms) => {
    for (const until = Date.now() + ms; alive() && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
    return !alive();
  };
  if (await gone(5_000)) return;
  killGroups([child.pid]);
  await gone(5_000);
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
