// npm run bench:client [-- --subjects 200 --reads 1500 --rounds 5 --warmup 2000 --entries 3]
//
// `access.current` of the typed client (client/) against a raw document read, in the same run, on
// the Firestore emulator: the same Firestore instance (one gRPC channel), the same documents, calls
// interleaved one by one (raw, client, client, raw, …) so drift in the emulator's speed hits both
// alike. The raw read is what the documented snippet does before its loop: `doc(id).get()` and
// `snap.data()`. The client adds the subject-key check, the document id, decoding and validating
// every entry, and applying the windows. Target (issue 21): client median ≤ 1.05 × raw median.
// Context: the client's own CPU per call on a document already read (decode + windows), and a
// cached call (`cacheTtlMs`), which reads nothing.
//
// The client is built as `npm run build:client` does, into a private temporary directory. The
// documents have the shape the service writes (`access/{subjectKey}`: `entries` entitlements of
// three sources with Timestamps, products, version, updatedAt), written directly: the emulator
// specs in client/test/ prove the client on documents the service itself wrote.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFirestoreEmulator } from '../scripts/emulators.mjs';
import {
  NODE,
  ROOT,
  fmt,
  log,
  median,
  onExit,
  options,
  percentile,
  projectId,
  provenance,
  run,
  table,
  verdict,
  writeSection,
} from './lib/common.mjs';

const TARGET = 1.05;

run(async () => {
  const o = options({ subjects: 200, reads: 1500, rounds: 5, warmup: 2000, entries: 3 });
  const client = await buildClient();
  const started = Date.now();
  const emulator = await startFirestoreEmulator();
  onExit(() => emulator.stop());
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  log(`Firestore emulator up in ${Date.now() - started} ms (${emulator.host})`);

  const { Firestore, Timestamp } = await import('@google-cloud/firestore');
  const db = new Firestore({ projectId: projectId('bench-client') });
  onExit(() => db.terminate());
  const keys = await seed(db, Timestamp, o);
  const access = client.createAccess(db);
  const cached = client.createAccess(db, { cacheTtlMs: 3_600_000 });

  const raw = async (key) => {
    const snap = await db.collection('access').doc(key).get();
    return snap.data();
  };
  const viaClient = (key) => access.current(key);
  const check = await viaClient(keys[0]);
  if (check.entitlements.length !== o.entries) throw new Error(`client read ${check.entitlements.length} entries`);

  log(`warm-up: ${o.warmup} reads each (the emulator is a JVM)`);
  await interleaved(keys, o.warmup, raw, viaClient);

  const rounds = [];
  for (let round = 1; round <= o.rounds; round++) {
    const r = await interleaved(keys, o.reads, raw, viaClient);
    rounds.push(r);
    log(
      `round ${round}: raw ${fmt.ms(median(r.raw))}, client ${fmt.ms(median(r.client))} (median), ratio ${fmt.ratio(median(r.client) / median(r.raw))}`,
    );
  }
  const all = { raw: rounds.flatMap((r) => r.raw), client: rounds.flatMap((r) => r.client) };
  const ratio = median(all.client) / median(all.raw);
  const meanRatio = mean(all.client) / mean(all.raw);
  const perRound = rounds.map((r) => median(r.client) / median(r.raw));

  // Context: the client's own work on a document already read, and a cached call.
  const data = await raw(keys[0]);
  const cpuUs = microsPerCall(() => client.accessAt(client.decodeAccessDocument(keys[0], data), new Date()), 20_000);
  for (const key of keys) await cached.current(key);
  const cachedTimes = [];
  for (let i = 0; i < o.reads; i++) {
    const t = process.hrtime.bigint();
    await cached.current(keys[i % keys.length]);
    cachedTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }

  const us = (v) => `${(v * 1000).toFixed(1)} µs`;
  const row = (name, values, f = fmt.ms) => [
    name,
    f(median(values)),
    f(percentile(values, 90)),
    f(percentile(values, 99)),
    f(mean(values)),
    fmt.n(values.length),
  ];
  const section = `
## Client (\`access.current\`)

${provenance('bench:client')}

\`access.current(subjectKey)\` of \`@marketplace-entitlements/client\` (client/, built as \`npm run build:client\` does)
against a raw read of the same document (\`doc(id).get()\` and \`snap.data()\`, what the raw snippet of
docs/firestore.md does before its loop), on the Firestore emulator: one Firestore instance, ${o.subjects} access
documents of ${o.entries} entitlements each (the shape the service writes), calls interleaved one by one (raw, client,
client, raw, …) after ${fmt.n(o.warmup)} untimed reads of each. ${o.rounds} rounds of ${fmt.n(o.reads)} reads each.

${table(
  ['Read', 'Median', 'p90', 'p99', 'Mean', 'Calls'],
  [
    row('raw document read', all.raw),
    row('`access.current` (no cache)', all.client),
    row('context: `access.current`, cached (`cacheTtlMs`)', cachedTimes, us),
  ],
)}

Ratio client / raw (medians): **${fmt.ratioVs(ratio, TARGET, false)}** (target ≤ ${TARGET}: ${verdict(ratio <= TARGET)}); means:
${fmt.ratio(meanRatio)}; per round: ${perRound.map((r) => fmt.ratio(r)).join(', ')}. The client's own CPU per call on a
document already read (decoding and validating ${o.entries} entries, the windows, the products map):
${cpuUs.toFixed(1)} µs, against a read that takes ${fmt.ms(median(all.raw))} on the emulator (more in production,
where the read crosses the network), so what the client adds is well inside the noise of the read. A cached call
reads nothing.
`;
  process.stdout.write(section);
  await writeSection('client', section);
});

/** `tsc -p client/tsconfig.build.json` into a private directory (a concurrent build cannot pull it away). */
async function buildClient() {
  const dir = mkdtempSync(join(tmpdir(), 'entitlements-bench-client-'));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  const tsc = spawnSync(
    NODE,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'client/tsconfig.build.json', '--outDir', dir],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (tsc.status !== 0) throw new Error(`client build failed:\n${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  return import(pathToFileURL(join(dir, 'index.js')).href);
}

async function seed(db, Timestamp, o) {
  const sources = ['purchasely', 'gcp', 'getcourse'];
  const now = Date.now();
  const keys = [];
  let batch = db.batch();
  for (let s = 0; s < o.subjects; s++) {
    const key = `user:bench-${s}`;
    const entitlements = {};
    for (let e = 0; e < o.entries; e++) {
      const source = sources[e % sources.length];
      const id = `${source}:bench-${s}-${e}`;
      entitlements[id] = {
        entitlementId: id,
        source,
        product: e === 0 ? 'demo' : `product-${e}`,
        plan: e === 2 ? null : 'pro',
        status: 'active',
        validFrom: Timestamp.fromMillis(now - 86_400_000),
        validUntil: e === 1 ? null : Timestamp.fromMillis(now + 30 * 86_400_000),
      };
    }
    const products = [...new Set(Object.values(entitlements).map((x) => x.product))].sort();
    batch.set(db.collection('access').doc(key), {
      subjectKey: key,
      entitlements,
      products,
      version: 1,
      updatedAt: Timestamp.fromMillis(now),
    });
    keys.push(key);
    if (s % 400 === 399) {
      await batch.commit();
      batch = db.batch();
    }
  }
  await batch.commit();
  return keys;
}

/** `n` reads of each, alternating which goes first (raw, client, client, raw, …). */
async function interleaved(keys, n, raw, viaClient) {
  const times = { raw: [], client: [] };
  const timed = async (fn, key, into) => {
    const t = process.hrtime.bigint();
    await fn(key);
    into.push(Number(process.hrtime.bigint() - t) / 1e6);
  };
  for (let i = 0; i < n; i++) {
    const a = keys[i % keys.length];
    const b = keys[(i + Math.floor(keys.length / 2)) % keys.length];
    if (i % 2) {
      await timed(raw, a, times.raw);
      await timed(viaClient, b, times.client);
    } else {
      await timed(viaClient, a, times.client);
      await timed(raw, b, times.raw);
    }
  }
  return times;
}

function microsPerCall(fn, n) {
  for (let i = 0; i < 2_000; i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / n;
}

function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
