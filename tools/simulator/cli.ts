/**
 * Command line for the marketplace simulator, e.g.
 *   node dist/tools/simulator/cli.js buy --product acme.example.com --plan pro
 *   node dist/tools/simulator/cli.js activate <entitlementId>
 *   node dist/tools/simulator/cli.js show <entitlementId>     (what the service wrote to Firestore)
 * Configured by PROCUREMENT_URL, MARKETPLACE_PROVIDER_ID, PUBSUB_TOPIC and GOOGLE_CLOUD_PROJECT
 * (and PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST, which the Google clients read themselves).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { emulatorAuth } from '../../src/infrastructure/emulator-auth.js';
import {
  MarketplaceSimulator,
  pubsubPublisher,
  SimulatorError,
  type Publish,
  type SimulationResult,
} from './simulator.js';
import { reportedUsage, sendUsage } from './usage.js';

export const DEFAULTS = {
  procurementUrl: 'http://127.0.0.1:8089',
  providerId: 'demo-provider',
  topic: 'projects/demo-entitlements/topics/marketplace',
} as const;

const USAGE = `Usage: cli.js <command> [options]

  sign-up [--account ID]                          create a customer account (signup PENDING)
  approve-account <accountId>                     approve signup, as the seller's sign-up page would
  buy --product NAME --plan PLAN [--account ID]   purchase; signs up a new account unless --account exists
      [--duration P1M] [--future-start RFC3339] [--usage-reporting-id ID]
      [--auto-approval]                           Google approves by itself (ENTITLEMENT_OFFER_ACCEPTED only)
  activate <entitlementId>                        Google activates an approved entitlement
  change-plan <entitlementId> --plan PLAN [--now] customer requests a plan change (--now: applies once approved)
  complete-plan-change <entitlementId>            an approved plan change takes effect
  cancel-plan-change <entitlementId>              customer withdraws a plan change
  cancel <entitlementId> [--now]                  cancel at period end, or now
  end-period <entitlementId>                      the term of a pending cancellation ends
  revert-cancellation <entitlementId>             customer un-cancels
  renew <entitlementId>                           the term renews
  offer-ended <entitlementId> [--cancel]          the offer ends (and Google cancels, with --cancel)
  delete <entitlementId>                          Marketplace deletes a cancelled entitlement
  delete-account <accountId>                      customer closes the account
  flush                                           publish what Google announced for the service's own calls
  list                                            show accounts and entitlements in the fake
  show [<entitlementId>] [--json]                 what the service wrote to Firestore: the entitlement
                                                  and its access summary (the latest ones without an id),
                                                  and the usage reports the fake Service Control received
  usage <entitlementId> --metric NAME --value N   the product backend records usage (POST /usage/v1/records)
      [--record-id ID] [--time RFC3339]
  approve|reject <entitlementId> [--reason TEXT]  (npm run simulate) decide a purchase waiting for an admin,
                                                  as the sandbox's local approver (ADMIN_LOCAL_KEYS)

Environment: PROCUREMENT_URL (${DEFAULTS.procurementUrl}), MARKETPLACE_PROVIDER_ID (${DEFAULTS.providerId}),
PUBSUB_TOPIC (${DEFAULTS.topic}), GOOGLE_CLOUD_PROJECT, PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST,
SERVICE_URL, USAGE_KEY and SERVICE_CONTROL_URL (usage).`;

const OPTIONS = {
  account: { type: 'string' },
  product: { type: 'string' },
  plan: { type: 'string' },
  duration: { type: 'string' },
  'future-start': { type: 'string' },
  'usage-reporting-id': { type: 'string' },
  'auto-approval': { type: 'boolean' },
  now: { type: 'boolean' },
  cancel: { type: 'boolean' },
  json: { type: 'boolean' },
  metric: { type: 'string' },
  value: { type: 'string' },
  'record-id': { type: 'string' },
  time: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Command {
  needsId?: 'entitlement' | 'account';
  run(simulator: MarketplaceSimulator, id: string, values: Values): Promise<SimulationResult>;
}

const COMMANDS: Record<string, Command> = {
  'sign-up': { run: (s, _id, v) => s.signUpAccount(v.account ? { accountId: v.account } : {}) },
  'approve-account': { needsId: 'account', run: (s, id) => s.approveAccount(id) },
  buy: {
    run: (s, _id, v) =>
      s.buy({
        product: required(v.product, '--product'),
        plan: required(v.plan, '--plan'),
        ...(v.account ? { accountId: v.account } : {}),
        ...(v.duration ? { offerDuration: v.duration } : {}),
        ...(v['future-start'] ? { futureStart: v['future-start'] } : {}),
        ...(v['usage-reporting-id'] ? { usageReportingId: v['usage-reporting-id'] } : {}),
        ...(v['auto-approval'] ? { automaticApproval: true } : {}),
      }),
  },
  activate: { needsId: 'entitlement', run: (s, id) => s.activate(id) },
  'change-plan': {
    needsId: 'entitlement',
    run: (s, id, v) => s.changePlan(id, required(v.plan, '--plan'), v.now ? { takesEffect: 'now' } : {}),
  },
  'complete-plan-change': { needsId: 'entitlement', run: (s, id) => s.completePlanChange(id) },
  'cancel-plan-change': { needsId: 'entitlement', run: (s, id) => s.cancelPlanChange(id) },
  cancel: { needsId: 'entitlement', run: (s, id, v) => s.cancel(id, { atPeriodEnd: !v.now }) },
  'end-period': { needsId: 'entitlement', run: (s, id) => s.endPeriod(id) },
  'revert-cancellation': { needsId: 'entitlement', run: (s, id) => s.revertCancellation(id) },
  renew: { needsId: 'entitlement', run: (s, id) => s.renew(id) },
  'offer-ended': { needsId: 'entitlement', run: (s, id, v) => s.offerEnded(id, { cancel: v.cancel ?? false }) },
  delete: { needsId: 'entitlement', run: (s, id) => s.deleteEntitlement(id) },
  'delete-account': { needsId: 'account', run: (s, id) => s.deleteAccount(id) },
  flush: { run: (s) => s.flush() },
};

class UsageError extends Error {}

function parseCommandLine(argv: readonly string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (error) {
    // parseArgs refuses unknown or malformed options with a TypeError whose message says which.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}

export interface CliDependencies {
  /** Replaces Pub/Sub publishing (tests). */
  publish?: Publish;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Runs one command; resolves to the process exit code. */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  deps: CliDependencies = {},
): Promise<number> {
  const out = deps.out ?? ((line: string) => console.log(line));
  const err = deps.err ?? ((line: string) => console.error(line));
  try {
    const { values, positionals } = parseCommandLine(argv);
    const [name, id] = positionals;
    if (values.help || !name) {
      out(USAGE);
      return name || values.help ? 0 : 2;
    }
    const procurementUrl = env['PROCUREMENT_URL'] || DEFAULTS.procurementUrl;
    const providerId = env['MARKETPLACE_PROVIDER_ID'] || DEFAULTS.providerId;
    if (name === 'usage') return await usage(required(id, 'usage <entitlementId>'), values, env, out, err);
    if (name === 'show') {
      const code = await showFromEnv(id, values.json ?? false, env, out);
      if (env['SERVICE_CONTROL_URL']) {
        const lines = await reportedUsage(env['SERVICE_CONTROL_URL']);
        out(lines.length ? 'usage reported to Service Control (fake):' : 'no usage reported to Service Control yet');
        lines.forEach((line) => out(`  ${line}`));
      }
      return code;
    }
    if (name === 'list') {
      return await list(new MarketplaceSimulator({ procurementUrl, providerId, publish: noPublishing }), out);
    }
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    if (command.needsId && !id) throw new UsageError(`${name} needs an ${command.needsId} id`);
    const publisher = deps.publish ? { publish: deps.publish, close: async () => {} } : await pubsubFromEnv(env);
    try {
      const simulator = new MarketplaceSimulator({ procurementUrl, providerId, publish: publisher.publish });
      report(name, await command.run(simulator, id ?? '', values), out);
    } finally {
      await publisher.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    err(
      `error: ${error instanceof SimulatorError ? `${error.message} (${error.httpStatus} ${error.status ?? ''})`.trim() : String(error)}`,
    );
    return 1;
  }
}

function report(command: string, result: SimulationResult, out: (line: string) => void): void {
  const entitlement = result.entitlement;
  if (entitlement) {
    const plan = entitlement.plan ? `, plan ${entitlement.plan}` : '';
    const pending = entitlement.newPendingPlan ? ` → ${entitlement.newPendingPlan}` : '';
    out(`${command}: entitlement ${result.entitlementId} is ${entitlement.state}${plan}${pending}`);
  } else if (result.account) {
    out(`${command}: account ${result.accountId} signup ${result.account.approvals[0]?.state ?? 'none'}`);
  }
  result.messages.forEach((message, i) =>
    out(`  published ${message.eventType} (${message.eventId}) as message ${result.messageIds[i] ?? '?'}`),
  );
  if (result.entitlementId) out(`entitlementId=${result.entitlementId}`);
  if (result.accountId) out(`accountId=${result.accountId}`);
}

async function list(simulator: MarketplaceSimulator, out: (line: string) => void): Promise<number> {
  for (const account of await simulator.listAccounts()) {
    out(`account ${account.name.split('/').at(-1)} signup ${account.approvals[0]?.state ?? 'none'}`);
  }
  for (const { entitlement, approved } of await simulator.listEntitlements()) {
    const id = entitlement.name.split('/').at(-1);
    const account = entitlement.account?.split('/').at(-1);
    out(
      `entitlement ${id} ${entitlement.state} plan ${entitlement.plan ?? '-'} account ${account ?? '-'}${approved ? ' (approved)' : ''}`,
    );
  }
  return 0;
}

const noPublishing: Publish = () => Promise.reject(new Error('list does not publish'));

/** Firestore of GOOGLE_CLOUD_PROJECT (or the project in PUBSUB_TOPIC), loaded only for `show`. */
async function showFromEnv(
  id: string | undefined,
  json: boolean,
  env: Readonly<Record<string, string | undefined>>,
  out: (line: string) => void,
): Promise<number> {
  const projectId =
    env['GOOGLE_CLOUD_PROJECT'] || /^projects\/([^/]+)\//.exec(env['PUBSUB_TOPIC'] || DEFAULTS.topic)?.[1];
  const [{ Firestore }, { show }] = await Promise.all([import('@google-cloud/firestore'), import('./show.js')]);
  const db = new Firestore({ projectId, ...emulatorAuth(env['FIRESTORE_EMULATOR_HOST']) });
  try {
    return await show(db, id, json, out);
  } finally {
    await db.terminate();
  }
}

async function usage(
  entitlementId: string,
  values: Values,
  env: Readonly<Record<string, string | undefined>>,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const value = Number(required(values.value, '--value'));
  if (!Number.isFinite(value)) throw new UsageError('--value must be a number');
  const { status, body } = await sendUsage(
    { serviceUrl: env['SERVICE_URL'] || 'http://127.0.0.1:8080', usageKey: env['USAGE_KEY'] ?? '' },
    {
      entitlementId,
      metric: required(values.metric, '--metric'),
      value,
      ...(values['record-id'] ? { id: values['record-id'] } : {}),
      ...(values.time ? { time: values.time } : {}),
    },
  );
  (status === 200 ? out : err)(`usage: HTTP ${status} ${JSON.stringify(body)}`);
  if (status === 200) out('the reporter sends it once its window closes (a minute in the sandbox); then: show');
  return status === 200 ? 0 : 1;
}

/** A topic on the Pub/Sub emulator is created on first use; a real one must already exist. */
async function pubsubFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ publish: Publish; close: () => Promise<void> }> {
  const topicName = env['PUBSUB_TOPIC'] || DEFAULTS.topic;
  const projectId = env['GOOGLE_CLOUD_PROJECT'] || /^projects\/([^/]+)\//.exec(topicName)?.[1];
  const pubsub = new PubSub({ ...(projectId ? { projectId } : {}), ...emulatorAuth(env['PUBSUB_EMULATOR_HOST']) });
  const topic = pubsub.topic(topicName);
  if (env['PUBSUB_EMULATOR_HOST'] && !(await topic.exists())[0]) await topic.create();
  return { publish: pubsubPublisher(topic), close: () => pubsub.close() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), process.env);
}
