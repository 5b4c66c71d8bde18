#!/usr/bin/env node
// The local sandbox: Google's Firestore and Pub/Sub emulators, the fake Procurement API, the
// Marketplace topic and subscription, and the service itself, all on this machine with demo
// configuration and no Google account. Ctrl-C stops everything it started.
//
//   npm run local                 (PORT=8080, fake Procurement API on FAKE_PROCUREMENT_PORT=8089,
//                                  fake Service Control on FAKE_SERVICE_CONTROL_PORT=8090)
//   npm run simulate -- buy --plan pro      (in another terminal)
//
// It runs in steps and stops at the first that fails, with one message naming the step and what to
// do. On a fresh clone it installs the dependencies with `npm ci` (never touching package-lock.json)
// and builds. This script itself may run on an older Node (the system's, which started npm); the
// service and the fake run on the Node 22 that `npm ci` installs (node_modules/.bin/node).
// LOCAL_SKIP_BUILD=1 skips the build (the tests use it on a tree they just built).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emulatorProblems, killGroups, startEmulators } from './emulators.mjs';
import {
  BUILD_STAMP,
  buildInputsDigest,
  buildProblem,
  dependencyProblem,
  nodeForChildren,
  portInUse,
} from './local-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PORT = process.env.PORT ?? '8080';
const FAKE_PORT = process.env.FAKE_PROCUREMENT_PORT ?? '8089';
const FAKE_SC_PORT = process.env.FAKE_SERVICE_CONTROL_PORT ?? '8090';
const PROJECT = 'demo-entitlements';
const PROVIDER = 'demo-provider';
const DEMO_ACCOUNT = 'demo-account';
const SANDBOX_FILE = join(root, '.local', 'sandbox.json');
const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
// The sandbox's admin keys (ADMIN_LOCAL_KEYS, refused when NODE_ENV=production): sign in to the console with one,
// or send it as `x-api-key` to /admin/v1. Fixed, like the demo secrets below, and written to .local/sandbox.json.
const LOCAL_ADMIN_KEYS = {
  approver: { name: 'local-approver', key: 'local-approver-key-do-not-use-elsewhere' },
  viewer: { name: 'local-viewer', key: 'local-viewer-key-do-not-use-elsewhere-0' },
};
const children = [];
let emulators;
let stopping = false;
let ready = false;
let firstSignalAt = 0;
const startedAt = Date.now();

const LOCAL_ENV = {
  GOOGLE_CLOUD_PROJECT: PROJECT,
  NODE_ENV: 'development',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  CONFIG_DIR: join(root, 'config'),
  MARKETPLACE_PROVIDER_ID: PROVIDER,
  MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
  PROCUREMENT_ROOT_URL: `http://127.0.0.1:${FAKE_PORT}`,
  PROCUREMENT_STATIC_TOKEN: 'local-sandbox',
  // Demo secrets for the signed sample webhooks (`npm run simulate -- webhook …`); never use them elsewhere.
  PURCHASELY_SECRETS: 'local-purchasely-secret-0001',
  EASYCART_SIGNING_KEYS: 'local-easycart-key-00000001',
  GETCOURSE_PATH_TOKEN: 'local-getcourse-token-000000000001',
  // Lifecycle jobs (expiry, expiring notices, reconciliation, outbox) on a timer instead of Cloud Scheduler.
  LIFECYCLE_TIMER_SECONDS: '30',
  CHANGE_EVENTS_TOPIC: 'entitlement-changes',
  // Usage reporting (docs/usage-reporting.md) to the fake Service Control, and the demo intake key.
  USAGE_REPORTING: 'true',
  USAGE_WINDOW_MINUTES: '1',
  SERVICE_CONTROL_ROOT_URL: `http://127.0.0.1:${FAKE_SC_PORT}`,
  SERVICE_CONTROL_STATIC_TOKEN: 'local-sandbox',
  USAGE_API_KEYS: 'local-usage-key-do-not-use-elsewhere-000',
  // The admin console's local sign-in and the sandbox's admin API keys (docs/admin-console.md).
  ADMIN_LOCAL_KEYS: Object.entries(LOCAL_ADMIN_KEYS)
    .map(([role, { name, key }]) => `${name}:${role}:${key}`)
    .join(','),
};

function log(line) {
  process.stdout.write(`${paint(36, '[local]')} ${line}\n`);
}

/** A failed step: what failed, why, and what to do about it. */
class StepError extends Error {
  constructor(step, reason, advice) {
    super(reason);
    this.step = step;
    this.advice = advice;
  }
}

async function step(name, advice, run) {
  log(`${name}…`);
  try {
    return await run();
  } catch (error) {
    throw error instanceof StepError ? error : new StepError(name, error?.message ?? String(error), advice);
  }
}

function runNpm(args) {
  // The npm that started this script when there is one (npm run local), else npm from PATH.
  const [command, prefix] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const result = spawnSync(command, [...prefix, ...args], { cwd: root, stdio: 'inherit' });
  if (result.error) throw new Error(`could not run npm: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`npm ${args[0]} exited with ${result.signal ?? `code ${result.status}`}`);
}

/**
 * Starts a child in its own process group: a terminal's Ctrl-C then reaches only npm and this
 * script, which stops the children in order (the service drains its Pub/Sub pull first).
 */
function start(name, node, args, env) {
  const child = spawn(node, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  child.on('exit', (code, signal) => {
    // While starting, the step that waits for the child reports its exit.
    if (ready && !stopping) {
      log(paint(31, `${name} exited (${signal ?? `code ${code}`}); stopping the sandbox`));
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

/** Waits for `url` to answer below 500; fails at once when `child` exits first. */
async function waitFor(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.signalCode ?? `code ${child.exitCode}`}) before it answered ${url}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`it did not answer ${url} within ${timeoutMs / 1000}s`);
}

/** Creates a topic or subscription on the Pub/Sub emulator (its REST API: no client library needed here). */
async function pubsubPut(path, body) {
  const res = await fetch(`http://${emulators.pubsubHost}/v1/projects/${PROJECT}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok && res.status !== 409) throw new Error(`PUT ${path}: HTTP ${res.status} ${await res.text()}`);
}

async function control(path) {
  const res = await fetch(`http://127.0.0.1:${FAKE_PORT}/__control/providers/${PROVIDER}/${path.url}`, {
    method: 'POST',
    body: JSON.stringify(path.body),
  });
  if (!res.ok) throw new Error(`fake Procurement API ${path.url}: HTTP ${res.status} ${await res.text()}`);
}

async function main() {
  await step('checking this machine', 'fix the above and run `npm run local` again', async () => {
    const problems = [];
    if (Number(process.versions.node.split('.')[0]) < 18) {
      problems.push(
        `this script needs Node ≥ 18 to start (the service then runs on the Node 22 npm ci installs); this is ${process.version}`,
      );
    }
    const emulatorProblem = emulatorProblems();
    if (emulatorProblem) problems.push(emulatorProblem.trim());
    for (const [name, port] of [
      ['PORT', PORT],
      ['FAKE_PROCUREMENT_PORT', FAKE_PORT],
      ['FAKE_SERVICE_CONTROL_PORT', FAKE_SC_PORT],
    ]) {
      if (await portInUse(port))
        problems.push(`port ${port} is in use: stop what listens there, or set ${name}=<another port>`);
    }
    if (problems.length) throw new Error(problems.join('\n'));
  });

  const stale = dependencyProblem(root);
  if (stale) {
    await step(
      `installing dependencies with npm ci (${stale})`,
      'read npm’s message above. "not in sync" or "Missing: … from lock file": package-lock.json is broken (README, Development, "The lock file"); a network error: try again when the registry answers',
      () => runNpm(['ci', '--no-audit', '--no-fund']),
    );
  }
  const node = await step('finding Node 22 for the service', 'run `npm ci`, or install Node ≥ 22.12', () => {
    const found = nodeForChildren(root);
    if ('problem' in found) throw new Error(found.problem);
    return found;
  });

  if (process.env.LOCAL_SKIP_BUILD !== '1') {
    const digest = buildInputsDigest(root);
    const why = buildProblem(root, digest);
    if (why) {
      await step(`building (${why}): npm run build`, 'fix the error above; `npm run build` repeats it', () => {
        runNpm(['run', 'build', '--silent']);
        writeFileSync(join(root, BUILD_STAMP), `${digest}\n`);
      });
    } else {
      log('the build is up to date (dist/ was built from these sources)');
    }
  }

  emulators = await step(
    'starting the Firestore and Pub/Sub emulators',
    'see the emulator’s last lines above; EMULATOR_START_TIMEOUT_SECONDS gives a slow machine more time',
    () => startEmulators(),
  );
  const emulatorEnv = { FIRESTORE_EMULATOR_HOST: emulators.firestoreHost, PUBSUB_EMULATOR_HOST: emulators.pubsubHost };

  await step(
    'creating the Pub/Sub topics and subscriptions',
    'the Pub/Sub emulator refused them: see above',
    async () => {
      await pubsubPut('topics/marketplace', {});
      await pubsubPut('subscriptions/marketplace-sub', {
        topic: `projects/${PROJECT}/topics/marketplace`,
        ackDeadlineSeconds: 60,
      });
      await pubsubPut('topics/entitlement-changes', {});
      await pubsubPut('subscriptions/entitlement-changes-sub', {
        topic: `projects/${PROJECT}/topics/entitlement-changes`,
        enableMessageOrdering: true,
      });
    },
  );

  await step(`starting the fake Procurement API on port ${FAKE_PORT}`, 'see its output above', async () => {
    const fake = start(
      'the fake Procurement API',
      node.binary,
      ['dist/tools/fake-procurement/main.js', '--port', FAKE_PORT, '--provider', PROVIDER],
      {},
    );
    await waitFor(`http://127.0.0.1:${FAKE_PORT}/__control/calls`, fake);
    // A demo customer whose sign-up is done, so `npm run simulate -- buy` goes straight to approval.
    await control({ url: 'accounts', body: { accountId: DEMO_ACCOUNT } });
    await control({ url: `accounts/${DEMO_ACCOUNT}:approve`, body: {} });
  });

  await step(`starting the fake Service Control on port ${FAKE_SC_PORT}`, 'see its output above', async () => {
    const fake = start(
      'the fake Service Control',
      node.binary,
      ['dist/tools/fake-service-control/main.js', '--port', FAKE_SC_PORT],
      {},
    );
    await waitFor(`http://127.0.0.1:${FAKE_SC_PORT}/__control/operations`, fake);
  });

  await step(`starting the service on port ${PORT} (Node ${node.version})`, 'see its log above', async () => {
    const service = start('the service', node.binary, ['dist/service.cjs'], { ...LOCAL_ENV, ...emulatorEnv, PORT });
    await waitFor(`http://127.0.0.1:${PORT}/health/ready`, service);
  });

  writeSandboxFile({ ...emulatorEnv, PORT, FAKE_PORT, FAKE_SC_PORT, usageKey: LOCAL_ENV.USAGE_API_KEYS });
  ready = true;
  log(
    paint(
      32,
      `ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Service http://127.0.0.1:${PORT}  (health: /health/live, /health/ready)`,
    ),
  );
  log(`admin console http://127.0.0.1:${PORT}/admin/console/  local sign-in keys (sandbox only):`);
  log(`  approver  ${LOCAL_ADMIN_KEYS.approver.key}`);
  log(`  viewer    ${LOCAL_ADMIN_KEYS.viewer.key}`);
  log(
    `Firestore emulator ${emulators.firestoreHost}, Pub/Sub emulator ${emulators.pubsubHost}, fake Procurement API http://127.0.0.1:${FAKE_PORT}, fake Service Control http://127.0.0.1:${FAKE_SC_PORT}`,
  );
  log('next, in another terminal:');
  log('  npm run simulate -- buy --plan pro            # purchase → the service approves → Google activates');
  log('  npm run simulate -- show <entitlementId>      # the entitlement and the access summary in Firestore');
  log('  npm run simulate -- change-plan <entitlementId> --plan basic | cancel <entitlementId> | --help');
  log('  npm run simulate -- usage <entitlementId> --metric api_calls --value 120   # then show: what Google got');
  log('Ctrl-C stops everything.');
}

function writeSandboxFile(values) {
  mkdirSync(dirname(SANDBOX_FILE), { recursive: true });
  writeFileSync(
    SANDBOX_FILE,
    JSON.stringify(
      {
        project: PROJECT,
        provider: PROVIDER,
        demoAccount: DEMO_ACCOUNT,
        adminKeys: LOCAL_ADMIN_KEYS,
        pid: process.pid,
        ...values,
      },
      null,
      2,
    ),
  );
}

/** Stops the service first (it drains its Pub/Sub pull), then the fake, then the emulators. */
async function stop(code) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  removeSandboxFile();
  for (const child of [...children].reverse()) await stopChild(child);
  if (emulators) await emulators.stop();
  log(code === 0 ? 'stopped.' : paint(31, 'stopped after a failure.'));
  process.exit(code);
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

function removeSandboxFile() {
  try {
    if (JSON.parse(readFileSync(SANDBOX_FILE, 'utf8')).pid === process.pid) rmSync(SANDBOX_FILE);
  } catch {
    /* none, or another sandbox's */
  }
}

function killEverything() {
  for (const child of children) child.kill('SIGKILL');
  if (emulators) killGroups(emulators.pids);
}

// Ctrl-C: npm forwards it to this script as well, so a signal within a second of the first is the
// same Ctrl-C; a later one kills what is left at once.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (!stopping) {
      firstSignalAt = Date.now();
      return void stop(0);
    }
    if (Date.now() - firstSignalAt < 1_000) return;
    log('killing what is left');
    killEverything();
    process.exit(130);
  });
}
// Last resort if this script ends any other way: the children run in their own process groups.
process.on('exit', () => {
  if (!stopping) killEverything();
});

main().catch(async (error) => {
  const stepName = error instanceof StepError ? error.step : 'starting the sandbox';
  process.stderr.write(`\n${paint(31, `[local] ✗ ${stepName} failed`)}\n${indent(error.message ?? String(error))}\n`);
  if (error instanceof StepError && error.advice) process.stderr.write(`${paint(33, '  → ')}${error.advice}\n`);
  await stop(1);
});

function indent(text) {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
