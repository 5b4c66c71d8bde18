import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const node = process.execPath;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the built service (what the container runs: node dist/service.mjs)', () => {
  it('should exit non-zero and name every bad variable when the environment is wrong', () => {
    const result = spawnSync(node, ['dist/service.mjs'], {
      env: {
        PATH: process.env.PATH,
        GOOGLE_CLOUD_PROJECT: 'Not_A_Project',
        PORT: 'eighty',
        PUSH_AUDIENCE: 'https://x',
        LOG_LEVEL: 'loud',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    for (const name of [
      'GOOGLE_CLOUD_PROJECT',
      'PORT',
      'LOG_LEVEL',
      'PUSH_SERVICE_ACCOUNT',
      'MARKETPLACE_PROVIDER_ID',
    ]) {
      expect(result.stderr).toContain(name);
    }
    expect(result.stderr.split('\n')[0]).toBe('Invalid configuration:');
  });

  it('should load the whole bundle and exit 0 with --compile-only, filling a compile cache (the image build step)', () => {
    const cache = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    try {
      const result = spawnSync(node, ['dist/service.mjs', '--compile-only'], {
        env: { PATH: process.env.PATH, NODE_COMPILE_CACHE: cache },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(0);
      expect(result.stdout + result.stderr).toBe('');
      const entries = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      // One entry per module compiled: the bundle and the chunks it loads.
      expect(entries.length).toBeGreaterThan(1);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('should refuse a malformed config file, naming the file and the field', () => {
    const result = spawnSync(node, ['dist/service.mjs'], {
      env: {
        PATH: process.env.PATH,
        GOOGLE_CLOUD_PROJECT: 'demo-entitlements',
        CONFIG_DIR: 'test/fixtures/bad-config',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('products.yaml at sources.gcp');
    expect(result.stderr).toContain('policy.yaml');
  });
});

describe('npm run local (the README first command)', () => {
  it('should bring up emulators, the fake Procurement API and the service, answer health, and stop everything on Ctrl-C', async () => {
    const [port, fakePort] = [await freePort(), await freePort()];
    const child = spawn(node, ['scripts/local.mjs'], {
      env: {
        ...process.env,
        PORT: String(port),
        FAKE_PROCUREMENT_PORT: String(fakePort),
        LOCAL_SKIP_BUILD: '1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('[local]\x1b[0m ready') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(output).toContain('ready');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ok', firestore: 'ok' });

      // The README's sandbox walk-through: a purchase becomes an active entitlement in Firestore.
      const bought = spawnSync(node, ['scripts/simulate.mjs', 'buy', '--plan', 'pro'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(bought.stdout).toContain('Google activated it');
      const id = /entitlementId=(\S+)/.exec(bought.stdout)![1]!;
      let shown = '';
      for (let i = 0; i < 40 && !shown.includes('status=active'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        shown = spawnSync(node, ['scripts/simulate.mjs', 'show', id], { encoding: 'utf8', timeout: 30_000 }).stdout;
      }
      expect(shown).toContain(`entitlement gcp:${id}: status=active active=true product=demo plan=pro`);
      expect(shown).toContain('access/gcp-account:demo-account:');
      expect(shown).toContain(`gcp:${id}`);

      for (const provider of ['purchasely', 'easycart', 'getcourse']) {
        const sent = spawnSync(node, ['scripts/simulate.mjs', 'webhook', provider], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect({ provider, out: sent.stdout.split('\n')[0] }).toEqual({
          provider,
          out: expect.stringMatching(/→ HTTP 200 .*"outcome":"applied"/),
        });
      }
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
    expect(child.exitCode).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${fakePort}/__control/calls`)).rejects.toThrow();
  }, 240_000);
});
