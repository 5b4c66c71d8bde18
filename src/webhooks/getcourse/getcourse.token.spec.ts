import { describe, expect, it } from '@jest/globals';
import { verifyGetCourseToken } from './getcourse.token.js';

const TOKEN = 'gc-path-token-abcdefghijklmnopqrstuvwxyz';

describe('verifyGetCourseToken', () => {
  it('should accept the configured token only', () => {
    expect(verifyGetCourseToken(TOKEN, TOKEN)).toEqual({ ok: true });
    expect(verifyGetCourseToken(TOKEN, `${TOKEN}0`)).toEqual({
      ok: false,
      problem: 'bad_token',
    });
    expect(verifyGetCourseToken(TOKEN, TOKEN.toUpperCase())).toEqual({
      ok: false,
      problem: 'bad_token',
    });
  });

  it('should refuse a request without a token', () => {
    expect(verifyGetCourseToken(TOKEN, undefined)).toEqual({
      ok: false,
      problem: 'missing_token',
    });
    expect(verifyGetCourseToken(TOKEN, '')).toEqual({
      ok: false,
      problem: 'missing_token',
    });
  });

  it('should refuse everything when no token is configured', () => {
    expect(verifyGetCourseToken(undefined, TOKEN)).toEqual({
      ok: false,
      problem: 'not_configured',
    });
    expect(verifyGetCourseToken('', '')).toEqual({
      ok: false,
      problem: 'not_configured',
    });
  });
});
