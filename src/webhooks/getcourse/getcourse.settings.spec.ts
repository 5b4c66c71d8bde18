import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../config/app-config.js';
import { GetCourseSettings } from './getcourse.settings.js';

const env = (extra: Record<string, string>) => ({
  GOOGLE_CLOUD_PROJECT: 'demo-entitlements',
  CONFIG_DIR: 'config',
  SUBJECT_KEY_SECRET: 'subject-key-secret-0123456789abcdef',
  ...extra,
});

describe('GetCourseSettings', () => {
  it('should default the school time zone to Moscow and expose the path token', () => {
    const settings = new GetCourseSettings(
      loadConfig(env({ GETCOURSE_PATH_TOKEN: 'gc-token-abcdefghijklmnopqrstuvwxyz' })),
    );
    expect(settings).toMatchObject({ timeZone: 'Europe/Moscow', pathToken: 'gc-token-abcdefghijklmnopqrstuvwxyz' });
  });

  it('should read GETCOURSE_TIMEZONE, trimmed', () => {
    expect(new GetCourseSettings(loadConfig(env({ GETCOURSE_TIMEZONE: ' Asia/Novosibirsk ' }))).timeZone).toBe(
      'Asia/Novosibirsk',
    );
  });

  it('should stop start-up on a zone that is not IANA', () => {
    expect(() => loadConfig(env({ GETCOURSE_TIMEZONE: 'Moscow/Mars' }))).toThrow(ConfigError);
    expect(() => loadConfig(env({ GETCOURSE_TIMEZONE: 'Moscow/Mars' }))).toThrow(
      /GETCOURSE_TIMEZONE: must be an IANA time zone/,
    );
  });
});
