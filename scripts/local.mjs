#!/usr/bin/env node
// The local sandbox: Google's Firestore and Pub/Sub emulators, the fake Procurement API, the
// Marketplace topic and subscription, and the service itself, all on this machine with demo
// configuration and no Google account. Ctrl-C stops everything it started.
//
//   npm run local                 (PORT=8080, fake Procurement API on 8089)
//   npm run simulate -- buy --plan pro      (in another terminal)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulators } from './emulators.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
const PORT = process.env.PORT ?? '8080';
const FAKE_PORT = process.env.FAKE_PROCUREMENT_PORT ?? '8089';
const PROJECT = 'demo-entitlements';
const PROVIDER = 'demo-provider';
const DEMO_ACCOUNT = 'demo-account';
const children = [];
let stopping = false;

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
};

function log(line) {
  process.stdout.write(`\x1b[36m[local]\x1b[0m ${line}\n`);
}

function start(name, args, env) {
  const child = spawn(node, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping the sandbox`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

let emulators;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  if (emulators) await emulators.stop();
  process.exit(code);
}

async function main() {
  if (!existsSync(join(root, 'node_modules'))) {
    log('installing dependencies (npm ci)…');
    spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  }
  if (process.env.LOCAL_SKIP_BUILD !== '1') {
    log('building…');
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('build failed');
  }

  log('starting the Firestore and Pub/Sub emulators…');
  emulators = await startEmulators();
  const emulatorEnv = { FIRESTORE_EMULATOR_HOST: emulators.firestoreHost, PUBSUB_EMULATOR_HOST: emulators.pubsubHost };

  const { PubSub } = await import('@google-cloud/pubsub');
  process.env.PUBSUB_EMULATOR_HOST = emulators.pubsubHost;
  const pubsub = new PubSub({ projectId: PROJECT });
  const [topic] = await pubsub.createTopic('marketplace');
  await topic.createSubscription('marketplace-sub', { ackDeadlineSeconds: 60 });
  const [changes] = await pubsub.createTopic('entitlement-changes');
  await changes.createSubscription('entitlement-changes-sub', { enableMessageOrdering: true });
  await pubsub.close();

  start(
    'fake Procurement API',
    ['dist/tools/fake-procurement/main.js', '--port', FAKE_PORT, '--provider', PROVIDER],
    {},
  );
  await waitFor(`http://127.0.0.1:${FAKE_PORT}/__control/calls`, 'the fake Procurement API');
  // A demo customer whose sign-up is done, so `npm run simulate -- buy` goes straight to approval.
  const control = `http://127.0.0.1:${FAKE_PORT}/__control/providers/${PROVIDER}`;
  await fetch(`${control}/accounts`, { method: 'POST', body: JSON.stringify({ accountId: DEMO_ACCOUNT }) });
  await fetch(`${control}/accounts/${DEMO_ACCOUNT}:approve`, { method: 'POST', body: '{}' });
  start('service', ['dist/service.cjs'], { ...LOCAL_ENV, ...emulatorEnv, PORT });
  await waitFor(`http://127.0.0.1:${PORT}/health/ready`, 'the service');

  log(`ready. Service http://127.0.0.1:${PORT}  (health: /health/live, /health/ready)`);
  log(
    `Firestore emulator ${emulators.firestoreHost}, Pub/Sub emulator ${emulators.pubsubHost}, fake Procurement API http://127.0.0.1:${FAKE_PORT}`,
  );
  log('next, in another terminal:');
  log('  npm run simulate -- buy --plan pro            # purchase → the service approves → Google activates');
  log('  npm run simulate -- show <entitlementId>      # the entitlement and the access summary in Firestore');
  log('  npm run simulate -- change-plan <entitlementId> --plan basic | cancel <entitlementId> | --help');
  log('Ctrl-C stops everything.');
  writeSandboxFile({ ...emulatorEnv, PORT, FAKE_PORT });
}

function writeSandboxFile(values) {
  mkdirSync(join(root, '.local'), { recursive: true });
  writeFileSync(
    join(root, '.local', 'sandbox.json'),
    JSON.stringify({ project: PROJECT, provider: PROVIDER, demoAccount: DEMO_ACCOUNT, ...values }, null, 2),
  );
}

process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));
main().catch(async (error) => {
  process.stderr.write(`${error.message ?? error}\n`);
  await stop(1);
});
