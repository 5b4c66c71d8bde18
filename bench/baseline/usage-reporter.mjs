// Baseline of bench/usage.mjs: the least a usage reporter must do for the same records, as a bare script
// (Firestore client and fetch, no NestJS, no service code): per entitlement, read its pending records, add
// them up, one check and one report to Service Control, then mark the records reported and write a window
// document in batches. No claim, no lease, no checkpoint transaction: not crash-safe, only the floor of the
// work. Env: GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST, SC_URL, SERVICE, CONCURRENCY. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { Firestore } from '@google-cloud/firestore';

const db = new Firestore({ projectId: process.env.GOOGLE_CLOUD_PROJECT });
const { SC_URL, SERVICE } = process.env;
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const started = performance.now();
let calls = 0;
let records = 0;

const post = async (method, body) => {
  calls++;
  const res = await fetch(`${SC_URL}/v1/services/${SERVICE}:${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status}`);
  return res.json();
};

const entitlements = (
  await db.collection('entitlements').where('source', '==', 'gcp').where('status', '==', 'active').get()
).docs;
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < entitlements.length) {
      const e = entitlements[next++];
      const usage = db.collection('usage').doc(e.id);
      const pending = (await usage.collection('records').where('reported', '==', false).get()).docs.filter(
        (d) => d.get('time').toMillis() < end.getTime(),
      );
      let sum = 0n;
      for (const d of pending) sum += BigInt(d.get('value'));
      const since = (await usage.get()).get('since').toDate();
      const operation = {
        operationId: `${e.id}:${since.getTime()}`,
        operationName: 'Usage Report',
        consumerId: e.get('details').marketplace.usageReportingId,
        startTime: new Date(Math.floor(since.getTime() / 3_600_000) * 3_600_000).toISOString(),
        endTime: end.toISOString(),
        metricValueSets: [{ metricName: `${SERVICE}/api_calls`, metricValues: [{ int64Value: String(sum) }] }],
      };
      const check = await post('check', { operation });
      if (check.checkErrors?.length) continue;
      const report = await post('report', { operations: [operation] });
      if (report.reportErrors?.length) throw new Error('reportErrors');
      for (let i = 0; i < pending.length; i += 400) {
        const batch = db.batch();
        for (const d of pending.slice(i, i + 400))
          batch.update(d.ref, { reported: true, window: operation.operationId });
        if (i === 0)
          batch.set(usage.collection('windows').doc(operation.operationId), { ...operation, state: 'reported' });
        await batch.commit();
      }
      records += pending.length;
    }
  }),
);
const ms = performance.now() - started;
const peak = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
process.stdout.write(`${JSON.stringify({ ms, calls, records, entitlements: entitlements.length, peak })}\n`);
await db.terminate();
