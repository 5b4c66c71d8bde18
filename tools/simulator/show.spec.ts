import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../../src/bootstrap.js';
import { Ledger } from '../../src/entitlements/ledger.js';
import { accountSubject } from '../../src/entitlements/subject.js';
import type { EntitlementChange } from '../../src/entitlements/entitlement.js';
import { memoryLogger, testConfig } from '../../test/support/app.js';
import { change, eventFor } from '../../test/support/changes.js';
import { runCli } from './cli.js';

// `show` reads what the real ledger wrote to the Firestore emulator (the test set-up's).
const describeWithEmulator = process.env['FIRESTORE_EMULATOR_HOST'] ? describe : describe.skip;

describeWithEmulator('simulator show (npm run simulate -- show)', () => {
  let app: NestFastifyApplication;
  let projectId: string;

  beforeAll(async () => {
    const config = testConfig();
    projectId = config.env.GOOGLE_CLOUD_PROJECT;
    app = await bootstrap({ config, logger: memoryLogger().logger });
    await app.init();
    const ledger = app.get(Ledger);
    const apply = (c: EntitlementChange) => ledger.apply(c, eventFor(c));
    await apply(
      change({
        source: 'gcp',
        eventType: 'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
        providerState: 'ENTITLEMENT_PENDING_PLAN_CHANGE',
        externalId: 'e-1',
        subject: accountSubject('acct-1'),
        product: { product: 'demo', plan: 'pro', providerProduct: 'demo.example.com', providerPlan: 'pro' },
        status: 'pending_plan_change',
        pendingPlan: { plan: 'basic', providerPlan: 'basic' },
        validFrom: new Date('2026-01-01T00:00:00Z'),
        validUntil: new Date('2099-01-01T00:00:00Z'),
        actor: { type: 'provider', id: 'gcp' },
        details: { marketplace: { accountId: 'acct-1', approval: 'approval_requested' } },
      }),
    );
    await apply(change({ externalId: 'sub-old', validUntil: new Date('2026-02-01T00:00:00Z') }));
  });
  afterAll(() => app.close());

  async function show(...args: string[]): Promise<{ code: number; out: string[] }> {
    const out: string[] = [];
    const code = await runCli(['show', ...args], { GOOGLE_CLOUD_PROJECT: projectId }, { out: (l) => out.push(l) });
    return { code, out };
  }

  it('should print the entitlement and its access summary readably: plan, status, validity, source', async () => {
    const { code, out } = await show('e-1');
    expect(code).toBe(0);
    expect(out).toEqual([
      'entitlement gcp:e-1',
      '  source   Google Cloud Marketplace, ENTITLEMENT_PENDING_PLAN_CHANGE',
      '  product  demo, plan pro  (provider: demo.example.com / pro)',
      '  status   pending_plan_change: grants access now',
      '  valid    from 2026-01-01 00:00:00 UTC until 2099-01-01 00:00:00 UTC',
      '  pending  plan change to basic',
      '  approval approval_requested',
      '  subject  gcp-account:acct-1',
      expect.stringMatching(
        /^ {2}updated {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, version 1, last event ENTITLEMENT_PLAN_CHANGE_REQUESTED$/,
      ),
      'access/gcp-account:acct-1: 1 usable entitlement, version 1',
      '  demo, plan pro  pending_plan_change  from 2026-01-01 00:00:00 UTC until 2099-01-01 00:00:00 UTC  gcp  gcp:e-1',
    ]);
  });

  it('should say when an entitlement grants nothing and its subject may use nothing', async () => {
    const { code, out } = await show('purchasely:sub-old');
    expect(code).toBe(0);
    expect(out).toContain('  status   active: no access');
    expect(out).toContain('  valid    from 2026-11-01 00:00:00 UTC until 2026-02-01 00:00:00 UTC');
    expect(out.at(-1)).toBe('access/user:u1: nothing usable now, version 1');
  });

  it('should print the raw documents with --json, timestamps as ISO strings', async () => {
    const { code, out } = await show('gcp:e-1', '--json');
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const { entitlement, access } = JSON.parse(out[0]!) as {
      entitlement: Record<string, unknown>;
      access: { entitlements: Record<string, Record<string, unknown>> };
    };
    expect(entitlement).toMatchObject({ id: 'gcp:e-1', status: 'pending_plan_change', active: true, plan: 'pro' });
    expect(entitlement['validUntil']).toBe('2099-01-01T00:00:00.000Z');
    expect(access.entitlements['gcp:e-1']).toMatchObject({ product: 'demo', validFrom: '2026-01-01T00:00:00.000Z' });
  });

  it('should exit 1 and say so for an entitlement that is not there (yet)', async () => {
    const { code, out } = await show('nope');
    expect(code).toBe(1);
    expect(out).toEqual([
      'entitlement gcp:nope is not in Firestore (yet): the service may still be on it; try again in a moment',
    ]);
  });

  it('should list the latest entitlements without an id', async () => {
    const { code, out } = await show();
    expect(code).toBe(0);
    expect(out[0]).toBe('the latest 2 entitlements, newest first:');
    expect(out[1]).toMatch(/^ {2}purchasely:sub-old {2}active, no access {2}demo, plan monthly {2}user:u1 {2}updated /);
    expect(out[2]).toMatch(
      /^ {2}gcp:e-1 {2}pending_plan_change, access {2}demo, plan pro {2}gcp-account:acct-1 {2}updated /,
    );
    expect(out[3]).toBe('details: npm run simulate -- show <id>');
  });
});
