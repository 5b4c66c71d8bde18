#!/usr/bin/env node
// Drives the local sandbox started by `npm run local`: Marketplace customer actions through the
// simulator (published to the Pub/Sub emulator), and `show` to read what the service wrote.
//
//   npm run simulate -- buy --plan pro
//   npm run simulate -- show <entitlementId> [--json]
//   npm run simulate -- approve|reject <entitlementId> [--reason "…"]   (as the sandbox's local approver)
//   npm run simulate -- --help
//
// Like `npm run local`, it may start on the system's older Node; the simulator itself runs on the
// Node 22 that `npm ci` installs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeForChildren } from './local-checks.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// LOCAL_SANDBOX_FILE: another sandbox's state file (the tests' own).
const sandboxFile = process.env.LOCAL_SANDBOX_FILE ?? join(root, '.local', 'sandbox.json');
const sandbox = existsSync(sandboxFile) ? JSON.parse(readFileSync(sandboxFile, 'utf8')) : null;
if (!sandbox || !alive(sandbox.pid)) {
  console.error('No local sandbox is running: start it first with `npm run local` (and keep it running).');
  process.exit(2);
}
const node = nodeForChildren(root);
if ('problem' in node) {
  console.error(`${node.problem}\nRun \`npm run local\` first: it installs what is missing.`);
  process.exit(2);
}
const env = {
  ...process.env,
  PUBSUB_EMULATOR_HOST: sandbox.PUBSUB_EMULATOR_HOST,
  FIRESTORE_EMULATOR_HOST: sandbox.FIRESTORE_EMULATOR_HOST,
  GOOGLE_CLOUD_PROJECT: sandbox.project,
  PROCUREMENT_URL: `http://127.0.0.1:${sandbox.FAKE_PORT}`,
  MARKETPLACE_PROVIDER_ID: sandbox.provider,
  PUBSUB_TOPIC: `projects/${sandbox.project}/topics/marketplace`,
  SERVICE_URL: `http://127.0.0.1:${sandbox.PORT}`,
  USAGE_KEY: sandbox.usageKey ?? '',
  SERVICE_CONTROL_URL: sandbox.FAKE_SC_PORT ? `http://127.0.0.1:${sandbox.FAKE_SC_PORT}` : '',
};
const [command, ...rest] = process.argv.slice(2);

if (command === 'webhook') {
  await sendSampleWebhook(rest[0]);
} else if (command === 'approve' || command === 'reject') {
  await decide(command, rest);
} else if (command === 'buy') {
  // The sandbox's whole purchase: buy on the demo account (signed up and approved when the sandbox
  // started) unless --account is given, wait for the service to approve, then activate as Google does.
  if (!rest.includes('--product')) rest.push('--product', 'demo-product.endpoints.demo-entitlements.cloud.goog');
  if (!rest.includes('--account')) rest.push('--account', sandbox.demoAccount);
  // The demo product has usage-based plans (config/products.yaml): Google gives each purchase a consumer id.
  if (!rest.includes('--usage-reporting-id')) {
    rest.push('--usage-reporting-id', `project_number:${String(Date.now()).slice(-12)}`);
  }
  const bought = cli(['buy', ...rest], 'pipe');
  process.stdout.write(bought.stdout);
  process.stderr.write(bought.stderr);
  const id = /entitlementId=(\S+)/.exec(bought.stdout)?.[1];
  if (bought.status !== 0 || !id) process.exit(bought.status ?? 1);
  console.log('waiting for the service to approve it…');
  const deadline = Date.now() + 30_000;
  let activated = false;
  while (!activated && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    activated = cli(['activate', id], 'pipe').status === 0;
  }
  if (!activated) {
    console.log(
      `not approved yet: its plan may need an admin (manual policy) or its account a sign-up. Inspect: npm run simulate -- show ${id}`,
    );
    process.exit(1);
  }
  console.log('Google activated it (ENTITLEMENT_ACTIVE published). In a moment:');
  console.log(`  npm run simulate -- show ${id}`);
} else {
  process.exit(cli(command ? [command, ...rest] : rest, 'inherit').status ?? 1);
}

function cli(args, stdio) {
  return spawnSync(node.binary, [join(root, 'dist/tools/simulator/cli.js'), ...args], {
    env,
    stdio,
    encoding: 'utf8',
  });
}

/**
 * Decides a parked purchase as an admin would (POST /admin/v1/entitlements/{id}/approve|reject), with the
 * sandbox's local approver key from its state file (ADMIN_LOCAL_KEYS, written there by `npm run local`).
 */
async function decide(action, args) {
  const [given] = args;
  const reasonAt = args.indexOf('--reason');
  const reason =
    reasonAt >= 0 ? args[reasonAt + 1] : `${action === 'approve' ? 'approved' : 'rejected'} in the local sandbox`;
  if (!given || given.startsWith('--') || !reason) {
    console.error(`usage: npm run simulate -- ${action} <entitlementId> [--reason "…"]`);
    process.exit(2);
  }
  const key = sandbox.adminKeys?.approver?.key;
  if (!key) {
    console.error('The sandbox wrote no local approver key: restart it with `npm run local`.');
    process.exit(2);
  }
  const id = given.includes(':') ? given : `gcp:${given}`;
  const response = await fetch(
    `http://127.0.0.1:${sandbox.PORT}/admin/v1/entitlements/${encodeURIComponent(id)}/${action}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ reason }),
    },
  );
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    console.error(`${action} refused (${response.status}): ${body.message ?? JSON.stringify(body)}`);
    process.exit(1);
  }
  console.log(`${action === 'approve' ? 'approved' : 'rejected'} ${id} as ${sandbox.adminKeys.approver.name}`);
  console.log(`  npm run simulate -- show ${id.replace(/^gcp:/, '')}`);
}

/** The sandbox's `npm run local` is still running (a stale .local/sandbox.json is not). */
function alive(pid) {
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * A signed sample webhook per provider, sent to the sandbox service with the sandbox's demo
 * secrets (scripts/local.mjs): `npm run simulate -- webhook purchasely|easycart|getcourse`.
 */
async function sendSampleWebhook(provider) {
  const { createHmac, randomUUID } = await import('node:crypto');
  const base = `http://127.0.0.1:${sandbox.PORT}`;
  const fixture = (path) => JSON.parse(readFileSync(join(root, 'test/fixtures', path), 'utf8'));
  const now = Date.now();
  let response;
  if (provider === 'purchasely') {
    const event = {
      ...fixture('purchasely/activate.json'),
      event_id: randomUUID(),
      event_created_at_ms: now,
      event_created_at: new Date(now).toISOString(),
      // A month paid from now (the fixture's dates are in 2023: it would be an expired subscription).
      purchased_at_ms: now,
      purchased_at: new Date(now).toISOString(),
      next_renewal_at_ms: now + 30 * 86_400_000,
      next_renewal_at: new Date(now + 30 * 86_400_000).toISOString(),
      effective_next_renewal_at_ms: now + 30 * 86_400_000,
      effective_next_renewal_at: new Date(now + 30 * 86_400_000).toISOString(),
      product: 'PREMIUM',
      user_id: 'demo-user',
      environment: 'PRODUCTION',
    }; // SANDBOX events are ignored by policy
    const body = JSON.stringify(event);
    const timestamp = String(Math.floor(now / 1000));
    const signature = createHmac('sha256', 'local-purchasely-secret-0001')
      .update(timestamp + body)
      .digest('hex');
    response = await fetch(`${base}/webhooks/purchasely`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-purchasely-timestamp': timestamp,
        'x-purchasely-request-signature': signature,
      },
      body,
    });
  } else if (provider === 'easycart') {
    const event = {
      ...fixture('easycart/product_assigned.json'),
      timestamp: Math.floor(now / 1000),
      product_name: 'demo-course',
      order_uuid: randomUUID(),
    };
    const body = JSON.stringify(event);
    const signature = createHmac('sha256', 'local-easycart-key-00000001').update(body).digest('hex');
    response = await fetch(`${base}/webhooks/easycart`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': signature },
      body,
    });
  } else if (provider === 'getcourse') {
    const finish = new Date(now + 30 * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
    const query = new URLSearchParams({
      event: 'purchase_active',
      purchase_id: String(now),
      user_id: '1',
      email: 'student@example.com',
      product: 'demo-course',
      finish_at: finish,
      status: 'active',
    });
    response = await fetch(`${base}/webhooks/getcourse/local-getcourse-token-000000000001?${query}`);
  } else {
    console.error('usage: npm run simulate -- webhook purchasely|easycart|getcourse');
    process.exit(2);
  }
  const text = await response.text();
  console.log(`${provider} webhook → HTTP ${response.status} ${text}`);
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: an error page */
  }
  const id = body.entitlementId ?? body.results?.[0]?.entitlementId;
  console.log(`see it with: npm run simulate -- show${id ? ` '${id}'` : ''}`);
  process.exit(response.ok ? 0 : 1);
}
