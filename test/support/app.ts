import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Firestore } from '@google-cloud/firestore';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bootstrap } from '../../src/bootstrap.js';
import { AppLogger } from '../../src/common/logging/app-logger.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { Clock } from '../../src/entitlements/clock.js';
import { emailSubjectKey } from '../../src/entitlements/subject.js';
import { RefusalRecorder } from '../../src/webhooks/common/refusal-recorder.js';

/** A project id of its own per suite: the emulators keep projects apart, so suites never share data. */
export function uniqueProjectId(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** SUBJECT_KEY_SECRET of every test configuration. */
export const TEST_SUBJECT_KEY_SECRET = 'test-subject-key-secret-0123456789abcdef';

/** The subject key of a person known by e-mail, under the tests' secret. */
export function emailKey(email: string): string {
  return emailSubjectKey(TEST_SUBJECT_KEY_SECRET, email);
}

export function testConfig(env: Record<string, string | undefined> = {}): AppConfig {
  return loadConfig({
    GOOGLE_CLOUD_PROJECT: uniqueProjectId(),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    CONFIG_DIR: 'config',
    SUBJECT_KEY_SECRET: TEST_SUBJECT_KEY_SECRET,
    ...env,
  });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- YAML documents edited by tests */
/**
 * A config directory of its own: `config/policy.yaml` and `config/products.yaml` as parsed YAML, changed
 * by `edit`, written to a temporary directory (pass it as CONFIG_DIR).
 */
export function configDir(edit: { policy?: (policy: any) => void; products?: (products: any) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'config-'));
  for (const [file, change] of [
    ['policy.yaml', edit.policy],
    ['products.yaml', edit.products],
  ] as const) {
    const parsed: any = parseYaml(readFileSync(join('config', file), 'utf8'));
    change?.(parsed);
    writeFileSync(join(dir, file), stringifyYaml(parsed));
  }
  return dir;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Logger that keeps lines in memory (assertions on logs, quiet test output). */
export function memoryLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'warn'): {
  logger: AppLogger;
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: new AppLogger(level, sink),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export class TestClock extends Clock {
  constructor(private current = new Date()) {
    super();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(date: Date): void {
    this.current = new Date(date);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  close(): Promise<void>;
}

/** The real `bootstrap()` listening on a free loopback port: tests speak real HTTP to it. */
export async function startApp(
  options: { config?: AppConfig; clock?: Clock; logger?: AppLogger } = {},
): Promise<RunningApp> {
  const config = options.config ?? testConfig();
  const app = await bootstrap({ config, clock: options.clock, logger: options.logger ?? memoryLogger().logger });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, config, close: () => app.close() };
}

/**
 * Writes the refusals the app counted in memory (RefusalRecorder), then reads the aggregate records of
 * `source` and `reason` (one per UTC hour) from the event ledger.
 */
export async function refusalRecords(
  app: NestFastifyApplication,
  source: string,
  reason: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents under test
): Promise<Record<string, any>[]> {
  await app.get(RefusalRecorder).flush();
  const snap = await app
    .get(Firestore)
    .collection('events')
    .where('source', '==', source)
    .where('eventType', '==', 'REFUSED')
    .where('reason', '==', `refused: ${reason}`)
    .get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}
