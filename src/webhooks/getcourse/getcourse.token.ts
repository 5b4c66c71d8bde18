import { safeEqualSecret } from '../../common/security/hmac.js';

export type GetCourseVerdict = { ok: true } | { ok: false; problem: 'not_configured' | 'missing_token' | 'bad_token' };

/**
 * GetCourse signs nothing: the secret path segment of the Call URL (`/webhooks/getcourse/<token>`)
 * is the only proof a callback comes from the school. Compared in constant time; without a
 * configured token the endpoint accepts nothing.
 */
export function verifyGetCourseToken(configured: string | undefined, presented: string | undefined): GetCourseVerdict {
  if (!configured) return { ok: false, problem: 'not_configured' };
  if (!presented) return { ok: false, problem: 'missing_token' };
  return safeEqualSecret(presented, configured) ? { ok: true } : { ok: false, problem: 'bad_token' };
}
