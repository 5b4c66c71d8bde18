import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startFakeProcurement, type FakeProcurement } from '../fake-procurement/server.js';
import { runCli } from './cli.js';

describe('simulator command line', () => {
  let fake: FakeProcurement;
  let published: { eventType: string }[];
  let out: string[];
  let err: string[];

  beforeAll(async () => {
    fake = await startFakeProcurement({ providerIds: ['cli-provider'] });
  });

  afterAll(async () => {
    await fake.close();
  });

  beforeEach(() => {
    fake.reset();
    published = [];
    out = [];
    err = [];
  });

  function run(...argv: string[]): Promise<number> {
    return runCli(
      argv,
      { PROCUREMENT_URL: fake.url, MARKETPLACE_PROVIDER_ID: 'cli-provider' },
      {
        publish: (data) => {
          published.push(data as { eventType: string });
          return Promise.resolve(`m${published.length}`);
        },
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
    );
  }

  function printed(key: string): string {
    const line = out.find((l) => l.startsWith(`${key}=`)) ?? '';
    return line.slice(key.length + 1);
  }

  it('should buy, print what it did with the ids, and publish the messages', async () => {
    expect(await run('buy', '--product', 'acme.example.com', '--plan', 'pro')).toBe(0);

    const entitlementId = printed('entitlementId');
    expect(out[0]).toBe(`buy: entitlement ${entitlementId} is ENTITLEMENT_ACTIVATION_REQUESTED, plan pro`);
    expect(out).toContainEqual(
      expect.stringMatching(
        /^ {2}published ENTITLEMENT_CREATION_REQUESTED \(ENTITLEMENT_CREATION_REQUESTED-[0-9a-f-]+\) as message m2$/,
      ),
    );
    expect(printed('accountId')).toMatch(/^E-/);
    expect(published.map((m) => m.eventType)).toEqual(['ACCOUNT_ACTIVE', 'ENTITLEMENT_CREATION_REQUESTED']);
  });

  it("should buy with Google's automatic approval, apply a plan change at once, and flush what Google announced", async () => {
    expect(await run('buy', '--product', 'acme.example.com', '--plan', 'pro', '--auto-approval')).toBe(0);
    expect(published.map((m) => m.eventType)).toEqual(['ACCOUNT_ACTIVE', 'ENTITLEMENT_OFFER_ACCEPTED']);
    const id = printed('entitlementId');
    expect(await run('activate', id)).toBe(0);
    expect(await run('change-plan', id, '--plan', 'basic', '--now')).toBe(0);
    // The seller's service approves (a provider call); Google's ENTITLEMENT_PLAN_CHANGED waits for a publisher.
    const entitlement = fake.state.getEntitlement('cli-provider', id);
    expect(entitlement.ok && entitlement.value.state).toBe('ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL');
    const approved = await fetch(`${fake.url}/v1/providers/cli-provider/entitlements/${id}:approvePlanChange`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ pendingPlanName: 'basic' }),
    });
    expect(approved.status).toBe(200);
    published = [];
    expect(await run('flush')).toBe(0);
    expect(published.map((m) => m.eventType)).toEqual(['ENTITLEMENT_PLAN_CHANGED']);
    expect(out.at(-1)).toMatch(/published ENTITLEMENT_PLAN_CHANGED/);
  });

  it('should drive a whole lifecycle from the command line', async () => {
    await run('buy', '--product', 'acme.example.com', '--plan', 'pro');
    const id = printed('entitlementId');
    const accountId = printed('accountId');
    fake.state.approveAccount('cli-provider', accountId);
    fake.state.approveEntitlement('cli-provider', id);

    for (const argv of [
      ['activate', id],
      ['change-plan', id, '--plan', 'basic'],
      ['cancel-plan-change', id],
      ['cancel', id, '--now'],
      ['delete', id],
      ['delete-account', accountId],
    ]) {
      expect(await run(...argv)).toBe(0);
    }

    expect(published.map((m) => m.eventType)).toEqual([
      'ACCOUNT_ACTIVE',
      'ENTITLEMENT_CREATION_REQUESTED',
      'ENTITLEMENT_ACTIVE',
      'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
      'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
      'ENTITLEMENT_CANCELLED',
      'ENTITLEMENT_DELETED',
      'ACCOUNT_DELETED',
    ]);
  });

  it('should list accounts and entitlements', async () => {
    await run('buy', '--product', 'acme.example.com', '--plan', 'pro');
    out = [];

    expect(await run('list')).toBe(0);

    expect(out).toEqual([
      expect.stringMatching(/^account E-\S+ signup PENDING$/),
      expect.stringMatching(/^entitlement \S+ ENTITLEMENT_ACTIVATION_REQUESTED plan pro account E-\S+$/),
    ]);
  });

  it('should explain a refused action and exit 1', async () => {
    await run('buy', '--product', 'acme.example.com', '--plan', 'pro');

    expect(await run('activate', printed('entitlementId'))).toBe(1);

    expect(err[0]).toMatch(/^error: Entitlement .* has not been approved .*\(400 FAILED_PRECONDITION\)$/);
  });

  it('should print usage and exit 2 for a missing option, id or unknown command', async () => {
    expect(await run('buy', '--plan', 'pro')).toBe(2);
    expect(await run('activate')).toBe(2);
    expect(await run('teleport')).toBe(2);
    expect(await run('buy', '--colour', 'red')).toBe(2);

    expect(err.every((line) => line.includes('Usage: cli.js'))).toBe(true);
    expect(published).toEqual([]);
  });
});
