// Child process of bench/hot-subject.mjs: boots the built service (the real bootstrap()) and applies its share of
// the burst (changes FROM..TO, all for one subject) through the ledger at once, re-sending what failed as a
// provider would (the ledger dedups by event key): at once, the harshest case (Pub/Sub without a retry policy).
// Stops re-sending after BENCH_LIMIT_MS (the change counts as unfinished). Prints one JSON line when done.
// Not part of the service.
import { join } from 'node:path';

const dist = process.env.BENCH_DIST_DIR;
const from = Number(process.env.BENCH_FROM);
const to = Number(process.env.BENCH_TO);
const transport = process.env.BENCH_TRANSPORT ?? 'webhook';
const limitMs = Number(process.env.BENCH_LIMIT_MS ?? 900_000);
const { bootstrap } = await import(join(dist, 'src', 'bootstrap.js'));
const { Ledger } = await import(join(dist, 'src', 'entitlements', 'ledger.js'));
const app = await bootstrap();
await app.init();
const ledger = app.get(Ledger);
process.stdout.write('ready\n');
// A signal listener does not keep the event loop alive: a timer does, until the burst is started.
const alive = setInterval(() => {}, 1000);
await new Promise((resolve) => process.once('SIGUSR2', resolve));
clearInterval(alive);
const now = Date.now();
const stopAt = now + limitMs;
let deliveries = 0;
let resent = 0;
/** Failed deliveries by what the service said (the message without the ids in it). */
const failures = {};
const one = async (i) => {
  const change = {
    source: 'easycart',
    eventKey: `hot-${i}`,
    eventType: 'order.paid',
    sourceTime: new Date(now - 86_400_000),
    externalId: `hot-${i}`,
    subject: { key: 'email:hot@example.com', email: 'hot@example.com' },
    product: { product: 'demo', plan: null, providerProduct: 'demo', providerPlan: null },
    status: 'active',
    providerState: 'paid',
    validFrom: new Date(now - 86_400_000),
    validUntil: new Date(now + 30 * 86_400_000),
    actor: { type: 'provider', id: 'easycart' },
  };
  const event = {
    source: 'easycart',
    eventKey: change.eventKey,
    eventType: change.eventType,
    transport: { kind: transport, id: change.eventKey },
    raw: '{}',
  };
  for (let first = true; ; first = false) {
    if (Date.now() > stopAt) return 'unfinished';
    if (!first) resent++;
    deliveries++;
    try {
      return (await ledger.apply(change, event)).outcome;
    } catch (error) {
      const what = String(error?.message ?? error).replace(/\(.*\)/, '(…)');
      failures[what] = (failures[what] ?? 0) + 1;
    }
  }
};
const started = performance.now();
const outcomes = {};
let lastDone = 0;
await Promise.all(
  Array.from({ length: to - from }, async (_, k) => {
    const outcome = await one(from + k);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (outcome !== 'unfinished') lastDone = performance.now();
  }),
);
process.stdout.write(
  `${JSON.stringify({ seconds: (lastDone - started) / 1000, outcomes, deliveries, resent, failures })}\n`,
);
await app.close();
process.exit(0);
