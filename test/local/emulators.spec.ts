import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
// @ts-expect-error plain ESM helper without types
import { freePort, startEmulator, startFirestoreEmulator } from '../../scripts/emulators.mjs';

interface Emulator {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Listens on a free loopback port; resolves with the port. */
function listen(server: Server | Http2Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

// The CI flake (Pub/Sub emulator "did not start within 60s", netty "Unexpected HTTP/1.x request:
// GET /"): the port chosen free was taken before the emulator's JVM bound it, here by a gRPC-like
// HTTP/2-only server as the JVMs' internal servers are. The Pub/Sub emulator then logs a
// BindException and hangs instead of exiting; the old start-up probed `GET /` until its timeout.
describe('emulator start-up (scripts/emulators.mjs)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });

  it('should start on another port when the chosen one is taken before the emulator binds it', async () => {
    const squatter = createHttp2Server();
    const taken = await listen(squatter);
    cleanup.push(() => new Promise((r) => squatter.close(r)));
    const picked: number[] = [];
    const lines: string[] = [];
    const started = Date.now();
    const emulator = (await startEmulator('pubsub', {
      pickPort: async (): Promise<number> => {
        const port = picked.length === 0 ? taken : ((await freePort()) as number);
        picked.push(port);
        return port;
      },
      log: (line: string) => lines.push(line),
    })) as Emulator;
    cleanup.push(() => emulator.stop());

    expect(picked[0]).toBe(taken);
    expect(emulator.port).toBe(picked[1]);
    expect(lines).toContain(`[pubsub] port ${taken} was taken before the emulator bound it; trying another port`);
    // It is the Pub/Sub emulator that answers, on the new port.
    const topics = await fetch(`http://${emulator.host}/v1/projects/probe-check/topics`);
    expect(topics.status).toBe(200);
    // Seen in the emulator's output as soon as it happens, not after a timeout.
    expect(Date.now() - started).toBeLessThan(50_000);
  }, 90_000);

  it('should fail at once, naming the port, when a port it was told to use is held, even by a server answering "Ok"', async () => {
    // What another emulator answers to the old probe (GET /): the old start-up took it for this one.
    const impostor = createHttpServer((_req, res) => res.end('Ok\n'));
    const port = await listen(impostor);
    cleanup.push(() => new Promise((r) => impostor.close(r)));

    const started = Date.now();
    const error = (await startFirestoreEmulator({ port }).then(
      (e: Emulator) => {
        cleanup.push(() => e.stop());
        return null;
      },
      (e: Error) => e,
    )) as Error | null;
    expect(error?.message).toContain(`Firestore emulator could not bind 127.0.0.1:${port}: the port is in use`);
    expect(error?.message).toContain(`Stop what listens on port ${port} or pick another port.`);
    expect(error?.message).toContain('--- last lines of the Firestore emulator ---');
    expect(Date.now() - started).toBeLessThan(50_000);
  }, 90_000);
});
