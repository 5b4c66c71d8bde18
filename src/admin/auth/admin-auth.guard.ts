import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { AppError } from '../../common/errors/app-error.js';
import { requestPath, type HttpReply, type HttpRequest } from '../../common/http.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { redactUrl } from '../../common/logging/redact-url.js';
import { AppConfig } from '../../config/app-config.js';
import { Clock } from '../../entitlements/clock.js';
import { ADMIN_DEFAULTS } from '../admin.defaults.js';
import { AdminAuthenticator } from './admin-authenticator.js';
import { TokenBuckets } from '../../common/security/token-buckets.js';
import { ADMIN_ROUTE, hasRole, type AdminRouteSpec, type Principal } from './roles.js';

type AdminRequest = HttpRequest & { adminPrincipal?: Principal };

/**
 * Registered as an app-wide guard (APP_GUARD) so that every route under `/admin` is covered, whichever
 * module declares it: authenticate, rate-limit per caller, then check the role the route declares
 * with `@AdminRoute`. A route under `/admin` that declares none is refused. Other routes pass untouched.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly buckets: TokenBuckets;
  /** Failed authentications per client address: only failures take from it, so valid credentials always pass. */
  private readonly failures: TokenBuckets;

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: AdminAuthenticator,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.buckets = new TokenBuckets({
      perMinute: config.env.ADMIN_RATE_LIMIT_PER_MINUTE,
      burst: config.env.ADMIN_RATE_LIMIT_BURST,
      maxBuckets: ADMIN_DEFAULTS.maxBuckets,
    });
    this.failures = new TokenBuckets({
      perMinute: config.env.ADMIN_AUTH_FAILURES_PER_MINUTE,
      burst: config.env.ADMIN_AUTH_FAILURES_PER_MINUTE,
      maxBuckets: ADMIN_DEFAULTS.maxBuckets,
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AdminRequest>();
    if (!isAdminRoute(context, request)) return true;

    const spec = this.reflector.get<AdminRouteSpec | undefined>(ADMIN_ROUTE, context.getHandler());
    if (!spec) {
      this.logger.failure('admin route without @AdminRoute refused', {
        path: redactUrl(requestPath(request)),
        handler: context.getHandler().name,
      });
      throw new AppError('forbidden', 'This route declares no required role and is refused');
    }
    const principal = await this.authenticate(context, request);
    const taken = this.buckets.take(`${principal.kind}:${principal.id}`, this.clock.now().getTime());
    if (!taken.ok) {
      throw rateLimited(context, taken.retryAfterSec, `Too many requests from ${principal.id}`);
    }
    if (!hasRole(principal, spec.role)) {
      throw new AppError(
        'forbidden',
        `${spec.operationId} requires the ${spec.role} role; ${principal.id} is a ${principal.role}`,
        {
          requiredRole: spec.role,
          role: principal.role,
        },
      );
    }
    request.adminPrincipal = principal;
    return true;
  }

  /**
   * The caller, or the refusal. Credentials are always checked first: a refusal (401, or 403 for a
   * verified person who is not listed) takes a token from the client address's failure bucket, and
   * once it is empty the refusal becomes a 429, so repeated guessing is slowed and cheap to answer
   * while a correct key from the same address still passes. The address is `request.ip`: the
   * X-Forwarded-For entry our own proxy hops wrote (TRUSTED_PROXY_HOPS), never one the client chose.
   */
  private async authenticate(context: ExecutionContext, request: AdminRequest): Promise<Principal> {
    const header = request.headers['x-api-key'];
    try {
      return await this.authenticator.authenticate({
        authorization: request.headers.authorization,
        apiKey: Array.isArray(header) ? header[0] : header,
      });
    } catch (error) {
      if (error instanceof AppError && (error.code === 'unauthenticated' || error.code === 'forbidden')) {
        const taken = this.failures.take(`ip:${request.ip}`, this.clock.now().getTime());
        if (!taken.ok)
          throw rateLimited(context, taken.retryAfterSec, 'Too many failed authentications from this client');
      }
      throw error;
    }
  }
}

function rateLimited(context: ExecutionContext, retryAfterSec: number, what: string): AppError {
  void context.switchToHttp().getResponse<HttpReply>().header('Retry-After', String(retryAfterSec));
  return new AppError('rate_limited', `${what}; retry in ${retryAfterSec} s`, { retryAfterSeconds: retryAfterSec });
}

/**
 * By the controller's declared path and by the URL, lowercased (belt and braces: Fastify matches
 * routes case-sensitively, but a route registered in another case must not slip through).
 */
function isAdminRoute(context: ExecutionContext, request: HttpRequest): boolean {
  const declared = String(Reflect.getMetadata(PATH_METADATA, context.getClass()) ?? '')
    .replace(/^\/+/, '')
    .toLowerCase();
  const prefix = ADMIN_DEFAULTS.prefix;
  const under = (path: string) => path === prefix || path.startsWith(`${prefix}/`);
  return under(declared) || under(requestPath(request).replace(/^\/+/, '').toLowerCase());
}

/** The authenticated caller of an admin route (set by AdminAuthGuard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AdminRequest>().adminPrincipal;
  if (!principal) throw new AppError('unauthenticated', 'No authenticated caller');
  return principal;
});
