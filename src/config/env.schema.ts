import { z } from 'zod';
import { LIFECYCLE_DEFAULTS } from '../lifecycle/lifecycle.defaults.js';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);
const secretList = csv.pipe(z.array(z.string().min(16, 'each secret must be at least 16 characters')).max(2));
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const url = z.url({ protocol: /^https?$/ });
const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
/**
 * A secret carried in a URL path segment: URL-safe characters only (anything else would need escaping the
 * provider's console may not do), and no longer than the router accepts for one segment.
 */
const pathToken = z
  .string()
  .min(24, 'must be at least 24 characters')
  .max(256, 'must be at most 256 characters')
  .regex(/^[A-Za-z0-9._~-]+$/, 'must use only letters, digits and . _ ~ - (it is a URL path segment)');
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port');
/** Admin API callers: e-mail addresses or `@domain` (a Google Workspace domain, checked against the token's `hd`). */
const adminPrincipals = csv.pipe(
  z.array(
    z
      .string()
      .refine(
        (v) => /^@[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v) || z.email().safeParse(v).success,
        'each entry must be an e-mail address or @domain',
      )
      .transform((v) => v.toLowerCase()),
  ),
);
/** Admin API keys: `name:role:sha256hex` entries; only the SHA-256 of a key is ever configured. */
const adminApiKeys = csv.pipe(
  z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9._-]{1,64}:(viewer|approver):[0-9a-fA-F]{64}$/,
          'each entry must be name:viewer|approver:<SHA-256 of the key, hex>',
        )
        .transform((v) => {
          const [name, role, sha256] = v.split(':') as [string, 'viewer' | 'approver', string];
          return { name, role, sha256: sha256.toLowerCase() };
        }),
    )
    .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, 'key names must be unique'),
);
/**
 * Local-only admin keys (the sandbox's sign-in, `npm run local`): `name:role:key` with the key itself, not its
 * hash, so the sandbox can print it. Refused when NODE_ENV is production (crossFieldProblems).
 */
const adminLocalKeys = csv.pipe(
  z
    .array(
      z
        .string()
        .regex(
          /^local-[A-Za-z0-9._-]{1,58}:(viewer|approver):[A-Za-z0-9._~+/=-]{24,200}$/,
          'each entry must be local-<name>:viewer|approver:<key of at least 24 characters>',
        )
        .transform((v) => {
          const [name, role, key] = v.split(':') as [string, 'viewer' | 'approver', string];
          return { name, role, key };
        }),
    )
    .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, 'key names must be unique'),
);

/**
 * What the production deployment (deploy/service.yaml, applied by cloudbuild.yaml) must do with a
 * variable; test/deploy checks the description against these marks. Unmarked: optional, and its
 * default is what production wants. Secrets (SECRET_ENV) come from Secret Manager there, and each one is
 * mounted unless it is marked `forbidden` or belongs to a `one-of` group the description satisfies.
 * - `required`: the description sets it (a value, or a secret);
 * - `one-of`: the description sets at least one variable of the group;
 * - `forbidden`: never set in production (the reason says why).
 */
export type ProductionRule =
  { production: 'required' } | { production: 'one-of'; group: string } | { production: 'forbidden'; why: string };
export const productionRules = z.registry<ProductionRule>();
const mark =
  (rule: ProductionRule) =>
  <T extends z.ZodType>(schema: T): T => {
    productionRules.add(schema, rule);
    return schema;
  };
const required = mark({ production: 'required' });
const oneOf = (group: string) => mark({ production: 'one-of', group });
const forbidden = (why: string) => mark({ production: 'forbidden', why });
const consumer = oneOf('the Marketplace consumer (pull or push)');
const adminCallers = oneOf('admin callers (people or API keys)');
const linkCallers = oneOf('link callers (ID tokens or API keys)');
const easyCartProof = oneOf('EasyCart authentication (signing keys or URL token)');
const sandboxOnly = forbidden('local sandbox and tests only');

/**
 * Every environment variable the service reads. Infrastructure and secrets come from here;
 * product mapping and policies from `config/*.yaml`. The README's configuration table mirrors this.
 */
export const envSchema = z.object({
  PORT: forbidden('Cloud Run sets it')(z.coerce.number().int().min(1).max(65535).default(8080)),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  /** The service's name and revision on Cloud Run (it sets both): Error Reporting's serviceContext on ERROR lines. */
  K_SERVICE: forbidden('Cloud Run sets it')(z.string().min(1).max(100).optional()),
  K_REVISION: forbidden('Cloud Run sets it')(z.string().min(1).max(100).optional()),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** `json` (Cloud Logging's format) or `pretty` (one readable line per event); default: pretty under NODE_ENV=development. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** Any value turns the pretty format's colours off (no-color.org). */
  NO_COLOR: z.string().optional(),
  /** Set by the local sandbox and the tests; the Google clients connect there, without credentials. */
  FIRESTORE_EMULATOR_HOST: sandboxOnly(hostPort.optional()),
  PUBSUB_EMULATOR_HOST: sandboxOnly(hostPort.optional()),
  GOOGLE_CLOUD_PROJECT: required(
    z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id'),
  ),
  FIRESTORE_DATABASE_ID: z.string().min(1).default('(default)'),
  /**
   * How long one Firestore read (a query, a document) may take before the caller is told to retry
   * (TransientError: 503, or a nack). 5 s suits indexed production queries; the scale benchmark sets more
   * for the emulator, which scans whole collections (docs/performance.md).
   */
  FIRESTORE_READ_DEADLINE_MS: ms(1_000, 300_000, 5_000),
  CONFIG_DIR: z.string().min(1).default('config'),
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(262_144),
  /**
   * HTTP server timeouts (docs/operations.md, "Security"): a whole request, headers included, must arrive
   * within HTTP_REQUEST_TIMEOUT_MS and its headers within HTTP_HEADERS_TIMEOUT_MS (else 408 and closed);
   * a socket with no traffic either way is closed after HTTP_CONNECTION_TIMEOUT_MS; an idle kept-alive
   * connection after HTTP_KEEP_ALIVE_TIMEOUT_MS, longer than the 600 s Google's front ends keep theirs.
   */
  HTTP_REQUEST_TIMEOUT_MS: ms(1_000, 600_000, 30_000),
  HTTP_HEADERS_TIMEOUT_MS: ms(1_000, 600_000, 10_000),
  HTTP_CONNECTION_TIMEOUT_MS: ms(1_000, 3_700_000, 660_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: ms(1_000, 3_600_000, 620_000),
  /**
   * X-Forwarded-For entries, counted from the right, that proxies we run behind appended: 1 on Cloud Run
   * (its front end appends the client's address), 2 behind an external Application Load Balancer. The
   * client address used for rate limits is the entry just left of those; entries further left are the
   * client's own claims and never trusted. 0: the socket's peer.
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(1),
  /**
   * Requests that fail webhook verification (bad signature or token), per source and per client, on each
   * instance: a token bucket of this many per minute, with as many at once. Beyond it: 429. Correctly
   * signed requests never take from it.
   */
  WEBHOOK_REFUSALS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
  WEBHOOK_REFUSALS_PER_CLIENT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** Refused webhook requests are counted in memory and written as aggregates every this many seconds. */
  REFUSAL_FLUSH_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /** Raw bodies of refused requests kept as samples, per source and minute, each cut (docs/operations.md). */
  REFUSAL_SAMPLES_PER_MINUTE: z.coerce.number().int().min(0).max(100).default(5),

  MARKETPLACE_PROVIDER_ID: required(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a Marketplace provider id')
      .optional(),
  ),
  MARKETPLACE_SUBSCRIPTION: consumer(z.string().min(1).optional()),
  PROCUREMENT_ROOT_URL: sandboxOnly(url.optional()),
  /** Static bearer token instead of Application Default Credentials: only for the local fake. */
  PROCUREMENT_STATIC_TOKEN: sandboxOnly(z.string().min(1).optional()),
  /** Google's OIDC keys for push tokens; pinned, overridable for the local issuer in tests. */
  GOOGLE_OIDC_JWKS_URL: sandboxOnly(url.default('https://www.googleapis.com/oauth2/v3/certs')),
  PUSH_AUDIENCE: consumer(z.string().min(1).optional()),
  PUSH_SERVICE_ACCOUNT: z.email().optional(),

  /** Lifecycle jobs (docs/lifecycle.md): Cloud Scheduler's OIDC tokens for this audience, from this service account. */
  SCHEDULER_AUDIENCE: required(z.string().min(1).optional()),
  SCHEDULER_SERVICE_ACCOUNT: z.email().optional(),
  /** Run the lifecycle jobs in-process every N seconds (local sandbox); 0 = off, Cloud Scheduler calls the triggers. */
  LIFECYCLE_TIMER_SECONDS: sandboxOnly(z.coerce.number().int().min(0).max(86_400).default(0)),
  /**
   * The reconciliation's brake (docs/lifecycle.md, "Gone"): entitlements one run may end because Google answers 404
   * for them; the rest are reported in the run's errors, not ended. 0: none is ended, every 404 is only reported.
   */
  RECONCILE_MAX_GONE_PER_RUN: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(LIFECYCLE_DEFAULTS.reconcile.maxGonePerRun),
  /**
   * Usage reporting to Service Control (docs/usage-reporting.md): the reporter job runs when true. Windows are
   * this many minutes long, aligned to the epoch (60: hourly reports ending on the hour, as Google asks).
   */
  USAGE_REPORTING: bool.default(false),
  USAGE_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  /** Service Control root (the local fake) and a static bearer token for it; Google and ADC otherwise. */
  SERVICE_CONTROL_ROOT_URL: sandboxOnly(url.optional()),
  SERVICE_CONTROL_STATIC_TOKEN: sandboxOnly(z.string().min(1).optional()),
  /** POST /usage/v1/records callers: static bearer API keys (comma-separated, for rotation)... */
  USAGE_API_KEYS: csv
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1).max(4))
    .optional(),
  /** ...and/or Google ID tokens for this audience from these service accounts. */
  USAGE_AUDIENCE: z.string().min(1).optional(),
  USAGE_ALLOWED_CALLERS: csv.pipe(z.array(z.email()).min(1, 'name at least one service account')).optional(),
  /** Outbound change events (docs/change-events.md): topic name or `projects/p/topics/t`; off when unset. */
  CHANGE_EVENTS_TOPIC: z.string().min(1).optional(),

  /**
   * Key of the keyed hash (HMAC-SHA256) that turns personal identifiers (e-mails) into subject keys and
   * entitlement ids (docs/firestore.md, "Subject keys"). The product backend holds the same secret to
   * compute `access/{subjectKey}`. Required in production when an e-mail source (EasyCart, GetCourse) is on.
   */
  SUBJECT_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Failed admin authentications per client address and minute (token bucket, as many at once): beyond it, 429. */
  ADMIN_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),

  /** Admin API (docs/admin-api.md): Google ID tokens for this audience (the Cloud Run URL or a custom audience)... */
  ADMIN_AUDIENCE: z.string().min(1).optional(),
  /** ...whose e-mail or Workspace domain is listed here (approvers may do everything viewers may). */
  ADMIN_APPROVERS: adminCallers(adminPrincipals.default([])),
  ADMIN_VIEWERS: adminCallers(adminPrincipals.default([])),
  /** Named API keys for automation, stored hashed: `name:viewer|approver:sha256hex`, comma-separated. */
  ADMIN_API_KEYS: adminCallers(adminApiKeys.default([])),
  /** Local sandbox only (refused in production): `local-<name>:viewer|approver:<key>`, the key in clear. */
  ADMIN_LOCAL_KEYS: sandboxOnly(adminLocalKeys.default([])),
  /** The admin console's built assets (docs/admin-console.md), served at /admin/console/; relative to the working directory. */
  ADMIN_CONSOLE_DIR: z.string().min(1).default('dist/console'),
  /** Per caller (token bucket): sustained requests per minute, and the burst allowed on top of an idle bucket. */
  ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  ADMIN_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000).default(30),

  PURCHASELY_SECRETS: secretList.optional(),
  PURCHASELY_ALLOW_DEPRECATED_SIGNATURES: bool.default(false),
  EASYCART_SIGNING_KEYS: easyCartProof(secretList.optional()),
  EASYCART_URL_TOKEN: easyCartProof(pathToken.optional()),
  GETCOURSE_PATH_TOKEN: pathToken.optional(),
  /** The GetCourse school's time zone (IANA): GetCourse sends local times without a zone. */
  GETCOURSE_TIMEZONE: z
    .string()
    .trim()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone, e.g. Europe/Moscow')
    .default('Europe/Moscow'),

  /** Marketplace sign-up (docs/marketplace-signup.md): the product domain Google puts in the token's `aud`. */
  MARKETPLACE_SIGNUP_AUDIENCE: required(z.string().min(1).optional()),
  /** Keys of the sign-up token, pinned (never taken from the token's `iss`); a local key server in tests. */
  MARKETPLACE_SIGNUP_KEYS_URL: sandboxOnly(
    url.default('https://www.googleapis.com/robot/v1/metadata/x509/cloud-commerce-partner@system.gserviceaccount.com'),
  ),
  /** Expected `iss` instead of Google's: only for a local sandbox, refused in production. */
  MARKETPLACE_SIGNUP_ISSUER: sandboxOnly(z.string().min(1).optional()),
  /** The product's sign-up page the browser is sent to (303) with `?linkToken=`. */
  MARKETPLACE_SIGNUP_REDIRECT_URL: url.optional(),
  /** HMAC key of the link tokens. */
  MARKETPLACE_LINK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** POST /marketplace/link callers: Google ID tokens for this audience from these service accounts... */
  LINK_AUDIENCE: linkCallers(z.string().min(1).optional()),
  LINK_ALLOWED_CALLERS: csv.pipe(z.array(z.email()).min(1, 'name at least one service account')).optional(),
  /** ...and/or static bearer API keys (comma-separated, for rotation). */
  LINK_API_KEYS: linkCallers(
    csv.pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1).max(4)).optional(),
  ),
});

export type Env = z.infer<typeof envSchema>;

type RawEnv = Record<string, string | undefined>;

/**
 * Rules across variables, checked on the raw values even when single fields are malformed, so
 * one start-up message names every problem.
 */
export function crossFieldProblems(env: RawEnv): string[] {
  const problems: string[] = [];
  if ((env.ADMIN_APPROVERS || env.ADMIN_VIEWERS) && !env.ADMIN_AUDIENCE) {
    problems.push(
      'ADMIN_AUDIENCE: required when ADMIN_APPROVERS or ADMIN_VIEWERS is set (the audience of their Google ID tokens)',
    );
  }
  if (env.PUSH_AUDIENCE && !env.PUSH_SERVICE_ACCOUNT)
    problems.push('PUSH_SERVICE_ACCOUNT: required when PUSH_AUDIENCE is set');
  if (Boolean(env.SCHEDULER_AUDIENCE) !== Boolean(env.SCHEDULER_SERVICE_ACCOUNT)) {
    problems.push(
      'SCHEDULER_AUDIENCE, SCHEDULER_SERVICE_ACCOUNT: set both (Cloud Scheduler OIDC tokens for this audience from this service account) or neither',
    );
  }
  if (env.SERVICE_CONTROL_STATIC_TOKEN && !env.SERVICE_CONTROL_ROOT_URL) {
    problems.push(
      'SERVICE_CONTROL_STATIC_TOKEN: only allowed with SERVICE_CONTROL_ROOT_URL (a local fake), never against Google',
    );
  }
  if (Boolean(env.USAGE_AUDIENCE) !== Boolean(env.USAGE_ALLOWED_CALLERS)) {
    problems.push(
      'USAGE_AUDIENCE, USAGE_ALLOWED_CALLERS: set both (Google ID tokens of these service accounts for this audience) or neither',
    );
  }
  if (env.PROCUREMENT_STATIC_TOKEN && !env.PROCUREMENT_ROOT_URL) {
    problems.push(
      'PROCUREMENT_STATIC_TOKEN: only allowed with PROCUREMENT_ROOT_URL (a local fake), never against Google',
    );
  }
  if ((env.MARKETPLACE_SUBSCRIPTION || env.PUSH_AUDIENCE) && !env.MARKETPLACE_PROVIDER_ID) {
    problems.push(
      'MARKETPLACE_PROVIDER_ID: required when the Marketplace consumer (MARKETPLACE_SUBSCRIPTION or PUSH_AUDIENCE) is on',
    );
  }
  if (env.MARKETPLACE_SIGNUP_AUDIENCE) {
    for (const name of ['MARKETPLACE_PROVIDER_ID', 'MARKETPLACE_SIGNUP_REDIRECT_URL', 'MARKETPLACE_LINK_SECRET']) {
      if (!env[name]) problems.push(`${name}: required when MARKETPLACE_SIGNUP_AUDIENCE is set`);
    }
  }
  if (env.MARKETPLACE_SIGNUP_ISSUER && (env.NODE_ENV ?? 'production') === 'production') {
    problems.push(
      "MARKETPLACE_SIGNUP_ISSUER: only for a local sandbox (NODE_ENV development or test); production expects Google's issuer",
    );
  }
  if (env.ADMIN_LOCAL_KEYS && (env.NODE_ENV ?? 'production') === 'production') {
    problems.push(
      'ADMIN_LOCAL_KEYS: only for a local sandbox (NODE_ENV development or test); in production use ADMIN_API_KEYS (hashed) or Google sign-in',
    );
  }
  if (Boolean(env.LINK_AUDIENCE) !== Boolean(env.LINK_ALLOWED_CALLERS)) {
    problems.push(
      'LINK_AUDIENCE, LINK_ALLOWED_CALLERS: set both (Google ID tokens of these service accounts for this audience) or neither',
    );
  }
  const number = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
  if (number('HTTP_HEADERS_TIMEOUT_MS', 10_000) > number('HTTP_REQUEST_TIMEOUT_MS', 30_000)) {
    problems.push(
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  if (number('HTTP_KEEP_ALIVE_TIMEOUT_MS', 620_000) >= number('HTTP_CONNECTION_TIMEOUT_MS', 660_000)) {
    problems.push(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS: must be less than HTTP_CONNECTION_TIMEOUT_MS (an idle socket would be closed before its keep-alive ends)',
    );
  }
  const emailSource = env.EASYCART_SIGNING_KEYS || env.EASYCART_URL_TOKEN || env.GETCOURSE_PATH_TOKEN;
  if (emailSource && !env.SUBJECT_KEY_SECRET && (env.NODE_ENV ?? 'production') === 'production') {
    problems.push(
      'SUBJECT_KEY_SECRET: required when EasyCart or GetCourse is on (their subject keys are keyed hashes of e-mails; docs/firestore.md)',
    );
  }
  return problems;
}

/** Names whose values never appear in logs or error messages. */
export const SECRET_ENV = [
  'PROCUREMENT_STATIC_TOKEN',
  'ADMIN_API_KEYS',
  'ADMIN_LOCAL_KEYS',
  'PURCHASELY_SECRETS',
  'EASYCART_SIGNING_KEYS',
  'EASYCART_URL_TOKEN',
  'GETCOURSE_PATH_TOKEN',
  'MARKETPLACE_LINK_SECRET',
  'LINK_API_KEYS',
  'USAGE_API_KEYS',
  'SERVICE_CONTROL_STATIC_TOKEN',
  'SUBJECT_KEY_SECRET',
] as const;
