import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('the built service (what the container runs: node dist/service.cjs)', () => {
  it('should exit non-zero and name every bad variable when the environment is wrong', () => {
    const result = spawnSync(node, ['dist/service.cjs'], {
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

  describe('the V8 code cache (the image build step: node <CMD flags> dist/service.cjs --write-code-cache)', () => {
    // A private copy: the cache file is written next to the bundle.
    let dir: string;
    const badEnv = { PATH: process.env.PATH, GOOGLE_CLOUD_PROJECT: 'Not_A_Project' };
    const start = (flags: string[] = [], args: string[] = []) =>
      spawnSync(node, [...flags, join(dir, 'service.cjs'), ...args], {
        env: badEnv,
        encoding: 'utf8',
        timeout: 30_000,
      });
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'code-cache-'));
      for (const file of ['service.cjs', 'service.bundle.cjs']) copyFileSync(join('dist', file), join(dir, file));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('should load the whole bundle (the lazy Pub/Sub client too), write the cache and exit 0', () => {
      const result = start(['--max-old-space-size=192'], ['--write-code-cache']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^wrote .*service\.bundle\.cjs\.v8cache \(\d+ bytes\)\n$/);
      const cache = readFileSync(join(dir, 'service.bundle.cjs.v8cache'));
      const id = /^\/\/ bundle sha256:([0-9a-f]{64})\n/.exec(readFileSync(join(dir, 'service.bundle.cjs'), 'utf8'))![1];
      expect(cache.subarray(0, 64).toString('latin1')).toBe(id);
      // Serialized after the modules ran: far more than the top-level code (Node's compile cache holds ~0.6 MB).
      expect(cache.length).toBeGreaterThan(2_000_000);
    });

    it('should start with the cache silently under the same flags (here: up to the configuration check)', () => {
      const result = start(['--max-old-space-size=192']);
      expect(result.status).toBe(78);
      expect(result.stderr.split('\n')[0]).toBe('Invalid configuration:');
    });

    it('should say so on stderr and still start when V8 rejects the cache (other flags)', () => {
      const result = start(['--max-old-space-size=256']);
      expect(result.status).toBe(78);
      const first = JSON.parse(result.stderr.split('\n')[0]!) as { severity: string; message: string };
      expect(first.severity).toBe('WARNING');
      expect(first.message).toMatch(/^V8 rejected .*service\.bundle\.cjs\.v8cache/);
      expect(result.stderr).toContain('Invalid configuration:');
    });

    it('should say so and compile as usual when the cache file is cut short', () => {
      const file = join(dir, 'service.bundle.cjs.v8cache');
      const whole = readFileSync(file);
      writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
      try {
        const result = start(['--max-old-space-size=192']);
        expect(result.status).toBe(78);
        expect(result.stderr.split('\n')[0]).toContain('V8 rejected');
      } finally {
        writeFileSync(file, whole);
      }
    });

    it('should not use a cache made for another build of the bundle', () => {
      const file = join(dir, 'service.bundle.cjs.v8cache');
      const cache = readFileSync(file);
      cache.write('f'.repeat(64), 0, 'latin1');
      writeFileSync(file, cache);
      const result = start(['--max-old-space-size=192']);
      expect(result.status).toBe(78);
      expect(result.stderr.split('\n')[0]).toContain('was made for another build of');
    });
  });

  it('should map bundle positions in a logged stack trace back to src/ (scripts/map-stack.mjs)', () => {
    const bundle = readFileSync('dist/service.bundle.cjs', 'utf8');
    const at = bundle.indexOf('async function main(){');
    expect(at).toBeGreaterThan(0);
    const line = bundle.slice(0, at).split('\n').length;
    const column = at - bundle.lastIndexOf('\n', at - 1);
    const source = readFileSync('src/server.ts', 'utf8').split('\n');
    const expectedLine = source.findIndex((l) => l.startsWith('export async function main')) + 1;
    const trace = `Error: boom\n    at main (/app/dist/service.bundle.cjs:${line}:${column})\n    at node:internal/x:1:1\n`;
    const result = spawnSync(node, ['scripts/map-stack.mjs'], { input: trace, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `Error: boom\n    at main (${join('src', 'server.ts')}:${expectedLine}:1)\n    at node:internal/x:1:1\n`,
    );
  });

  it('should refuse a malformed config file, naming the file and the field', () => {
    const result = spawnSync(node, ['dist/service.cjs'], {
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
      const health = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
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
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${fakePort}/__control/calls`)).rejects.toThrow();
  }, 240_000);
});
