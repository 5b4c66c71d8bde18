import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendants, newUserEnv, running } from './support/sandbox.js';

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

// The README's first commands as a new user types them, on a fresh clone of this commit (HEAD; CI
// runs on one): `npm run local` installs with npm ci, builds and starts everything; `npm run
// simulate -- buy --plan pro` becomes an active entitlement in access/ in Firestore; Ctrl-C stops it
// all. About 1.5-2 minutes here (npm ci ≈ 30-60 s from npm's cache, the build ≈ 20 s).
describe('the README’s two commands on a fresh clone (npm run local, then npm run simulate)', () => {
  it('should install, build and start, turn a purchase into access, and leave nothing running after Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fresh-clone-'));
    const times: Record<string, number> = {};
    let local: ReturnType<typeof spawn> | undefined;
    let seen: { pid: number; args: string }[] = [];
    try {
      const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
      expect(spawnSync('git', ['clone', '--quiet', '.', dir]).status).toBe(0);
      expect(spawnSync('git', ['-C', dir, 'checkout', '--quiet', '--detach', head]).status).toBe(0);

      const [port, fakePort, serviceControlPort] = [await freePort(), await freePort(), await freePort()];
      const env = newUserEnv({
        PORT: String(port),
        FAKE_PROCUREMENT_PORT: String(fakePort),
        FAKE_SERVICE_CONTROL_PORT: String(serviceControlPort),
      });
      const started = Date.now();
      // Its own process group, like a terminal's foreground job: Ctrl-C goes to the whole group.
      local = spawn('npm', ['run', 'local'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      local.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      local.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const deadline = Date.now() + 240_000;
      while (!/\[local\] ready in/.test(output) && Date.now() < deadline && local.exitCode === null) {
        await new Promise((r) => setTimeout(r, 250));
        // When each step began, for the README's figures.
        if (times.installed === undefined && output.includes('[local] building'))
          times.installed = Date.now() - started;
        if (times.built === undefined && output.includes('[local] starting the Firestore'))
          times.built = Date.now() - started;
      }
      times.toReady = Date.now() - started;
      expect(output).toContain('[local] installing dependencies with npm ci (node_modules is missing)…');
      expect(output).toContain('[local] building (dist/service.cjs is missing): npm run build…');
      expect(output).toMatch(/\[local\] starting the service on port \d+ \(Node 22\.\d+\.\d+\)…/);
      expect(output).toMatch(/\[local\] ready in [\d.]+ s\./);
      seen = descendants(local.pid!);
      // The service and the fake run on the clone's Node 22 (npm itself may run on an older system Node).
      const nodeOf = (script: string) => seen.find((p) => p.args.includes(script))?.args.split(' ')[0];
      expect(nodeOf('dist/service.cjs')).toBe(join(dir, 'node_modules/.bin/node'));
      expect(nodeOf('fake-procurement/main.js')).toBe(join(dir, 'node_modules/.bin/node'));
      const sandbox = JSON.parse(readFileSync(join(dir, '.local/sandbox.json'), 'utf8')) as Record<string, string>;
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json()).toEqual({
        status: 'ok',
        firestore: 'ok',
      });

      // The admin console with its local sign-in (docs/admin-console.md): the approver key it printed signs in.
      expect((await fetch(`http://127.0.0.1:${port}/admin/console/`)).status).toBe(200);
      const settings = await fetch(`http://127.0.0.1:${port}/admin/console/config.json`);
      expect(await settings.json()).toMatchObject({ localSignIn: true });
      const key = /approver {2}(local-\S+)/.exec(output)![1]!;
      const me = await fetch(`http://127.0.0.1:${port}/admin/v1/me`, { headers: { 'x-api-key': key } });
      expect(await me.json()).toEqual({ kind: 'api-key', id: 'local-approver', role: 'approver' });

      // `npm run simulate -- …` for the README's purchase; the script itself (what npm runs) for the rest.
      const run = (command: string, args: string[]) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(command, args, { cwd: dir, env });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('exit', (code) => resolve({ code, stdout, stderr }));
        });
      const simulate = (...args: string[]) => run('node', ['scripts/simulate.mjs', ...args]);
      const boughtAt = Date.now();
      const bought = await run('npm', ['run', '--silent', 'simulate', '--', 'buy', '--plan', 'pro']);
      expect(bought.stderr).toBe('');
      expect(bought.stdout).toContain('Google activated it');
      const id = /entitlementId=(\S+)/.exec(bought.stdout)![1]!;

      // The entitlement active in access/ (the Firestore emulator's REST API), within a bounded time.
      const accessUrl = `http://${sandbox.FIRESTORE_EMULATOR_HOST}/v1/projects/${sandbox.project}/databases/(default)/documents/access/gcp-account:${sandbox.demoAccount}`;
      type Access = {
        fields?: {
          entitlements?: {
            mapValue: { fields?: Record<string, { mapValue: { fields: { status: { stringValue: string } } } }> };
          };
        };
      };
      let status: string | undefined;
      for (const until = Date.now() + 30_000; status !== 'active' && Date.now() < until;) {
        const res = await fetch(accessUrl, { headers: { authorization: 'Bearer owner' } });
        const access = (await res.json()) as Access;
        status = access.fields?.entitlements?.mapValue.fields?.[`gcp:${id}`]?.mapValue.fields.status.stringValue;
        if (status !== 'active') await new Promise((r) => setTimeout(r, 250));
      }
      times.buyToAccess = Date.now() - boughtAt;
      times.firstPurchase = Date.now() - started;
      expect(status).toBe('active');

      const shown = await simulate('show', id);
      expect(shown.stderr).toBe('');
      expect(shown.stdout).toContain(`entitlement gcp:${id}\n`);
      expect(shown.stdout).toContain('  product  demo, plan pro');
      expect(shown.stdout).toContain('  status   active: grants access now');
      expect(shown.stdout).toContain(`access/gcp-account:${sandbox.demoAccount}: 1 usable entitlement`);
      for (const provider of ['purchasely', 'easycart', 'getcourse']) {
        const sent = await simulate('webhook', provider);
        expect({ provider, out: sent.stdout.split('\n')[0] }).toEqual({
          provider,
          out: expect.stringMatching(/→ HTTP 200 .*"outcome":"applied"/),
        });
      }
      // Development logs are readable lines; nothing asked for a metadata server.
      expect(output).toMatch(/\n\d\d:\d\d:\d\d\.\d{3} INFO {2}entitlement change source=gcp /);
      expect(output).not.toContain('MetadataLookupWarning');

      // Ctrl-C.
      const stopAt = Date.now();
      process.kill(-local.pid!, 'SIGINT');
      await new Promise((r) =>
        local!.exitCode !== null || local!.signalCode !== null ? r(null) : local!.once('exit', r),
      );
      times.stop = Date.now() - stopAt;
      expect(output).toContain('[local] stopped.\n');
      expect(seen.filter((p) => running(p.pid))).toEqual([]);
      for (const host of [
        `127.0.0.1:${port}`,
        `127.0.0.1:${fakePort}`,
        `127.0.0.1:${serviceControlPort}`,
        sandbox.FIRESTORE_EMULATOR_HOST,
        sandbox.PUBSUB_EMULATOR_HOST,
      ]) {
        await expect(fetch(`http://${host}/`)).rejects.toThrow();
      }
      // The sandbox file is gone (simulate says no sandbox runs) and the clone is as checked out: npm ci left the lock alone.
      expect((await simulate('show')).code).toBe(2);
      expect(spawnSync('git', ['-C', dir, 'status', '--porcelain'], { encoding: 'utf8' }).stdout).toBe('');
    } finally {
      process.stdout.write(`fresh clone timings (ms): ${JSON.stringify(times)}\n`);
      for (const p of seen) if (running(p.pid)) process.kill(p.pid, 'SIGKILL');
      if (local?.exitCode === null && local.signalCode === null) process.kill(-local.pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);
});
