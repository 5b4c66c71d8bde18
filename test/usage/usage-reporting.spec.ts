import { afterEach, describe, expect, it } from '@jest/globals';
import { RunBudget } from '../../src/lifecycle/run-support.js';
import { UsageReporter } from '../../src/usage/usage-reporter.service.js';
import { operationId } from '../../src/usage/usage-windows.js';
import { runCli } from '../../tools/simulator/cli.js';
import { HOUR, reportsOf, SERVICE, startUsageApp, USAGE_KEY, type UsageApp } from './support.js';

const at = (iso: string) => new Date(iso);

describe('Usage reporting on the Firestore emulator, against the fake Service Control', () => {
  const apps: UsageApp[] = [];
  const start = async (...args: Parameters<typeof startUsageApp>) => {
    const app = await startUsageApp(...args);
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('should sum a window, report it once after it closes (check, then report, one operation id), and start the next at its end', async () => {
    const app = await start({ now: at('2026-11-01T10:20:00Z') });
    const id = await app.buy('e-100');
    expect((await app.jobs.reportUsage()).opened).toBe(1);
    const posted = await app.post([
      { entitlementId: id, id: 'r1', metric: 'api_calls', value: 100, time: '2026-11-01T10:30:00Z' },
      { entitlementId: id, id: 'r2', metric: 'api_calls', value: 20, time: '2026-11-01T10:59:59.999Z' },
      { entitlementId: id, id: 'r3', metric: 'api_calls', value: 5, time: '2026-11-01T11:00:00Z' },
    ]);
    expect(posted).toMatchObject({ status: 200, body: { created: 3, duplicates: 0, conflicts: 0 } });

    app.clock.set(at('2026-11-01T10:59:00Z'));
    expect((await app.jobs.reportUsage()).windows.reported).toBe(0); // the window has not closed
    expect(app.fake.received).toHaveLength(0);

    app.clock.set(at('2026-11-01T11:05:00Z'));
    const run = await app.jobs.reportUsage();
    expect(run).toMatchObject({
      records: { bound: 2 },
      windows: { reported: 1 },
      serviceControlCalls: { check: 1, report: 1 },
    });
    const op = operationId(id, 'api_calls', at('2026-11-01T10:00:00Z'));
    expect(app.fake.received.map((r) => [r.method, r.serviceName, r.operation.operationId])).toEqual([
      ['check', SERVICE, op],
      ['report', SERVICE, op],
    ]);
    expect(app.fake.reported()).toEqual([
      {
        operationId: op,
        operationName: 'Usage Report',
        consumerId: 'project_number:100',
        startTime: '2026-11-01T10:00:00.000Z',
        endTime: '2026-11-01T11:00:00.000Z',
        metricValueSets: [{ metricName: `${SERVICE}/api_calls`, metricValues: [{ int64Value: '120' }] }],
      },
    ]);
    expect((await app.usage.getUsage(id))?.checkpoints).toEqual({ api_calls: at('2026-11-01T11:00:00Z') });

    app.clock.set(at('2026-11-01T11:50:00Z'));
    expect((await app.jobs.reportUsage()).serviceControlCalls).toEqual({ check: 0, report: 0 });

    app.clock.set(at('2026-11-01T12:00:00Z'));
    expect((await app.jobs.reportUsage()).windows.reported).toBe(1);
    const next = app.fake.reported()[1]!;
    expect(next).toMatchObject({
      startTime: '2026-11-01T11:00:00.000Z',
      endTime: '2026-11-01T12:00:00.000Z',
      metricValueSets: [{ metricValues: [{ int64Value: '5' }] }],
    });
    expect(reportsOf(app.fake, op)).toEqual({ received: 1, billed: 1 });
  });

  it('should put a record that arrives after its window was reported into the next window, counted once', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-200', { plan: 'enterprise' });
    await app.jobs.reportUsage();
    await app.post([
      { entitlementId: id, id: 'a', metric: 'storage_gib_hours', value: 1.5, time: '2026-11-01T10:10:00Z' },
    ]);
    app.clock.set(at('2026-11-01T11:01:00Z'));
    await app.jobs.reportUsage();

    // Written straight to Firestore, as the documented backend code does, timed in the hour already reported.
    await app.db
      .collection('usage')
      .doc(id)
      .collection('records')
      .doc('late-1')
      .create({ metric: 'storage_gib_hours', value: 0.25, time: at('2026-11-01T10:30:00Z'), reported: false });
    app.clock.set(at('2026-11-01T12:01:00Z'));
    const run = await app.jobs.reportUsage();
    expect(run.records).toEqual({ bound: 1, late: 1, rejected: 0 });
    const windows = (await app.windows(id)).filter((w) => w.metric === 'storage_gib_hours');
    expect(windows.map((w) => [w.start.toISOString(), w.end.toISOString(), w.value, w.lateRecords, w.state])).toEqual([
      ['2026-11-01T10:00:00.000Z', '2026-11-01T11:00:00.000Z', '1.5', 0, 'reported'],
      ['2026-11-01T11:00:00.000Z', '2026-11-01T12:00:00.000Z', '0.25', 1, 'reported'],
    ]);
    expect(
      app.fake.reported().map((o) => (o.metricValueSets as { metricValues: unknown[] }[])[0]!.metricValues),
    ).toEqual([[{ doubleValue: 1.5 }], [{ doubleValue: 0.25 }]]);
    app.clock.set(at('2026-11-01T13:01:00Z'));
    expect((await app.jobs.reportUsage()).records.bound).toBe(0);
  });

  it('should take a retried record id once, flag a reused id with other content, and refuse an unknown metric with a 400 that writes nothing', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-300');
    const record = { entitlementId: id, id: 'req-1', metric: 'api_calls', value: 7, time: '2026-11-01T10:05:00Z' };
    expect((await app.post([record])).body).toMatchObject({ created: 1 });
    expect((await app.post([record, record])).body).toMatchObject({ created: 0, duplicates: 2 });
    expect((await app.post([{ ...record, value: 8 }])).body).toMatchObject({ conflicts: 1 });

    const refused = await app.post([
      { ...record, id: 'req-2' },
      { ...record, id: 'req-3', metric: 'storage_gib_hours' },
      { ...record, id: 'req-4', metric: 'bogus' },
    ]);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'validation_failed' });
    expect(String(refused.body.message)).toContain(
      'records.1.metric: unknown metric "storage_gib_hours": this plan reports api_calls',
    );
    expect(String(refused.body.message)).toContain('records.2.metric: unknown metric "bogus"');
    expect(await app.usage.countPendingRecords(id)).toBe(1);

    const unauthenticated = await fetch(`${app.running.url}/usage/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-key-0123456789abcdefghijklmnop' },
      body: JSON.stringify({ records: [record] }),
    });
    expect(unauthenticated.status).toBe(401);

    // The Firestore path: a retried create() fails with ALREADY_EXISTS and changes nothing.
    const ref = app.db.collection('usage').doc(id).collection('records').doc('fs-1');
    const doc = { metric: 'api_calls', value: 3, time: at('2026-11-01T10:06:00Z'), reported: false };
    await ref.create(doc);
    await expect(ref.create(doc)).rejects.toMatchObject({ code: 6 });

    app.clock.set(at('2026-11-01T11:00:00Z'));
    await app.jobs.reportUsage();
    expect(
      app.fake.reported().map((o) => (o.metricValueSets as { metricValues: unknown[] }[])[0]!.metricValues),
    ).toEqual([[{ int64Value: '10' }]]);
  });

  it('should stop reporting on consumer check errors (nothing reported, the entitlement marked), and resume once the entitlement changes', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-400');
    await app.post([{ entitlementId: id, id: 'x', metric: 'api_calls', value: 9, time: '2026-11-01T10:10:00Z' }]);
    app.fake.setConsumerError('project_number:400', 'BILLING_DISABLED');
    app.clock.set(at('2026-11-01T11:00:00Z'));
    const run = await app.jobs.reportUsage();
    expect(run).toMatchObject({
      stopped: [id],
      windows: { refused: 1, reported: 0 },
      serviceControlCalls: { check: 1, report: 0 },
    });
    expect((await app.usage.getUsage(id))?.stopped).toMatchObject({ codes: ['BILLING_DISABLED'] });
    expect((await app.windows(id))[0]).toMatchObject({ state: 'refused', checkErrors: [{ code: 'BILLING_DISABLED' }] });

    await app.post([{ entitlementId: id, id: 'y', metric: 'api_calls', value: 4, time: '2026-11-01T11:10:00Z' }]);
    app.clock.set(at('2026-11-01T12:00:00Z'));
    await app.jobs.reportUsage();
    expect(app.fake.received.filter((r) => r.method === 'report')).toHaveLength(0);
    expect(app.fake.received).toHaveLength(1); // not even a check while stopped
    expect(await app.usage.countPendingRecords(id)).toBe(1); // kept, not lost

    app.fake.setConsumerError('project_number:400', null);
    await app.buy('e-400'); // Google reinstated it: a new event, a new version
    app.clock.set(at('2026-11-01T12:01:00Z'));
    expect((await app.jobs.reportUsage()).windows.reported).toBe(1);
    expect(app.fake.reported()[0]).toMatchObject({
      startTime: '2026-11-01T11:00:00.000Z',
      endTime: '2026-11-01T12:00:00.000Z',
    });
  });

  it('should send a final report when the entitlement is cancelled, then close its reporting', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-500');
    await app.post([{ entitlementId: id, id: 'p', metric: 'api_calls', value: 11, time: '2026-11-01T10:10:00Z' }]);
    app.clock.set(at('2026-11-01T11:00:00Z'));
    await app.jobs.reportUsage();
    await app.post([{ entitlementId: id, id: 'q', metric: 'api_calls', value: 2, time: '2026-11-01T11:10:00Z' }]);
    app.clock.set(at('2026-11-01T11:30:00Z'));
    await app.cancel('e-500');
    app.clock.set(at('2026-11-01T11:31:00Z'));
    const run = await app.jobs.reportUsage();
    expect(run).toMatchObject({ windows: { reported: 1 }, closed: [id] });
    expect(app.fake.reported().at(-1)).toMatchObject({
      startTime: '2026-11-01T11:00:00.000Z',
      endTime: '2026-11-01T11:31:00.000Z',
      metricValueSets: [{ metricValues: [{ int64Value: '2' }] }],
    });
    expect((await app.usage.getUsage(id))?.open).toBe(false);
    const late = await app.post([{ entitlementId: id, id: 'r', metric: 'api_calls', value: 1 }]);
    expect(late.status).toBe(400);
    app.clock.set(at('2026-11-01T13:00:00Z'));
    expect((await app.jobs.reportUsage()).entitlements).toBe(0);
  });

  it('should keep a window for the next run on 429 and mark it uncertain (never resent) on a 5xx after Google received it', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-600');
    await app.post([{ entitlementId: id, id: 'a', metric: 'api_calls', value: 1, time: '2026-11-01T10:10:00Z' }]);
    app.fake.failNext(1, { method: 'report', status: 429 });
    app.clock.set(at('2026-11-01T11:00:00Z'));
    expect((await app.jobs.reportUsage()).windows).toMatchObject({ retried: 1, reported: 0 });
    expect((await app.jobs.reportUsage()).windows).toMatchObject({ reported: 1 });

    await app.post([{ entitlementId: id, id: 'b', metric: 'api_calls', value: 2, time: '2026-11-01T11:10:00Z' }]);
    app.fake.failNext(1, { method: 'report', status: 500, afterRecording: true });
    app.clock.set(at('2026-11-01T12:00:00Z'));
    expect((await app.jobs.reportUsage()).windows).toMatchObject({ uncertain: 1 });
    await app.jobs.reportUsage();
    const op = operationId(id, 'api_calls', at('2026-11-01T11:00:00Z'));
    expect(reportsOf(app.fake, op).received).toBe(1);
    expect((await app.windows(id)).map((w) => w.state)).toEqual(['reported', 'uncertain']);
    expect((await app.usage.getUsage(id))?.checkpoints.api_calls).toEqual(at('2026-11-01T12:00:00Z'));
  });

  it('should show usage per entitlement and window, and the reporter last run, to a viewer', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    const id = await app.buy('e-700');
    await app.post([{ entitlementId: id, id: 'a', metric: 'api_calls', value: 3, time: '2026-11-01T10:10:00Z' }]);
    app.clock.set(at('2026-11-01T11:00:00Z'));
    app.fake.failNext(3, { method: 'check', status: 503 });
    const failed = await app.jobs.reportUsage();
    expect(failed.windows.retried).toBe(1);
    app.clock.set(at('2026-11-01T11:01:00Z'));
    const run = await app.jobs.reportUsage();
    expect(run.windows.reported).toBe(1);

    const usage = await app.admin(`/admin/v1/usage/${id}`);
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({
      usage: { entitlementId: id, open: true, checkpoints: { api_calls: '2026-11-01T11:00:00.000Z' } },
      pendingRecords: 0,
      windows: {
        items: [
          {
            metric: 'api_calls',
            start: '2026-11-01T10:00:00.000Z',
            end: '2026-11-01T11:00:00.000Z',
            value: '3',
            state: 'reported',
            attempts: 1,
            operationId: operationId(id, 'api_calls', at('2026-11-01T10:00:00Z')),
          },
        ],
        nextCursor: null,
      },
    });
    const reporter = await app.admin('/admin/v1/usage/reporter');
    expect(reporter.body).toMatchObject({ lastRun: { runId: run.runId, job: 'usage', ok: true }, errors: [] });
    expect(run.runId).toMatch(/^usage-/);
    expect((await app.admin('/admin/v1/usage/gcp:nothing')).status).toBe(404);
    const openapi = await app.admin('/admin/v1/openapi.json');
    expect(Object.keys(openapi.body.paths as object)).toEqual(
      expect.arrayContaining(['/admin/v1/usage/reporter', '/admin/v1/usage/{entitlementId}']),
    );
    void HOUR;
  });

  it('should take usage from the simulator (simulate usage) and list what Google received (simulate show)', async () => {
    const app = await start({ now: at('2026-11-01T10:00:00Z') });
    await app.buy('e-800');
    const env = {
      SERVICE_URL: app.running.url,
      USAGE_KEY,
      SERVICE_CONTROL_URL: app.fake.url,
      GOOGLE_CLOUD_PROJECT: app.projectId,
      FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    };
    const lines: string[] = [];
    const out = (line: string) => lines.push(line);
    const argv = ['usage', 'e-800', '--metric', 'api_calls', '--value', '120', '--time', '2026-11-01T10:10:00Z'];
    expect(await runCli(argv, env, { out, err: out })).toBe(0);
    expect(await runCli(['usage', 'e-800', '--metric', 'bogus', '--value', '1'], env, { out, err: out })).toBe(1);
    expect(lines.join('\n')).toContain('unknown metric \\"bogus\\"');
    app.clock.set(at('2026-11-01T11:00:00Z'));
    await app.jobs.reportUsage();
    lines.length = 0;
    expect(await runCli(['show', 'gcp:e-800'], env, { out, err: out })).toBe(0);
    expect(lines).toContain('usage reported to Service Control (fake):');
    expect(lines.find((l) => l.includes(`${SERVICE}/api_calls = 120`))).toContain(
      '2026-11-01T10:00:00.000Z → 2026-11-01T11:00:00.000Z',
    );
  });
  it('should stop between pages when its time is spent and go on where it stopped on the next run, so no entitlement starves', async () => {
    const app = await start({ now: at('2026-11-01T10:20:00Z') });
    const ids = [await app.buy('e-b1'), await app.buy('e-b2'), await app.buy('e-b3')];
    expect((await app.jobs.reportUsage()).opened).toBe(3);
    await app.post(
      ids.map((id, i) => ({
        entitlementId: id,
        id: `b${i}`,
        metric: 'api_calls',
        value: 10 + i,
        time: '2026-11-01T10:30:00Z',
      })),
    );
    app.clock.set(at('2026-11-01T11:05:00Z'));
    const reporter = app.running.app.get(UsageReporter);
    // No time left after the first page, one entitlement per page: each run reports one entitlement.
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await reporter.run(`budget-${i}`, new RunBudget(0), 1));
    expect(runs.map((r) => [r.entitlements, r.windows.reported, r.more])).toEqual([
      [1, 1, true],
      [1, 1, true],
      [1, 1, true], // a full page: whether more follow is only known by reading on
    ]);
    const reported = app.fake
      .reported()
      .map((r) => JSON.stringify(r.metricValueSets).match(/"int64Value":"(\d+)"/)?.[1]);
    expect(reported.sort()).toEqual(['10', '11', '12']);
    // The next run finds the end of the pass; the one after starts from the beginning, with nothing new to report.
    expect(await reporter.run('budget-3', new RunBudget(0), 1)).toMatchObject({ entitlements: 0, more: false });
    const again = await reporter.run('budget-4', new RunBudget(0), 1);
    expect(again).toMatchObject({ entitlements: 1, windows: { reported: 0 }, more: true });
    expect(app.fake.reported()).toHaveLength(3);
  });
});
