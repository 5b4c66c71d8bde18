#!/usr/bin/env node
// After a deploy: does the service answer as it should, from the outside? One line per check, `ok`, `skipped` or
// `problem` with what is wrong; exit 1 when any check has a problem. Run through scripts/smoke.sh.
//
//   scripts/smoke.sh <service URL> [--project P]
//
// Checks: health (live, and ready = Firestore reachable); a signed test webhook per configured provider, for the
// test product `smoke-test` (config/products.yaml) granted to the test user `smoke-test` for one day, which no
// product of yours unlocks; the Marketplace sign-up (the service's POST answers, the product's sign-up page answers
// a GET); an admin call with the operator's credential (GET /admin/v1/me).
//
// What it signs with, from the environment:
//   SMOKE_PURCHASELY_SECRET  a Purchasely shared secret      SMOKE_EASYCART_KEY  an EasyCart signing key
//   SMOKE_GETCOURSE_TOKEN    the GetCourse path token        SMOKE_SIGNUP_PAGE   the product's sign-up page URL
//   SMOKE_ADMIN_KEY          an admin API key (its SHA-256 is in ADMIN_API_KEYS), or
//   SMOKE_ADMIN_TOKEN        a Google ID token for ADMIN_AUDIENCE
// With --project, what is not in the environment is read with gcloud: the secrets the deployed service mounts
// (Secret Manager) and its MARKETPLACE_SIGNUP_REDIRECT_URL. A provider without a secret is skipped.
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';

const TIMEOUT_MS = 15_000;
const SUBJECT = 'smoke-test';
const EMAIL = 'smoke-test@entitlements.invalid';
const PRODUCT = 'smoke-test';
const DAY_MS = 86_400_000;

const lines = [];
const say = (status, check, detail) => {
  lines.push(status);
  process.stdout.write(`${status.padEnd(8)} ${check}: ${detail}\n`);
};

function usage(message) {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write('usage: scripts/smoke.sh <service URL> [--project P]   (settings: top of scripts/smoke.mjs)\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const base = (args.find((a) => !a.startsWith('--')) ?? '').replace(/\/+$/, '');
if (!/^https?:\/\/[^/\s]+$/.test(base)) usage(base ? `not a service URL: ${base}` : 'the service URL is required');
const projectAt = args.findIndex((a) => a === '--project' || a.startsWith('--project='));
const project = projectAt === -1 ? undefined : args[projectAt].split('=')[1] || args[projectAt + 1];
if (projectAt !== -1 && !project) usage('--project needs a project id');

/** The deployed service's env, when --project is given: plain values and secret names by variable. */
async function deployedEnv() {
  if (!project) return { values: {}, secrets: {} };
  const { nameAndRegion } = await import('./deploy-config.mjs');
  const { name, region } = nameAndRegion();
  const json = gcloud(['run', 'services', 'describe', name, `--region=${region}`, '--format=json']);
  const env = JSON.parse(json).spec.template.spec.containers[0].env ?? [];
  const values = {};
  const secrets = {};
  for (const e of env) {
    if (e.valueFrom?.secretKeyRef) secrets[e.name] = e.valueFrom.secretKeyRef;
    else values[e.name] = e.value;
  }
  return { values, secrets };
}

function gcloud(argv) {
  return execFileSync('gcloud', [`--project=${project}`, ...argv], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The first value of a secret (a rotation pair is `current,next`; either signs). */
function secretValue(deployed, variable, envName) {
  if (process.env[envName]) return process.env[envName];
  const ref = deployed.secrets[variable];
  if (!ref) return undefined;
  const value = gcloud(['secrets', 'versions', 'access', ref.key ?? 'latest', `--secret=${ref.name}`]);
  return value.split(',')[0].trim();
}

async function call(path, init = {}) {
  try {
    const response = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      ...init,
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  } catch (error) {
    const cause = error.cause?.code ?? error.cause?.message ?? error.name;
    return { status: 0, text: `could not connect (${cause})`, json: undefined };
  }
}

/** What a non-answer from the service means, in words. */
function explain(r) {
  if (r.status === 0) return r.text;
  if (r.status === 403 && /<html/i.test(r.text)) {
    return "403 from Cloud Run's front end, before the service: its invoker IAM check is on (deploy/service.yaml sets run.googleapis.com/invoker-iam-disabled)";
  }
  const body = r.json ? JSON.stringify(r.json) : r.text.replace(/\s+/g, ' ');
  return `HTTP ${r.status} ${body.slice(0, 300)}`;
}

async function health() {
  const live = await call('/health/live');
  if (live.status !== 200) return say('problem', 'health', `/health/live: ${explain(live)}`);
  const ready = await call('/health/ready');
  if (ready.status !== 200 || ready.json?.firestore !== 'ok') {
    return say('problem', 'health', `/health/ready (Firestore): ${explain(ready)}`);
  }
  say('ok', 'health', '/health/live 200, /health/ready 200 (Firestore reachable)');
}

/** A webhook answer: ok when the event went through the ledger for the test product. */
function webhookVerdict(provider, r) {
  const outcome = r.json?.outcome;
  if (r.status === 200 && (outcome === 'applied' || outcome === 'duplicate')) {
    return say('ok', provider, `signed test event → 200 ${outcome} (test product ${PRODUCT})`);
  }
  if (r.status === 200) {
    const reason = r.json?.results?.[0]?.reason ?? r.json?.reason ?? '';
    return say(
      'problem',
      provider,
      `accepted but ${outcome ?? 'no outcome'}${reason ? `: ${reason}` : ''} (is ${PRODUCT} in config/products.yaml?)`,
    );
  }
  const hint =
    r.status === 401
      ? ' (the secret does not match the one the service has)'
      : r.status === 404
        ? ' (not enabled on the service)'
        : '';
  say('problem', provider, `${explain(r)}${hint}`);
}

async function purchasely(secret) {
  const now = Date.now();
  const body = JSON.stringify({
    api_version: 3,
    event_id: randomUUID(),
    event_name: 'ACTIVATE',
    event_created_at: new Date(now).toISOString(),
    event_created_at_ms: now,
    environment: 'PRODUCTION',
    product: 'SMOKE-TEST',
    plan: 'smoke',
    user_id: SUBJECT,
    store: 'APPLE_APP_STORE',
    store_country: 'FR',
    store_product_id: 'smoke.test',
    store_transaction_id: `smoke-${now}`,
    store_original_transaction_id: 'smoke-test',
    purchasely_subscription_id: 'subs_smoke_test',
    purchase_type: 'RENEWING_SUBSCRIPTION',
    subscription_status: 'AUTO_RENEWING',
    offer_type: 'NONE',
    previous_offer_type: 'NONE',
    is_family_shared: false,
    purchased_at: new Date(now).toISOString(),
    purchased_at_ms: now,
    next_renewal_at: new Date(now + DAY_MS).toISOString(),
    next_renewal_at_ms: now + DAY_MS,
    effective_next_renewal_at: new Date(now + DAY_MS).toISOString(),
    effective_next_renewal_at_ms: now + DAY_MS,
  });
  const timestamp = String(Math.floor(now / 1000));
  const signature = createHmac('sha256', secret)
    .update(timestamp + body)
    .digest('hex');
  const r = await call('/webhooks/purchasely', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-purchasely-timestamp': timestamp,
      'x-purchasely-request-signature': signature,
    },
    body,
  });
  webhookVerdict('purchasely', r);
}

async function easycart(key) {
  const now = Date.now();
  const until = new Date(now + DAY_MS).toISOString();
  const body = JSON.stringify({
    event: 'product_assigned',
    timestamp: Math.floor(now / 1000),
    success: true,
    is_subscription: true,
    is_new: true,
    is_renew: false,
    subscription_canceled: false,
    subscription_expired: false,
    subscription_renews_at: until,
    subscription_current_period_end: until,
    customer_email: EMAIL,
    customer_name: 'Smoke Test',
    order_uuid: 'smoke-test',
    product_name: PRODUCT,
    price_description: 'smoke',
    subscription_plan_name: 'smoke',
    assignee: { email: EMAIL, name: 'Smoke Test' },
  });
  const signature = createHmac('sha256', key).update(body).digest('hex');
  const r = await call('/webhooks/easycart', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-signature': signature },
    body,
  });
  webhookVerdict('easycart', r);
}

async function getcourse(token) {
  // A day either side: GetCourse sends the school's local time without a zone, whichever zone that is.
  const local = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const now = Date.now();
  const query = new URLSearchParams({
    event: 'purchase_active',
    purchase_id: 'smoke-test',
    user_id: '0',
    email: EMAIL,
    product: PRODUCT,
    start_at: local(now - DAY_MS),
    finish_at: local(now + 2 * DAY_MS),
    status: 'active',
  });
  webhookVerdict('getcourse', await call(`/webhooks/getcourse/${encodeURIComponent(token)}?${query}`));
}

async function signup(page) {
  const post = await call('/marketplace/signup', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  if (post.status === 404)
    return say(
      'problem',
      'sign-up',
      'POST /marketplace/signup: 404, sign-up is not enabled (MARKETPLACE_SIGNUP_AUDIENCE)',
    );
  if (post.status !== 400 || !post.json?.code)
    return say(
      'problem',
      'sign-up',
      `POST /marketplace/signup without a token: ${explain(post)} (expected the service's 400)`,
    );
  if (!page)
    return say(
      'skipped',
      'sign-up',
      'the service answers POST /marketplace/signup; no sign-up page to GET (SMOKE_SIGNUP_PAGE, or --project)',
    );
  const get = await call(page);
  if (get.status === 0 || get.status >= 400)
    return say('problem', 'sign-up', `GET ${page}: ${explain(get)} (buyers land there after sign-up)`);
  say('ok', 'sign-up', `POST /marketplace/signup answers (400 without a token); GET ${page} → ${get.status}`);
}

async function admin() {
  const key = process.env.SMOKE_ADMIN_KEY;
  const token = process.env.SMOKE_ADMIN_TOKEN;
  if (!key && !token) {
    return say(
      'problem',
      'admin',
      'no credential: set SMOKE_ADMIN_KEY (an admin API key) or SMOKE_ADMIN_TOKEN (a Google ID token)',
    );
  }
  const headers = key ? { 'x-api-key': key } : { authorization: `Bearer ${token}` };
  const r = await call('/admin/v1/me', { headers });
  if (r.status !== 200) {
    const hint =
      r.status === 401
        ? ' (the credential is not one the service knows)'
        : r.status === 403
          ? ' (known, but without a role)'
          : '';
    return say('problem', 'admin', `GET /admin/v1/me: ${explain(r)}${hint}`);
  }
  const who = r.json?.name ?? r.json?.email ?? r.json?.id ?? 'the caller';
  say('ok', 'admin', `GET /admin/v1/me → 200 as ${who}${r.json?.role ? ` (${r.json.role})` : ''}`);
}

async function main() {
  let deployed = { values: {}, secrets: {} };
  try {
    deployed = await deployedEnv();
  } catch (error) {
    say(
      'problem',
      'gcloud',
      `could not read the deployed service: ${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .at(-1)}`,
    );
  }
  await health();
  const providers = [
    ['purchasely', 'PURCHASELY_SECRETS', 'SMOKE_PURCHASELY_SECRET', purchasely],
    ['easycart', 'EASYCART_SIGNING_KEYS', 'SMOKE_EASYCART_KEY', easycart],
    ['getcourse', 'GETCOURSE_PATH_TOKEN', 'SMOKE_GETCOURSE_TOKEN', getcourse],
  ];
  for (const [name, variable, envName, send] of providers) {
    let secret;
    try {
      secret = secretValue(deployed, variable, envName);
    } catch (error) {
      say(
        'problem',
        name,
        `could not read its secret: ${String(error.stderr ?? error.message)
          .trim()
          .split('\n')
          .at(-1)}`,
      );
      continue;
    }
    if (!secret) say('skipped', name, `not configured here (${envName}${project ? '' : ', or --project to read it'})`);
    else await send(secret);
  }
  await signup(process.env.SMOKE_SIGNUP_PAGE ?? deployed.values.MARKETPLACE_SIGNUP_REDIRECT_URL);
  await admin();
  process.exitCode = lines.includes('problem') ? 1 : 0;
}

await main();
