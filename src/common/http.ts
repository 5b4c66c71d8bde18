import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The HTTP request as controllers and guards see it (NestJS on Fastify). `rawBody` is the body as
 * received, kept for the JSON, form and text content types (bootstrap: `rawBody: true`) so
 * signatures are checked on the exact bytes.
 */
export type HttpRequest = FastifyRequest & { rawBody?: Buffer };
export type HttpReply = FastifyReply;

/** The request's path without its query string (`/webhooks/purchasely`). */
export function requestPath(request: Pick<FastifyRequest, 'url'>): string {
  const url = request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** One request header as a string (the first, when a client repeated it). */
export function header(request: Pick<FastifyRequest, 'headers'>, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
