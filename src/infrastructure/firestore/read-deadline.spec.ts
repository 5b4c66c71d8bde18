import { afterEach, describe, expect, it } from '@jest/globals';
import { TransientError } from '../../common/errors/app-error.js';
import { ConfigError, loadConfig } from '../../config/app-config.js';
import { readWithDeadline, setReadDeadline } from './transaction-runner.js';

const env = (extra: Record<string, string> = {}) => ({
  GOOGLE_CLOUD_PROJECT: 'demo-read-deadline',
  NODE_ENV: 'test',
  CONFIG_DIR: 'config',
  ...extra,
});

describe('FIRESTORE_READ_DEADLINE_MS', () => {
  afterEach(() => setReadDeadline(5_000));

  it('should default to 5 s and accept 1 s to 300 s, nothing outside', () => {
    expect(loadConfig(env()).env.FIRESTORE_READ_DEADLINE_MS).toBe(5_000);
    expect(loadConfig(env({ FIRESTORE_READ_DEADLINE_MS: '300000' })).env.FIRESTORE_READ_DEADLINE_MS).toBe(300_000);
    for (const bad of ['999', '300001', 'soon']) {
      expect(() => loadConfig(env({ FIRESTORE_READ_DEADLINE_MS: bad }))).toThrow(ConfigError);
    }
  });

  it('should give up on a read after the deadline set, as a TransientError (the caller answers retry)', async () => {
    setReadDeadline(1_000);
    const started = Date.now();
    const never = new Promise<never>(() => undefined);
    await expect(readWithDeadline(never)).rejects.toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(Date.now() - started).toBeLessThan(4_000);
    await expect(readWithDeadline(Promise.resolve('read'))).resolves.toBe('read');
  });
});
