import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../chaos/service-process.js';
import { newUserEnv } from '../support/sandbox.js';

/** Runs scripts/local.mjs in `cwd` to its end; resolves with its exit code and output. */
function runLocal(
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/local.mjs'], {
      cwd,
      env: newUserEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

// `npm run local` runs in steps and stops at the first that fails, with one message naming the
// step and what to do; it used to build after a failed install (`sh: 1: nest: not found`).
describe('npm run local when something is wrong', () => {
  let busy: Server;
  let busyPort: number;
  let freePorts: [number, number];

  beforeAll(async () => {
    busy = createServer();
    busyPort = await new Promise<number>((r) =>
      busy.listen(0, '127.0.0.1', () => r((busy.address() as { port: number }).port)),
    );
    freePorts = [await freePort(), await freePort()];
  });
  afterAll(() => new Promise((r) => busy.close(r)));

  it('should check the machine first and name every problem: a port in use, missing emulators', async () => {
    const { code, out, err } = await runLocal('.', {
      PORT: String(busyPort),
      FAKE_PROCUREMENT_PORT: String(freePorts[1]),
      GCLOUD_SDK_ROOT: '/nonexistent-sdk',
    });
    expect(code).toBe(1);
    expect(out).toContain('[local] checking this machine…');
    expect(err).toContain('[local] ✗ checking this machine failed');
    expect(err).toContain(
      'Emulator not found: /nonexistent-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator',
    );
    expect(err).toContain('gcloud components install cloud-firestore-emulator pubsub-emulator beta');
    expect(err).toContain(`port ${busyPort} is in use: stop what listens there, or set PORT=<another port>`);
    expect(err).toContain('  → fix the above and run `npm run local` again');
    expect(out).not.toContain('installing');
    expect(out).not.toContain('starting');
  });

  it('should stop when npm ci refuses the lock file, say what to do, and neither build nor touch the lock', async () => {
    // A checkout whose lock lost an optional platform package (what npm 11 once wrote after a registry 404).
    const dir = mkdtempSync(join(tmpdir(), 'local-broken-lock-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      for (const file of ['local.mjs', 'emulators.mjs', 'local-checks.mjs']) {
        copyFileSync(join('scripts', file), join(dir, 'scripts', file));
      }
      copyFileSync('package.json', join(dir, 'package.json'));
      const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, unknown> };
      delete lock.packages['node_modules/@unrs/resolver-binding-win32-x64-msvc'];
      const broken = `${JSON.stringify(lock, null, 2)}\n`;
      writeFileSync(join(dir, 'package-lock.json'), broken);

      const { code, out, err } = await runLocal(dir, {
        PORT: String(freePorts[0]),
        FAKE_PROCUREMENT_PORT: String(freePorts[1]),
      });
      expect(code).toBe(1);
      expect(out).toContain('[local] installing dependencies with npm ci (node_modules is missing)…');
      expect(err).toContain('[local] ✗ installing dependencies with npm ci (node_modules is missing) failed');
      expect(err).toContain('npm ci exited with code 1');
      expect(err).toContain('package-lock.json is broken (README, Development, "The lock file")');
      expect(out).not.toContain('building');
      expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toBe(broken);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
