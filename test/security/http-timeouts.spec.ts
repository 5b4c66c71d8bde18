import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { startApp, testConfig, type RunningApp } from '../support/app.js';

/**
 * Real sockets against the real bootstrap(): a client that sends a byte at a time, or nothing,
 * cannot hold a connection past the configured timeouts. Small timeouts so the suite stays fast (~6 s).
 */
const REQUEST_MS = 2_000;
const HEADERS_MS = 1_000;
const KEEP_ALIVE_MS = 1_500;

interface Outcome {
  /** What the server wrote before it closed the socket. */
  received: string;
  /** Time from connecting to the server closing the socket. */
  closedAfterMs: number;
}

/** Connects, runs `drive` (which writes slowly), and resolves when the server closes the socket. */
function slowClient(port: number, drive: (socket: Socket, stopped: () => boolean) => Promise<void>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = '';
    let closed = false;
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined); // a reset after the server closed is the expected end
    socket.on('close', () => {
      closed = true;
      resolve({ received, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', () => {
      drive(socket, () => closed).catch(reject);
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trickle(socket: Socket, stopped: () => boolean, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (stopped()) return;
    socket.write(char);
    await pause(everyMs);
  }
}

describe('HTTP server timeouts', () => {
  let running: RunningApp;
  let port: number;

  beforeAll(async () => {
    running = await startApp({
      config: testConfig({
        EASYCART_SIGNING_KEYS: 'easycart-signing-key-0001',
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
        HTTP_CONNECTION_TIMEOUT_MS: '10000',
      }),
    });
    port = Number(new URL(running.url).port);
  });
  afterAll(() => running.close());

  it('should answer 408 and close a connection whose body arrives a byte at a time', async () => {
    const body = JSON.stringify({ event: 'product_assigned', pad: 'x'.repeat(200) });
    const outcome = await slowClient(port, async (socket, stopped) => {
      socket.write(
        `POST /webhooks/easycart HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      await trickle(socket, stopped, body, 200);
    });
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408/);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(outcome.closedAfterMs).toBeLessThan(REQUEST_MS + 1_500);
  });

  it('should close a connection whose headers arrive a byte at a time', async () => {
    const outcome = await slowClient(port, (socket, stopped) =>
      trickle(socket, stopped, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'y'.repeat(100)}\r\n\r\n`, 100),
    );
    expect(outcome.received).not.toMatch(/^HTTP\/1\.1 200/);
    expect(outcome.closedAfterMs).toBeLessThan(HEADERS_MS + 1_500);
  });

  it('should close a connection that never sends a request', async () => {
    const outcome = await slowClient(port, async () => undefined);
    expect(outcome.received).toMatch(/^(HTTP\/1\.1 408|)/);
    expect(outcome.closedAfterMs).toBeLessThan(HEADERS_MS + 1_500);
  });

  it('should keep an idle kept-alive connection for HTTP_KEEP_ALIVE_TIMEOUT_MS, then close it', async () => {
    const outcome = await slowClient(port, async (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(outcome.received).toMatch(/^HTTP\/1\.1 200/);
    expect(outcome.received).toMatch(/keep-alive/i);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    expect(outcome.closedAfterMs).toBeLessThan(KEEP_ALIVE_MS + 1_500);
  });

  it('should serve a request that arrives in time, in pieces', async () => {
    const outcome = await slowClient(port, async (socket) => {
      for (const piece of ['GET /heal', 'thz HTTP/1.1\r\n', 'Host: x\r\nConnection: close\r\n\r\n']) {
        socket.write(piece);
        await pause(150);
      }
    });
    expect(outcome.received).toMatch(/^HTTP\/1\.1 200/);
  });
});
