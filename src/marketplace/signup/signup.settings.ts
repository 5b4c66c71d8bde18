/**
 * The `iss` of every Marketplace sign-up token. By Google's design it is also the URL of the signing keys,
 * but the keys are fetched from the configured MARKETPLACE_SIGNUP_KEYS_URL, never from a token's `iss`.
 */
export const GOOGLE_SIGNUP_ISSUER =
  'https://www.googleapis.com/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com';

/** The form field Google's page posts to the seller's sign-up URL (a form field, not a header). */
export const SIGNUP_TOKEN_FIELD = 'x-gcp-marketplace-token';

/** The query parameter that carries the link token to the product's sign-up page. */
export const LINK_TOKEN_PARAM = 'linkToken';

/** Tunable defaults of the sign-up flow. */
export const SIGNUP_DEFAULTS = {
  /** Skew allowed on `exp`/`iat`: small on purpose (public code seen with 7 days, which voids the 5-minute expiry). */
  clockToleranceSec: 30,
  /** Google sets `exp` = `iat` + 5 min; a token older than this is refused whatever its `exp` says. */
  maxTokenAgeSec: 600,
  /** Life of a link token: long enough to register or log in on the product's page, short enough to be useless later. */
  linkTokenTtlSec: 15 * 60,
} as const;
