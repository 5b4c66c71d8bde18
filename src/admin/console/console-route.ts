import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { header, type HttpReply, type HttpRequest } from '../../common/http.js';
import type { AppLogger } from '../../common/logging/app-logger.js';
import type { Env } from '../../config/env.schema.js';
import { ADMIN_DEFAULTS } from '../admin.defaults.js';

/** Where the console is served; its page calls `/admin/v1` only (docs/admin-console.md). */
export const CONSOLE_PATH = '/admin/console';

/** Google Identity Services: the only origin outside the service the page may load from (and only when configured). */
const GIS = 'https://accounts.google.com/gsi/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  type: string;
  /** Encoded bodies by `Content-Encoding` (`identity`, and the `br` / `gzip` files the build wrote beside it). */
  bodies: Map<string, Buffer>;
  /** Content-hashed names never change: cached for a year. */
  immutable: boolean;
}

/** What the page needs to know before it signs in; public (it holds no secret). */
export interface ConsoleSettings {
  /** The OAuth client id for Google Identity Services (ADMIN_AUDIENCE, when it is one); null: no Google sign-in. */
  googleClientId: string | null;
  /** The sandbox's local keys (ADMIN_LOCAL_KEYS) are accepted: show the local sign-in form. */
  localSignIn: boolean;
  /** Reasons sent to the Procurement API: the limit the API checks (bytes of UTF-8). */
  maxReasonBytes: number;
}

export function consoleSettings(env: Env): ConsoleSettings {
  const audience = env.ADMIN_AUDIENCE;
  const people = env.ADMIN_APPROVERS.length + env.ADMIN_VIEWERS.length > 0;
  return {
    googleClientId: audience && people && audience.endsWith('.apps.googleusercontent.com') ? audience : null,
    localSignIn: env.ADMIN_LOCAL_KEYS.length > 0,
    maxReasonBytes: ADMIN_DEFAULTS.maxReasonBytes,
  };
}

/**
 * The console's Content-Security-Policy: its own scripts and styles only, no inline code, API calls to this
 * origin only; Google Identity Services' origin is added only when Google sign-in is configured.
 */
export function consoleCsp(settings: ConsoleSettings): string {
  const google = settings.googleClientId !== null;
  const gis = (what: string) => (google ? ` ${GIS}${what}` : '');
  return [
    "default-src 'none'",
    `script-src 'self'${google ? ` ${GIS}client` : ''}`,
    `style-src 'self'${gis('style')}`,
    `connect-src 'self'${gis('')}`,
    ...(google ? [`frame-src ${GIS}`] : []),
    "img-src 'self' data:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the console's built assets (`ADMIN_CONSOLE_DIR`, written by `console/build.mjs`) at `/admin/console/`.
 * A plain Fastify route, outside Nest's router and the admin guard: the files are public and hold no data; every
 * datum comes from `/admin/v1`, which checks the caller. Nothing is read at start-up: the directory is read on the
 * first request and kept in memory (a few tens of KB), so the API's cold start does not change.
 */
export function registerConsole(fastify: FastifyInstance, env: Env, logger: AppLogger): void {
  const settings = consoleSettings(env);
  const securityHeaders = {
    'content-security-policy': consoleCsp(settings),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Google's sign-in popup must be able to answer the page that opened it.
    'cross-origin-opener-policy': settings.googleClientId ? 'same-origin-allow-popups' : 'same-origin',
    'x-frame-options': 'DENY',
  };
  const config = Buffer.from(JSON.stringify(settings));
  let assets: Map<string, Asset> | undefined;
  const load = () => (assets ??= readAssets(resolve(env.ADMIN_CONSOLE_DIR), logger));

  const serve = (request: HttpRequest, reply: HttpReply, path: string) => {
    void reply.headers(securityHeaders);
    if (path === 'config.json') {
      return reply.header('cache-control', 'no-store').type(TYPES['.json']!).send(config);
    }
    const asset = load().get(path);
    if (!asset) {
      return reply
        .code(404)
        .header('cache-control', 'no-store')
        .type(TYPES['.txt']!)
        .send(path === 'index.html' ? 'The admin console is not built (npm run build).\n' : 'Not found\n');
    }
    const encoding = pickEncoding(header(request, 'accept-encoding') ?? '', asset.bodies);
    if (encoding !== 'identity') void reply.header('content-encoding', encoding);
    return reply
      .header('vary', 'accept-encoding')
      .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(asset.type)
      .send(asset.bodies.get(encoding));
  };

  fastify.get(CONSOLE_PATH, (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 308));
  fastify.get(`${CONSOLE_PATH}/`, (request, reply) => serve(request, reply, 'index.html'));
  fastify.get(`${CONSOLE_PATH}/*`, (request, reply) => serve(request, reply, (request.params as { '*': string })['*']));
}

/** `br`, then `gzip`, when the client accepts it (a `q=0` refuses) and the build wrote it; else the plain file. */
export function pickEncoding(acceptEncoding: string, available: { has(name: string): boolean }): string {
  const accepted = new Set<string>();
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) accepted.add(name);
  }
  for (const name of ['br', 'gzip']) if (available.has(name) && (accepted.has(name) || accepted.has('*'))) return name;
  return 'identity';
}

/** Every file under `dir`, by its path relative to it (`/`-separated); `x.gz` and `x.br` become encodings of `x`. */
function readAssets(dir: string, logger: AppLogger): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = listFiles(dir);
  } catch (error) {
    logger.warning('admin console assets not found', { dir, error: (error as Error).message });
    return assets;
  }
  const encodings: [string, string][] = [];
  for (const file of files) {
    const path = relative(dir, file).split(sep).join('/');
    if (path.endsWith('.gz') || path.endsWith('.br')) {
      encodings.push([path, file]);
      continue;
    }
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const immutable = /[.-][0-9A-Z]{8,}\.\w+$/.test(path);
    assets.set(path, { type, immutable, bodies: new Map([['identity', readFileSync(file)]]) });
  }
  for (const [path, file] of encodings) {
    const asset = assets.get(path.slice(0, -3));
    asset?.bodies.set(path.endsWith('.br') ? 'br' : 'gzip', readFileSync(file));
  }
  return assets;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
