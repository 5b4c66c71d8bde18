import { matchesAnyKey, safeEqualSecret } from '../../common/security/hmac.js';

/** What the service is configured with (EASYCART_SIGNING_KEYS, EASYCART_URL_TOKEN). */
export interface EasyCartCredentials {
  /** Up to two keys at once, so a key can be rotated without dropping deliveries. */
  signingKeys: readonly string[];
  urlToken: string | undefined;
}

/** What one request presents. */
export interface EasyCartProof {
  /** `X-Webhook-Signature`: hex HMAC-SHA256 of the body under the store's signing key. */
  signature: string | undefined;
  /** The `:token` path segment of `/webhooks/easycart/:token`, if the request came that way. */
  pathToken: string | undefined;
  rawBody: Buffer;
  /** `JSON.stringify` of the parsed body, if it parsed. */
  compactBody: string | undefined;
}

export type EasyCartVerdict =
  | { ok: true; by: 'signature' | 'compact-signature' | 'url-token' }
  | {
      ok: false;
      problem: 'not_configured' | 'missing_signature' | 'bad_signature' | 'missing_token' | 'bad_token';
    };

/**
 * Signature mode (a signing key is configured): the signature must match, over the raw body or
 * over its compact re-serialization. EasyCart's own Node example signs `JSON.stringify(req.body)`
 * rather than the bytes it sent, so the two differ whenever the sent JSON is not compact or
 * escapes characters (`\u0142`, `\/`). A token presented in the path must match too.
 * Token mode (no key): the path token must equal EASYCART_URL_TOKEN. Nothing configured: refused.
 */
export function verifyEasyCartRequest(credentials: EasyCartCredentials, proof: EasyCartProof): EasyCartVerdict {
  const { signingKeys, urlToken } = credentials;
  if (signingKeys.length === 0 && !urlToken) return { ok: false, problem: 'not_configured' };
  if (proof.pathToken !== undefined && !(urlToken && safeEqualSecret(proof.pathToken, urlToken))) {
    return { ok: false, problem: 'bad_token' };
  }
  if (signingKeys.length === 0) {
    return proof.pathToken === undefined ? { ok: false, problem: 'missing_token' } : { ok: true, by: 'url-token' };
  }
  const signature = normalizeSignature(proof.signature);
  if (!signature) return { ok: false, problem: 'missing_signature' };
  if (matchesAnyKey(signature, signingKeys, proof.rawBody)) return { ok: true, by: 'signature' };
  if (proof.compactBody !== undefined && matchesAnyKey(signature, signingKeys, proof.compactBody)) {
    return { ok: true, by: 'compact-signature' };
  }
  return { ok: false, problem: 'bad_signature' };
}

function normalizeSignature(header: string | undefined): string | undefined {
  // Tolerate a `sha256=` prefix and surrounding spaces; the value itself must be hex.
  const value = header?.trim().replace(/^sha256=/i, '');
  return value ? value : undefined;
}
