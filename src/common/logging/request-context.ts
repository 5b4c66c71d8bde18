import type { FastifyInstance, FastifyRequest } from 'fastify';
import { header } from '../http.js';
import { logContext, traceFromHeaders, type DeliveryContext } from './log-context.js';

const contexts = new WeakMap<object, DeliveryContext>();

/** The delivery context of an HTTP request (its trace from the request's headers), made once per request. */
export function requestContext(request: FastifyRequest, projectId: string): DeliveryContext {
  let context = contexts.get(request.raw);
  if (!context) {
    context = traceFromHeaders(
      { traceparent: header(request, 'traceparent'), cloudTrace: header(request, 'x-cloud-trace-context') },
      projectId,
    );
    contexts.set(request.raw, context);
  }
  return context;
}

/**
 * Every HTTP request is one delivery (a push message, a webhook, an admin call, a Scheduler job):
 * its lines carry its trace. Entered when the request arrives and again just before the route's
 * handler, because Fastify reads the body in the request stream's callbacks, which run outside
 * the context entered before them; the error filter enters it from the request itself.
 */
export function registerRequestContext(fastify: FastifyInstance, projectId: string): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    logContext.run(requestContext(request, projectId), done);
  });
  fastify.addHook('preHandler', (request, _reply, done) => {
    logContext.run(requestContext(request, projectId), done);
  });
}
