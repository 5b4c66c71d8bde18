import { z } from 'zod';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  );
const secretList = csv.pipe(z.array(z.string().min(16, 'each secret must be at least 16 characters')).max(2));
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const url = z.url({ protocol: /^https?$/ });

/**
 * Every environment variable the service reads. Infrastructure and secrets come from here;
 * product mapping and policies from `config/*.yaml`. The README's configuration table mirrors this.
 */
export const envSchema = z
  .object({
    PORT: z.coerce.number().int().min(1).max(65535).default(8080),
    NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    GOOGLE_CLOUD_PROJECT: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id'),
    FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
    CONFIG_DIR: z.string().min(1).default('config'),
    EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
    MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(262_144),

    MARKETPLACE_PROVIDER_ID: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a Marketplace provider id').optional(),
    MARKETPLACE_SUBSCRIPTION: z.string().min(1).optional(),
    PROCUREMENT_ROOT_URL: url.optional(),
    /** Static bearer token instead of Application Default Credentials: only for the local fake. */
    PROCUREMENT_STATIC_TOKEN: z.string().min(1).optional(),
    /** Google's OIDC keys for push tokens; pinned, overridable for the local issuer in tests. */
    GOOGLE_OIDC_JWKS_URL: url.default('https://www.googleapis.com/oauth2/v3/certs'),
    PUSH_AUDIENCE: z.string().min(1).optional(),
    PUSH_SERVICE_ACCOUNT: z.email().optional(),

    PURCHASELY_SECRETS: secretList.optional(),
    PURCHASELY_ALLOW_DEPRECATED_SIGNATURES: bool.default(false),
    EASYCART_SIGNING_KEYS: secretList.optional(),
    EASYCART_URL_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
    GETCOURSE_PATH_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  });

export type Env = z.infer<typeof envSchema>;

type RawEnv = Record<string, string | undefined>;

/**
 * Rules across variables, checked on the raw values even when single fields are malformed, so
 * one start-up message names every problem.
 */
export function crossFieldProblems(env: RawEnv): string[] {
  const problems: string[] = [];
  if (env.PUSH_AUDIENCE && !env.PUSH_SERVICE_ACCOUNT) problems.push('PUSH_SERVICE_ACCOUNT: required when PUSH_AUDIENCE is set');
  if (env.PROCUREMENT_STATIC_TOKEN && !env.PROCUREMENT_ROOT_URL) {
    problems.push('PROCUREMENT_STATIC_TOKEN: only allowed with PROCUREMENT_ROOT_URL (a local fake), never against Google');
  }
  if ((env.MARKETPLACE_SUBSCRIPTION || env.PUSH_AUDIENCE) && !env.MARKETPLACE_PROVIDER_ID) {
    problems.push('MARKETPLACE_PROVIDER_ID: required when the Marketplace consumer (MARKETPLACE_SUBSCRIPTION or PUSH_AUDIENCE) is on');
  }
  return problems;
}

/** Names whose values never appear in logs or error messages. */
export const SECRET_ENV = [
  'PROCUREMENT_STATIC_TOKEN',
  'PURCHASELY_SECRETS',
  'EASYCART_SIGNING_KEYS',
  'EASYCART_URL_TOKEN',
  'GETCOURSE_PATH_TOKEN',
] as const;
